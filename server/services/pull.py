"""Pull: the changes in a device's scope after its cursor, oldest first, one page at a time.

A cursor is ``"<epoch>.<seq>"``. ``seq`` only grows and is made visible in order (see
``ingest.lock``), so "everything after seq n" never skips a change. A cursor from another epoch
(the log was reset or restored) or beyond the newest change is not trusted: the answer is
"resync required" (HTTP 410), and the device pulls again from the start, keeping its outbox.
"""
from sqlalchemy import and_, func, literal, select

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


def check_cursor(cursor, device=None):
    """The seq a pull continues after; raises ResyncRequired (410) for a cursor that cannot be
    trusted, before anything else of a request is done."""
    if device is not None and device.resync_required:
        if cursor:
            raise ResyncRequired("this device must start over: pull again without a cursor")
        device.resync_required = False
    after = parse_cursor(cursor, current_epoch())
    if device is not None and not cursor:
        # a replica (re)built from the start: what the device pushed until now may not be in it
        device.replica_since = db.session.execute(select(func.coalesce(func.max(ChangeLog.seq), 0))).scalar_one()
    return after


def page(grid_ids, cursor, limit, device=None, after=None):
    """``(changes, cursor, more)``: the changes as JSON texts, built from stored payloads without
    re-encoding them.

    No echo: a pull leaves out the changes this device pushed itself (its own id and its own
    clock's stamp) since its replica began (``Device.replica_since``): it holds them already; the
    cursor still moves past them. Anything the server did in consequence (a carry-over to a merge
    survivor is the server's change) or that was made online (stamped by the server's clock) is
    sent, and so is what the device pushed before its replica was last built from the start."""
    epoch = current_epoch()
    if after is None:           # not checked already by the caller (check_cursor)
        after = check_cursor(cursor, device)
    rows = []
    if grid_ids:
        # Keys first, then the payloads of just that page: ordering the matching rows with their
        # payloads attached made every page of a first sync sort everything after it.
        keys = (select(ChangeLog.seq).where(ChangeLog.seq > after, ChangeLog.grid_id.in_(grid_ids))
                .order_by(ChangeLog.seq).limit(limit + 1)).scalar_subquery()
        own = literal(False)
        if device is not None:
            # the node of a stamp starts after "<13 digits>-<4 digits>-" (sync/clock.py)
            own = and_(ChangeLog.device_id == device.id, func.substr(ChangeLog.stamp, 20) == device.id,
                       ChangeLog.seq > device.replica_since)
        rows = db.session.execute(
            select(ChangeLog.seq, ChangeLog.payload, ChangeLog.pii, own.label("own"))
            .where(ChangeLog.seq.in_(keys)).order_by(ChangeLog.seq)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1].seq if rows else after
    v = vault()
    parts = []
    for row in rows:
        if row.own:
            continue
        if row.pii is None:
            parts.append(row.payload)
        else:
            change = loads(row.payload)
            change["fields"].update(v.decrypt_json(row.pii))
            parts.append(dumps(change))
    return parts, f"{epoch}.{last}", more


def pull_page(grid_ids, cursor, limit, server_stamp, device=None):
    """The page as a JSON string."""
    parts, cursor, more = page(grid_ids, cursor, limit, device)
    tail = dumps({"cursor": cursor, "more": more, "server_stamp": server_stamp})
    return '{"changes":[' + ",".join(parts) + "]," + tail[1:]
