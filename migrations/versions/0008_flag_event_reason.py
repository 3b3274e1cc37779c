"""Escalations keep a reason (a code and its facts) instead of English prose; the notes the
escalation job wrote before are read into reasons

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 10:30:00

"""
import re

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


# the note the escalation job wrote until 0007 (frozen here: the job no longer writes it)
_OLD = re.compile(r"^overdue: the (?P<colour>\w+) deadline (?P<deadline>\d{4}-\d{2}-\d{2} \d{2}:\d{2}) UTC passed at "
                  r"(?P<level>\w+) level with the flag (?P<state>\w+); escalated to (?P<to>\w+)$")


def reason_from_old_note(note):
    m = _OLD.match(note or "")
    if not m:
        return None
    return {"code": "overdue", "colour": m["colour"], "deadline": m["deadline"].replace(" ", "T") + "Z",
            "level": m["level"], "state": m["state"], "to": m["to"]}


def upgrade():
    with op.batch_alter_table('flag_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason', sa.JSON(), nullable=True))
    events = sa.table('flag_event', sa.column('id', sa.Uuid()), sa.column('note', sa.Text()),
                      sa.column('reason', sa.JSON()), sa.column('worker_id', sa.Uuid()),
                      sa.column('action', sa.String()))
    conn = op.get_bind()
    rows = conn.execute(sa.select(events.c.id, events.c.note).where(
        events.c.action == 'escalate', events.c.worker_id.is_(None), events.c.note.like('overdue: %'))).all()
    for event_id, note in rows:
        reason = reason_from_old_note(note)
        if reason:
            # the words are rendered from the reason now, in each reader's language
            conn.execute(events.update().where(events.c.id == event_id).values(reason=reason, note=None))


def downgrade():
    with op.batch_alter_table('flag_event', schema=None) as batch_op:
        batch_op.drop_column('reason')
