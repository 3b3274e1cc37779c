"""The change log in commit order, grid by grid.

Every change is logged in its grid with the next number of that grid (``gseq``), handed out from
``grid_clock`` by the push that writes it, whose row it holds until it commits: pushes to one
grid take turns, so within a grid the numbers become visible in order; pushes to different
grids run at once. A feed — a device's pull, the duplicate linker, the review's rounds — keeps a
position per grid and reads each grid after it: a change committed later always has a higher
number in its grid than any it has passed, so nothing is ever skipped, however the commits of
different grids interleave. (The whole-log ``seq`` orders a page but is not a position: two
pushes to two grids may make their seqs visible out of order.)

A device's position travels as its cursor: ``<epoch>.<grid key>:<gseq>,…`` for the grids it
holds that have changes (the key is the start of the grid's id), so a grid it gains starts from
its beginning and a grid it loses drops out (docs/protocol.md §7).
"""
import re
import uuid

from sqlalchemy import and_, or_, select

from ..extensions import db
from ..models import ChangeLog, GridClock

#: hex characters of a grid's id that name it in a cursor: 48 bits, unique among anyone's grids
KEY = 12
_POSITION = re.compile(r"^([0-9a-f]{%d}):([0-9]{1,18})\Z" % KEY, re.ASCII)


def key(grid_id):
    return uuid.UUID(str(grid_id)).hex[:KEY]


def is_postgres():
    return db.engine.dialect.name == "postgresql"


def take_numbers(counts):
    """Hand out ``counts[grid]`` numbers in each grid; ``{grid: first number}``. Holds each
    grid's clock row until the caller's transaction ends (the caller holds the grids' locks
    already, so this never waits). One statement for all the grids."""
    if not counts:
        return {}
    dialect = db.engine.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    stmt = upsert(GridClock).values([{"grid_id": grid, "gseq": n} for grid, n in sorted(counts.items(), key=str)])
    stmt = stmt.on_conflict_do_update(index_elements=[GridClock.grid_id],
                                      set_={"gseq": GridClock.gseq + stmt.excluded.gseq})
    got = dict(db.session.execute(stmt.returning(GridClock.grid_id, GridClock.gseq)).all())
    return {grid: got[grid] - n + 1 for grid, n in counts.items()}


def encode(epoch, positions):
    """A cursor: the epoch and the non-zero positions, by grid key."""
    return epoch + "." + ",".join(f"{key(g)}:{p}" for g, p in sorted(positions.items(), key=lambda i: key(i[0]))
                                  if p)


def decode(text):
    """``(epoch, {grid key: gseq})``; ValueError for anything else (anchored, ASCII only)."""
    epoch, dot, rest = text.partition(".")
    if not dot or not re.fullmatch(r"[0-9a-f]{1,16}", epoch, re.ASCII):
        raise ValueError("not a cursor")
    positions = {}
    for part in rest.split(",") if rest else ():
        m = _POSITION.match(part)
        if m is None or m.group(1) in positions:
            raise ValueError("not a cursor")
        positions[m.group(1)] = int(m.group(2))
    return epoch, positions


def heads(grid_ids):
    """``{grid: the last number handed out}``, for the grids that have any."""
    if not grid_ids:
        return {}
    return dict(db.session.execute(select(GridClock.grid_id, GridClock.gseq)
                                   .where(GridClock.grid_id.in_(list(grid_ids)))).all())


def newer(positions, up_to=None):
    """A condition on ``change_log``: rows after ``positions[grid]`` in each grid (and, with
    ``up_to``, at most ``up_to[grid]``: what a snapshot of the clocks saw committed)."""
    terms = []
    for grid, pos in positions.items():
        term = and_(ChangeLog.grid_id == grid, ChangeLog.gseq > pos)
        if up_to is not None:
            term = and_(term, ChangeLog.gseq <= up_to.get(grid, 0))
        terms.append(term)
    return or_(*terms) if terms else None
