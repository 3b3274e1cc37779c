"""Pull: the changes in a device's scope after its cursor, oldest first, one page at a time.

A cursor is ``"<epoch>.<seq>"``. ``seq`` only grows and is made visible in order (see
``ingest.lock``), so "everything after seq n" never skips a change. A cursor from another epoch
(the log was reset or restored) or beyond the newest change is not trusted: the answer is
"resync required" (HTTP 410), and the device pulls again from the start, keeping its outbox.
"""
from sqlalchemy import func, select

from sync.errors import ResyncRequired

from ..extensions import db
from ..jsonfast import dumps, loads
from ..models import ChangeLog, SyncState
from .records import vault


def current_epoch():
    return db.session.execute(select(SyncState.epoch).where(SyncState.id == 1)).scalar_one()


def parse_cursor(cursor, epoch):
    if not cursor:
        return 0
    head, _, tail = cursor.partition(".")
    if head != epoch or not tail.isdigit():
        raise ResyncRequired("this cursor is not from this server's change log; pull again without a cursor",
                             field="cursor")
    seq = int(tail)
    newest = db.session.execute(select(func.coalesce(func.max(ChangeLog.seq), 0))).scalar_one()
    if seq > newest:
        raise ResyncRequired("this cursor is ahead of the server's change log; pull again without a cursor",
                             field="cursor")
    return seq


def pull_page(grid_ids, cursor, limit, server_stamp, device=None):
    """The page as a JSON string, built from stored payloads without re-encoding them."""
    epoch = current_epoch()
    if device is not None and device.resync_required:
        if cursor:
            raise ResyncRequired("this device must start over: pull again without a cursor")
        device.resync_required = False
    after = parse_cursor(cursor, epoch)
    rows = []
    if grid_ids:
        # Keys first, then the payloads of just that page: ordering the matching rows with their
        # payloads attached made every page of a first sync sort everything after it.
        page = (select(ChangeLog.seq).where(ChangeLog.seq > after, ChangeLog.grid_id.in_(grid_ids))
                .order_by(ChangeLog.seq).limit(limit + 1)).scalar_subquery()
        rows = db.session.execute(
            select(ChangeLog.seq, ChangeLog.payload, ChangeLog.pii)
            .where(ChangeLog.seq.in_(page)).order_by(ChangeLog.seq)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1].seq if rows else after
    v = vault()
    parts = []
    for row in rows:
        if row.pii is None:
            parts.append(row.payload)
        else:
            change = loads(row.payload)
            change["fields"].update(v.decrypt_json(row.pii))
            parts.append(dumps(change))
    tail = dumps({"cursor": f"{epoch}.{last}", "more": more, "server_stamp": server_stamp})
    return '{"changes":[' + ",".join(parts) + "]," + tail[1:]
