"""Pull: the changes in a device's scope after its cursor, one page at a time.

A cursor is the device's position in each of its grids (server/services/changelog.py):
``"<epoch>.<grid key>:<gseq>,…"``. Within a grid, changes become visible in ``gseq`` order, so
"everything after it" never skips a change, whatever pushes to other grids do meanwhile. A
cursor from another epoch (the log was reset or restored), malformed, or beyond what a grid has
is not trusted: the answer is "resync required" (HTTP 410), and the device pulls again from the
start, keeping its outbox.
"""
from sqlalchemy import and_, func, literal, select

from sync.errors import ResyncRequired

from ..extensions import db
from ..jsonfast import dumps, loads
from ..models import ChangeLog, SyncState
from . import changelog
from .records import vault


def current_epoch():
    return db.session.execute(select(SyncState.epoch).where(SyncState.id == 1)).scalar_one()


def parse_cursor(cursor, epoch, grid_ids=()):
    """``{grid: gseq}``: where a pull continues in each of ``grid_ids`` (0: from its start)."""
    positions = dict.fromkeys(grid_ids, 0)
    if not cursor:
        return positions
    try:
        head, by_key = changelog.decode(cursor)
    except ValueError:
        head, by_key = None, {}
    if head != epoch:
        raise ResyncRequired("this cursor is not from this server's change log; pull again without a cursor",
                             field="cursor")
    keys = {changelog.key(g): g for g in grid_ids}
    for k, pos in by_key.items():
        if k in keys:
            positions[keys[k]] = pos
    known = changelog.heads([g for g, p in positions.items() if p])
    if any(pos > known.get(g, 0) for g, pos in positions.items() if pos):
        raise ResyncRequired("this cursor is ahead of the server's change log; pull again without a cursor",
                             field="cursor")
    return positions


def check_cursor(cursor, grid_ids, device=None, epoch=None):
    """The positions a pull continues after; raises ResyncRequired (410) for a cursor that
    cannot be trusted, before anything else of a request is done."""
    if device is not None and device.resync_required:
        if cursor:
            raise ResyncRequired("this device must start over: pull again without a cursor")
        device.resync_required = False
    after = parse_cursor(cursor, current_epoch() if epoch is None else epoch, grid_ids)
    if device is not None and not cursor:
        # a replica (re)built from the start: what the device pushed until now may not be in it
        device.replica_since = db.session.execute(select(func.coalesce(func.max(ChangeLog.seq), 0))).scalar_one()
    return after


def page(grid_ids, cursor, limit, device=None, after=None, epoch=None):
    """``(changes, cursor, more)``: the changes as JSON texts, built from stored payloads without
    re-encoding them.

    No echo: a pull leaves out the changes this device pushed itself (its own id and its own
    clock's stamp) since its replica began (``Device.replica_since``): it holds them already; the
    cursor still moves past them. Anything the server did in consequence (a carry-over to a merge
    survivor is the server's change) or that was made online (stamped by the server's clock) is
    sent, and so is what the device pushed before its replica was last built from the start."""
    if epoch is None:
        epoch = current_epoch()
    if after is None:           # not checked already by the caller (check_cursor)
        after = check_cursor(cursor, grid_ids, device)
    rows = []
    if grid_ids:
        # Keys first, then the payloads of just that page: ordering the matching rows with their
        # payloads attached made every page of a first sync sort everything after it. In seq
        # order, each grid's rows come in its own gseq order: a page is a prefix of each grid.
        keys = (select(ChangeLog.seq).where(changelog.newer(after))
                .order_by(ChangeLog.seq).limit(limit + 1)).scalar_subquery()
        own = literal(False)
        if device is not None:
            # the node of a stamp starts after "<13 digits>-<4 digits>-" (sync/clock.py)
            own = and_(ChangeLog.device_id == device.id, func.substr(ChangeLog.stamp, 20) == device.id,
                       ChangeLog.seq > device.replica_since)
        rows = db.session.execute(
            select(ChangeLog.grid_id, ChangeLog.gseq, ChangeLog.payload, ChangeLog.pii, own.label("own"))
            .where(ChangeLog.seq.in_(keys)).order_by(ChangeLog.seq)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    reached = dict(after)
    for row in rows:
        reached[row.grid_id] = max(reached.get(row.grid_id, 0), row.gseq)
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
    return parts, changelog.encode(epoch, reached), more


def pull_page(grid_ids, cursor, limit, server_stamp, device=None):
    """The page as a JSON string."""
    parts, cursor, more = page(grid_ids, cursor, limit, device)
    tail = dumps({"cursor": cursor, "more": more, "server_stamp": server_stamp})
    return '{"changes":[' + ",".join(parts) + "]," + tail[1:]
