"""Flag events name the level their author saw the flag at (at_level)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 09:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('flag_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('at_level', sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table('flag_event', schema=None) as batch_op:
        batch_op.drop_column('at_level')
