"""The admin pages: when each device last synced and how many changes it reported still unsent,
and indexes for searching the audit log by record and by time.

Revision ID: 0011_admin
Revises: 0010
Create Date: 2026-11-30 13:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0011_admin'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_sync_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('unsent_changes', sa.Integer(), nullable=True))
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_entity_id'), ['entity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # batch mode copies device, which token points at: with foreign keys on, dropping the
        # old copy fails (the tokens pointing at it are kept as they are)
        bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))
        batch_op.drop_index(batch_op.f('ix_audit_log_entity_id'))
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.drop_column('unsent_changes')
        batch_op.drop_column('last_sync_at')
    if bind.dialect.name == "sqlite":
        bind.exec_driver_sql("PRAGMA foreign_keys=ON")
