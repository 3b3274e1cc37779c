"""Devices remember where their replica began (replica_since): pulls leave out their own echo after it

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.add_column(sa.Column('replica_since', sa.BigInteger(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.drop_column('replica_since')
