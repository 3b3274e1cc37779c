"""Casework workspace: a case's named holder (承办人), departments and their summons (街乡吹哨、部门报到),
department staff accounts, staff work phones. (Numbered after 0007; another branch's 0008 may need
this renumbered when merged.)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 10:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('department',
                    sa.Column('id', sa.Uuid(), nullable=False),
                    sa.Column('code', sa.String(length=64), nullable=False),
                    sa.Column('name', sa.String(length=128), nullable=False),
                    sa.Column('level', sa.String(length=16), nullable=False),
                    sa.Column('area_id', sa.Uuid(), nullable=True),
                    sa.Column('report_hours', sa.Integer(), nullable=False),
                    sa.Column('answer_hours', sa.Integer(), nullable=False),
                    sa.Column('active', sa.Boolean(), nullable=False),
                    sa.ForeignKeyConstraint(['area_id'], ['area.id'], name=op.f('fk_department_area_id_area')),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_department')),
                    sa.UniqueConstraint('code', name=op.f('uq_department_code')))
    with op.batch_alter_table('department', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_department_area_id'), ['area_id'], unique=False)

    op.create_table('summons',
                    sa.Column('id', sa.Uuid(), nullable=False),
                    sa.Column('flag_id', sa.Uuid(), nullable=False),
                    sa.Column('department_id', sa.Uuid(), nullable=False),
                    sa.Column('grid_id', sa.Uuid(), nullable=False),
                    sa.Column('state', sa.String(length=16), nullable=False),
                    sa.Column('request', sa.Text(), nullable=True),
                    sa.Column('summoned_by', sa.Uuid(), nullable=True),
                    sa.Column('summoned_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('report_due_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('answer_due_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('answer', sa.Text(), nullable=True),
                    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
                    sa.ForeignKeyConstraint(['flag_id'], ['flag.id'], name=op.f('fk_summons_flag_id_flag')),
                    sa.ForeignKeyConstraint(['grid_id'], ['area.id'], name=op.f('fk_summons_grid_id_area')),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_summons')),
                    sa.UniqueConstraint('flag_id', 'department_id', name=op.f('uq_summons_flag_id')))
    with op.batch_alter_table('summons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_summons_flag_id'), ['flag_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_summons_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_summons_grid_id'), ['grid_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_summons_state'), ['state'], unique=False)

    with op.batch_alter_table('worker', schema=None) as batch_op:
        batch_op.add_column(sa.Column('department_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('work_phone', sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f('ix_worker_department_id'), ['department_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_worker_department_id_department'), 'department',
                                    ['department_id'], ['id'])
    with op.batch_alter_table('flag', schema=None) as batch_op:
        batch_op.add_column(sa.Column('holder_id', sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f('ix_flag_holder_id'), ['holder_id'], unique=False)
    with op.batch_alter_table('flag_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assignee_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('department_id', sa.Uuid(), nullable=True))


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # batch mode copies flag and worker, which other tables point at: with foreign keys on,
        # dropping the old copy fails (the rows pointing at it are kept as they are)
        bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
    with op.batch_alter_table('flag_event', schema=None) as batch_op:
        batch_op.drop_column('department_id')
        batch_op.drop_column('assignee_id')
    with op.batch_alter_table('flag', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_flag_holder_id'))
        batch_op.drop_column('holder_id')
    with op.batch_alter_table('worker', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_worker_department_id_department'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_worker_department_id'))
        batch_op.drop_column('work_phone')
        batch_op.drop_column('department_id')
    op.drop_table('summons')
    op.drop_table('department')
    if bind.dialect.name == "sqlite":
        bind.exec_driver_sql("PRAGMA foreign_keys=ON")
