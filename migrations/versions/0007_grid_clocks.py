"""Per-grid change-log order: every change gets a number in its grid (gseq), handed out under the
grid's lock from grid_clock, so pushes to different grids commit concurrently on PostgreSQL and
every feed (device pulls, the linker, the review's rounds) reads each grid in commit order

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 11:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('change_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gseq', sa.BigInteger(), nullable=True))
    # existing rows: numbered per grid in the order they were logged (they committed in seq order)
    op.execute("""UPDATE change_log SET gseq = n.rn FROM (
                    SELECT seq, ROW_NUMBER() OVER (PARTITION BY grid_id ORDER BY seq) AS rn FROM change_log) AS n
                  WHERE change_log.seq = n.seq""")
    with op.batch_alter_table('change_log', schema=None) as batch_op:
        batch_op.alter_column('gseq', existing_type=sa.BigInteger(), nullable=False)
        batch_op.drop_index('ix_change_log_grid_seq')
        batch_op.create_index('ix_change_log_grid_gseq', ['grid_id', 'gseq'], unique=True)
    for name in ('grid_clock', 'link_cursor', 'review_cursor'):
        op.create_table(name,
                        sa.Column('grid_id', sa.Uuid(), nullable=False),
                        sa.Column('gseq', sa.BigInteger(), nullable=False),
                        sa.PrimaryKeyConstraint('grid_id', name=op.f(f'pk_{name}')))
    op.execute("INSERT INTO grid_clock (grid_id, gseq) SELECT grid_id, MAX(gseq) FROM change_log GROUP BY grid_id")
    # the linker and the review had read up to a seq: the same place, per grid
    op.execute("""INSERT INTO link_cursor (grid_id, gseq)
                  SELECT c.grid_id, MAX(c.gseq) FROM change_log c, link_state s
                  WHERE s.id = 1 AND c.seq <= s.last_seq GROUP BY c.grid_id""")
    op.execute("""INSERT INTO review_cursor (grid_id, gseq)
                  SELECT c.grid_id, MAX(c.gseq) FROM change_log c, review_state s
                  WHERE s.id = 1 AND s.visit_seq IS NOT NULL AND c.seq <= s.visit_seq GROUP BY c.grid_id""")


def downgrade():
    for name in ('review_cursor', 'link_cursor', 'grid_clock'):
        op.drop_table(name)
    with op.batch_alter_table('change_log', schema=None) as batch_op:
        batch_op.drop_index('ix_change_log_grid_gseq')
        batch_op.create_index('ix_change_log_grid_seq', ['grid_id', 'seq'], unique=False)
        batch_op.drop_column('gseq')
