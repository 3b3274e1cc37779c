"""The webhook outbox: events a city's webhook receives (case summoned, escalated, overdue),
queued in the transaction that caused them and sent by the scheduler.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 11:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('webhook_outbox',
                    sa.Column('id', sa.Uuid(), nullable=False),
                    sa.Column('kind', sa.String(length=16), nullable=False),
                    sa.Column('payload', sa.JSON(), nullable=False),
                    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('attempts', sa.Integer(), nullable=False),
                    sa.Column('next_at', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('last_error', sa.Text(), nullable=True),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_outbox')))
    with op.batch_alter_table('webhook_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_outbox_next_at'), ['next_at'], unique=False)


def downgrade():
    with op.batch_alter_table('webhook_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_outbox_next_at'))
    op.drop_table('webhook_outbox')
