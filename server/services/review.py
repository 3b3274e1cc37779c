"""The bureau's review: roll-ups rebuilt by the scheduler, and the summaries read from them.

Why a scheduled rebuild rather than counting in the sync ingest: half the figures move with the
clock and not with any change (coverage over the last 30 days, overdue cases), pushes in the
evening hour must stay cheap, and a rebuild from the records can never drift from them. The
rebuild is set-based SQL (one statement per table) inside one transaction, so readers see the
old roll-ups until the new ones are complete; the figures carry ``as_of``. Every roll-up row is
keyed by an area node (grids and every area above them), so a summary at any level reads a few
hundred rows by primary key, whatever the size of the city.

Days are local days (``REVIEW_UTC_OFFSET_HOURS``, 8 for China): a visit at 01:00 local time
counts on that local day, not on the UTC day before.
"""
import contextlib
import datetime as dt
import time
from collections import defaultdict

from flask import current_app
from sqlalchemy import bindparam, case, func, select, text

from sync.casework import ACTIVE_STATES, OPEN_STATES
from sync.flags import COLOURS, DEFAULT_LEVEL, LEVELS
from sync.identity import mask_id_number, mask_name, mask_phone

from ..errors import ApiError
from ..extensions import db
from ..models import (COLOUR_RANK, Area, AreaClosure, AuditLog, Flag, FlagEvent, Household, Person, ReviewClose,
                      ReviewDay, ReviewFlagDay, ReviewOpen, ReviewSnapshot, ReviewState, Visit, Worker, WorkerGrid)
from ..models.types import TS
from .records import vault

_LOCK_KEY = 0x72657677  # "revw": one rebuild at a time across server processes


# --- rebuilding ---------------------------------------------------------------------------------
def _sql(dialect, offset_hours):
    """The few expressions the two databases spell differently."""
    if dialect == "postgresql":
        def day(col):
            return f"CAST(({col} AT TIME ZONE 'UTC') + INTERVAL '{int(offset_hours)} hours' AS DATE)"

        def hours(a, b):
            return f"CAST(FLOOR(EXTRACT(EPOCH FROM ({a} - {b})) / 3600) AS INTEGER)"
    else:
        def day(col):
            return f"date({col}, '{int(offset_hours):+d} hours')"

        def hours(a, b):
            # whole milliseconds (all SQLite's strftime keeps), floored to hours as PostgreSQL does
            def ms(col):
                return (f"(CAST(strftime('%s', {col}) AS INTEGER) * 1000 "
                        f"+ CAST(ROUND(strftime('%f', {col}) * 1000) AS INTEGER) % 1000)")
            return f"(({ms(a)} - {ms(b)}) / 3600000)"
    return day, hours


@contextlib.contextmanager
def _rebuild_lock(wait):
    """One rebuild at a time across server processes (PostgreSQL): a session-level advisory lock
    held on a connection of its own, so the rebuild's transaction can start with a snapshot of
    its own choosing. Yields False when another process holds it and ``wait`` is false."""
    if db.engine.dialect.name != "postgresql":
        yield True
        return
    with db.engine.connect() as conn:
        fn = "pg_advisory_lock" if wait else "pg_try_advisory_lock"
        got = conn.execute(text(f"SELECT {fn}(:k)"), {"k": _LOCK_KEY}).scalar() is not False
        conn.commit()
        try:
            yield got
        finally:
            if got:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
                conn.commit()


def refresh(now=None, *, wait=False, full=None):
    """Bring the roll-ups up to ``now``; returns the seconds taken, or None when another process
    is rebuilding (PostgreSQL) and ``wait`` is false.

    Everything is rebuilt from the records in one transaction, except the visits per day: visits
    are never edited, so each round adds only the visits logged since the last one (by change-log
    position, which becomes visible in order). ``full=True`` rebuilds those too; that happens on
    the first round, and once a day (``REVIEW_FULL_EVERY_H``) to keep the counts honest."""
    now = now or current_app.extensions["wall_clock"]()
    started = time.perf_counter()
    with _rebuild_lock(wait) as got:
        if not got:
            return None
        db.session.commit()  # the rebuild is its own transaction
        conn = db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"}
                                     if db.engine.dialect.name == "postgresql" else {})
        try:
            _rebuild(conn, now, full)
        except BaseException:
            db.session.rollback()
            raise
        took = time.perf_counter() - started
        state = db.session.get(ReviewState, 1)
        state.refreshed_at, state.took_ms = now, int(took * 1000)
        db.session.commit()
    return took


def _rebuild(conn, now, full):
    day, hours = _sql(conn.dialect.name, current_app.config["REVIEW_UTC_OFFSET_HOURS"])
    params = {"now": now, "d30": now - dt.timedelta(days=30), "d90": now - dt.timedelta(days=90)}
    typed = [bindparam(k, type_=TS) for k in params]

    def run(sql, **extra):
        stmt = text(sql)
        used = [b for b in typed if f":{b.key}" in sql]
        return conn.execute(stmt.bindparams(*used) if used else stmt,
                            {**{b.key: params[b.key] for b in used}, **extra})

    # Writing first: on SQLite this takes the write lock before anything is read, so no push can
    # commit between what is read below (a consistent view, as REPEATABLE READ gives PostgreSQL).
    for table in ("area_closure", "review_snapshot", "review_open", "review_flag_day", "review_close"):
        run(f"DELETE FROM {table}")
    state = db.session.get(ReviewState, 1)
    hi = run("SELECT COALESCE(MAX(seq), 0) FROM change_log").scalar()
    full_every = dt.timedelta(hours=current_app.config["REVIEW_FULL_EVERY_H"])
    if full is None:
        full = state.visit_seq is None or state.full_at is None or state.full_at + full_every <= now
    _fill_closure(conn)
    live = "NOT h.deleted AND h.merged_into IS NULL"
    active = ", ".join(f"'{s}'" for s in ACTIVE_STATES)
    open_ = ", ".join(f"'{s}'" for s in OPEN_STATES)

    # The register and coverage, grid by grid, each from one grouped scan; then every area above.
    run(f"""INSERT INTO review_snapshot (area_id, households, persons, workers, visited_30d, visited_90d)
        SELECT a.id, COALESCE(hh.n, 0), COALESCE(pp.n, 0), COALESCE(ww.n, 0), COALESCE(vv.d30, 0),
               COALESCE(vv.d90, 0)
        FROM area a
        LEFT JOIN (SELECT h.grid_id, COUNT(*) AS n FROM household h WHERE {live} GROUP BY h.grid_id) hh
          ON hh.grid_id = a.id
        LEFT JOIN (SELECT h.grid_id, COUNT(*) AS n FROM person p JOIN household h ON h.id = p.household_id
                   WHERE {live} AND NOT p.deleted AND p.merged_into IS NULL GROUP BY h.grid_id) pp
          ON pp.grid_id = a.id
        LEFT JOIN (SELECT wg.grid_id, COUNT(*) AS n FROM worker_grid wg JOIN worker w ON w.id = wg.worker_id
                   WHERE w.active AND w.role = 'grid_worker' GROUP BY wg.grid_id) ww ON ww.grid_id = a.id
        LEFT JOIN (SELECT COALESCE(s.grid_id, h.grid_id) AS grid_id,
                          COUNT(DISTINCT CASE WHEN v.visited_at >= :d30 THEN COALESCE(s.id, h.id) END) AS d30,
                          COUNT(DISTINCT COALESCE(s.id, h.id)) AS d90
                   FROM visit v JOIN household h ON h.id = v.household_id
                   LEFT JOIN household s ON s.id = h.merged_into
                   WHERE v.visited_at >= :d90 AND v.visited_at <= :now
                     AND ((s.id IS NULL AND NOT h.deleted AND h.merged_into IS NULL)
                          OR (s.id IS NOT NULL AND NOT s.deleted AND s.merged_into IS NULL))
                   GROUP BY COALESCE(s.grid_id, h.grid_id)) vv
          ON vv.grid_id = a.id
        WHERE a.level = 'grid'""")
    # A worker with two grids is one worker in the community above them: counted, not summed.
    run("""INSERT INTO review_snapshot (area_id, households, persons, workers, visited_30d, visited_90d)
        SELECT c.ancestor_id, SUM(s.households), SUM(s.persons), COALESCE(MAX(ww.n), 0), SUM(s.visited_30d),
               SUM(s.visited_90d)
        FROM review_snapshot s JOIN area_closure c ON c.grid_id = s.area_id AND c.ancestor_id <> c.grid_id
        LEFT JOIN (SELECT c2.ancestor_id, COUNT(DISTINCT wg.worker_id) AS n FROM area_closure c2
                   JOIN worker_grid wg ON wg.grid_id = c2.grid_id JOIN worker w ON w.id = wg.worker_id
                   WHERE w.active AND w.role = 'grid_worker' GROUP BY c2.ancestor_id) ww ON ww.ancestor_id = c.ancestor_id
        GROUP BY c.ancestor_id""")

    run(f"""INSERT INTO review_open (area_id, category, colour, state, n, overdue, escalated)
        SELECT f.grid_id, f.category, f.current_colour, f.state, COUNT(*),
          SUM(CASE WHEN f.state IN ({open_}) AND f.deadline_at < :now THEN 1 ELSE 0 END),
          SUM(CASE WHEN {_rank_sql('f.current_level')} > {_rank_sql("COALESCE(f.level, 'community')")}
                   THEN 1 ELSE 0 END)
        FROM flag f WHERE f.state IN ({active})
        GROUP BY f.grid_id, f.category, f.current_colour, f.state""")
    _roll_up(run, "review_open", ("category", "colour", "state"), ("n", "overdue", "escalated"))

    closes = """SELECT e.flag_id, MAX(e.created_at) AS closed_at FROM flag_event e
                WHERE e.action = 'close' GROUP BY e.flag_id"""
    rejects = """SELECT e.flag_id, MAX(e.created_at) AS at FROM flag_event e
                 WHERE e.action = 'reject' GROUP BY e.flag_id"""
    run(f"""INSERT INTO review_flag_day (area_id, day, category, colour, raised, closed, rejected, escalations)
        SELECT grid_id, d, category, colour, SUM(raised), SUM(closed), SUM(rejected), SUM(escalations) FROM (
          SELECT f.grid_id, {day('f.raised_at')} AS d, f.category, f.colour,
                 1 AS raised, 0 AS closed, 0 AS rejected, 0 AS escalations FROM flag f
          UNION ALL
          SELECT f.grid_id, {day('c.closed_at')}, f.category, f.current_colour, 0, 1, 0, 0
            FROM flag f JOIN ({closes}) c ON c.flag_id = f.id WHERE f.state = 'closed'
          UNION ALL
          SELECT f.grid_id, {day('r.at')}, f.category, f.current_colour, 0, 0, 1, 0
            FROM flag f JOIN ({rejects}) r ON r.flag_id = f.id WHERE f.state = 'rejected'
          UNION ALL
          SELECT f.grid_id, {day('e.created_at')}, f.category, f.current_colour, 0, 0, 0, 1
            FROM flag f JOIN flag_event e ON e.flag_id = f.id WHERE e.action = 'escalate'
        ) x GROUP BY grid_id, d, category, colour""")
    _roll_up(run, "review_flag_day", ("day", "category", "colour"), ("raised", "closed", "rejected", "escalations"))

    run(f"""INSERT INTO review_close (area_id, day, hours, n)
        SELECT f.grid_id, {day('c.closed_at')}, {hours('c.closed_at', 'f.raised_at')}, COUNT(*)
        FROM flag f JOIN ({closes}) c ON c.flag_id = f.id WHERE f.state = 'closed'
        GROUP BY f.grid_id, {day('c.closed_at')}, {hours('c.closed_at', 'f.raised_at')}""")
    _roll_up(run, "review_close", ("day", "hours"), ("n",))

    # Visits per day: by far the most rows, and visits are never edited, so between full
    # rebuilds only the visits logged after the last round are added, to the grid and every
    # area above it. A correction (``amends_id``) is not another visit.
    if full:
        run("DELETE FROM review_day")
        run(f"""INSERT INTO review_day (area_id, day, visits)
            SELECT v.grid_id, {day('v.visited_at')}, COUNT(*) FROM visit v WHERE v.amends_id IS NULL
            GROUP BY v.grid_id, {day('v.visited_at')}""")
        _roll_up_by_depth(run, "review_day", ("day",), ("visits",))
        state.full_at = now
    elif hi > state.visit_seq:
        run(f"""INSERT INTO review_day (area_id, day, visits)
            SELECT c.ancestor_id, {day('v.visited_at')}, COUNT(*)
            FROM change_log l JOIN visit v ON v.id = l.entity_id JOIN area_closure c ON c.grid_id = v.grid_id
            WHERE l.seq > :lo AND l.seq <= :hi AND l.entity = 'visit' AND v.amends_id IS NULL
            GROUP BY c.ancestor_id, {day('v.visited_at')}
            ON CONFLICT (area_id, day) DO UPDATE SET visits = review_day.visits + excluded.visits""",
            lo=state.visit_seq, hi=hi)
    state.visit_seq = hi


def _fill_closure(conn):
    """Walk the hierarchy once in Python (tens of thousands of areas at most) and write each
    grid's ancestors."""
    parents = dict(conn.execute(select(Area.id, Area.parent_id)).all())
    grids = conn.execute(select(Area.id).where(Area.level == "grid")).scalars().all()
    rows = []
    for grid in grids:
        node, seen = grid, set()
        while node is not None and node not in seen:
            seen.add(node)
            rows.append({"ancestor_id": node, "grid_id": grid})
            node = parents.get(node)
    if rows:
        conn.execute(AreaClosure.__table__.insert(), rows)


def _roll_up(run, table, keys, sums):
    """Add the grid rows of ``table`` into a row for each area above the grid (small tables:
    one join through the closure)."""
    cols = ", ".join(keys)
    run(f"INSERT INTO {table} (area_id, {cols}, {', '.join(sums)}) "
        f"SELECT c.ancestor_id, {', '.join('t.' + k for k in keys)}, {', '.join(f'SUM(t.{s})' for s in sums)} "
        f"FROM {table} t JOIN area_closure c ON c.grid_id = t.area_id AND c.ancestor_id <> c.grid_id "
        f"GROUP BY c.ancestor_id, {', '.join('t.' + k for k in keys)}")


_DEPTH = "(LENGTH(a.path) - LENGTH(REPLACE(a.path, '/', '')))"


def _roll_up_by_depth(run, table, keys, sums):
    """The same for a big table, one level at a time from the deepest: each area's rows are the
    sum of its children's, so every row is read once per level instead of once per ancestor."""
    depths = [d for (d,) in run(f"SELECT DISTINCT {_DEPTH} FROM area a WHERE a.parent_id IS NOT NULL")]
    k = ", ".join("t." + c for c in keys)
    for depth in sorted(depths, reverse=True):
        run(f"INSERT INTO {table} (area_id, {', '.join(keys)}, {', '.join(sums)}) "
            f"SELECT a.parent_id, {k}, {', '.join(f'SUM(t.{s})' for s in sums)} "
            f"FROM {table} t JOIN area a ON a.id = t.area_id "
            f"WHERE a.parent_id IS NOT NULL AND {_DEPTH} = :depth GROUP BY a.parent_id, {k}", depth=depth)


def refreshed_at():
    state = db.session.get(ReviewState, 1)
    return state.refreshed_at if state else None


# --- periods ------------------------------------------------------------------------------------
def local_today(now=None):
    now = now or current_app.extensions["wall_clock"]()
    return (now + dt.timedelta(hours=current_app.config["REVIEW_UTC_OFFSET_HOURS"])).date()


#: the dates a period may span: nothing recorded here lies outside them, and date arithmetic
#: near year 1 or 9999 would overflow
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2100, 12, 31)


def parse_period(period=None, start=None, end=None, today=None):
    """``(first_day, last_day, label)`` from ``period`` (``2026-11``, ``2026-W47``, ``30d``) or
    ``start``/``end`` dates (both included); by default the last 90 days up to today."""
    today = today or local_today()
    try:
        if start or end:
            first = dt.date.fromisoformat(start) if start else today - dt.timedelta(days=89)
            last = dt.date.fromisoformat(end) if end else today
            label = f"{first.isoformat()} 至 {last.isoformat()}"
        elif not period:
            first, last, label = today - dt.timedelta(days=89), today, "近90天"
        elif period.endswith("d") and period[:-1].isdigit():
            days = int(period[:-1])
            if not 1 <= days <= 3660:
                raise ValueError
            first, last, label = today - dt.timedelta(days=days - 1), today, f"近{days}天"
        elif "-W" in period:
            year, week = period.split("-W")
            first = dt.date.fromisocalendar(int(year), int(week), 1)
            last, label = first + dt.timedelta(days=6), period
        else:
            year, month = period.split("-")
            first = dt.date(int(year), int(month), 1)
            last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
            label = period
    except (ValueError, TypeError, OverflowError):
        raise ApiError(422, "invalid_input", "period: use YYYY-MM, YYYY-Www, Nd (e.g. 30d), or start/end dates "
                       "as YYYY-MM-DD", {"period": ["not a period"]}) from None
    if not (EARLIEST <= first and last <= LATEST):
        raise ApiError(422, "invalid_input", f"period: dates from {EARLIEST} to {LATEST} only",
                       {"period": ["out of range"]})
    if last < first or (last - first).days > 3660:
        raise ApiError(422, "invalid_input", "period: the end must not be before the start, and at most ten years "
                       "apart", {"period": ["bad range"]})
    return first, last, label


# --- reading ------------------------------------------------------------------------------------
def percentile(histogram, q):
    """Nearest-rank ``q``-th percentile of ``{value: count}``; None when empty."""
    total = sum(histogram.values())
    if not total:
        return None
    rank = max(1, -(-q * total // 100))  # ceil(q/100 * total)
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return None


def _week(day):
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def summary(area, first, last):
    """Everything the dashboard shows for one area and period, from the roll-ups."""
    snap = db.session.get(ReviewSnapshot, area.id)
    # plain rows, not ORM objects: a year of a city's flag days is thousands of rows
    open_rows = db.session.execute(select(ReviewOpen.state, ReviewOpen.colour, ReviewOpen.category, ReviewOpen.n,
                                          ReviewOpen.overdue, ReviewOpen.escalated)
                                   .where(ReviewOpen.area_id == area.id)).all()
    days = db.session.execute(select(ReviewDay.day, ReviewDay.visits).where(
        ReviewDay.area_id == area.id, ReviewDay.day.between(first, last))).all()
    flag_days = db.session.execute(select(
        ReviewFlagDay.day, ReviewFlagDay.category, ReviewFlagDay.colour, ReviewFlagDay.raised, ReviewFlagDay.closed,
        ReviewFlagDay.rejected, ReviewFlagDay.escalations).where(
        ReviewFlagDay.area_id == area.id, ReviewFlagDay.day.between(first, last))).all()
    closes = db.session.execute(select(ReviewClose.hours, func.sum(ReviewClose.n)).where(
        ReviewClose.area_id == area.id, ReviewClose.day.between(first, last)).group_by(ReviewClose.hours)).all()

    households = snap.households if snap else 0
    by_colour = {c: 0 for c in COLOURS}
    overdue = {c: 0 for c in COLOURS}
    escalated = {c: 0 for c in COLOURS}
    by_state, by_category, open_total = defaultdict(int), defaultdict(lambda: {c: 0 for c in COLOURS}), 0
    for row in open_rows:
        by_state[row.state] += row.n
        by_colour[row.colour] = by_colour.get(row.colour, 0) + row.n
        by_category[row.category][row.colour] = by_category[row.category].get(row.colour, 0) + row.n
        overdue[row.colour] = overdue.get(row.colour, 0) + row.overdue
        escalated[row.colour] = escalated.get(row.colour, 0) + row.escalated
        open_total += row.n

    weeks = {}
    cursor = first - dt.timedelta(days=first.weekday())
    while cursor <= last:
        weeks[_week(cursor)] = {"week": _week(cursor), "starts": cursor.isoformat(), "visits": 0, "raised": 0,
                                "closed": 0, "escalations": 0}
        cursor += dt.timedelta(days=7)
    visits = 0
    for day, n in days:
        visits += n
        weeks[_week(day)]["visits"] += n
    raised, raised_by_category = {c: 0 for c in COLOURS}, defaultdict(int)
    totals = {"raised": 0, "closed": 0, "rejected": 0, "escalations": 0}
    week_of = {}
    for row in flag_days:
        raised[row.colour] = raised.get(row.colour, 0) + row.raised
        raised_by_category[row.category] += row.raised
        totals["raised"] += row.raised
        totals["closed"] += row.closed
        totals["rejected"] += row.rejected
        totals["escalations"] += row.escalations
        if row.day not in week_of:
            week_of[row.day] = weeks[_week(row.day)]
        week = week_of[row.day]
        week["raised"] += row.raised
        week["closed"] += row.closed
        week["escalations"] += row.escalations
    hist = {int(h): int(n) for h, n in closes}
    workers = snap.workers if snap else 0
    return {
        "area": area,
        "as_of": refreshed_at(),
        "period": {"start": first, "end": last},
        "households": households,
        "persons": snap.persons if snap else 0,
        "workers": workers,
        "coverage": {
            "visited_30d": snap.visited_30d if snap else 0, "visited_90d": snap.visited_90d if snap else 0,
            "rate_30d": round(snap.visited_30d / households, 4) if households else None,
            "rate_90d": round(snap.visited_90d / households, 4) if households else None,
        },
        "open": {"total": open_total, "by_colour": by_colour, "by_state": dict(by_state),
                 "by_category": {k: dict(v) for k, v in sorted(by_category.items())}},
        "overdue": {"total": sum(overdue.values()), "by_colour": overdue},
        "escalated": {"total": sum(escalated.values()), "by_colour": escalated},
        "in_period": {
            "visits": visits,
            "visits_per_worker": round(visits / workers, 2) if workers else None,
            "raised": totals["raised"], "raised_by_colour": raised,
            "raised_by_category": dict(sorted(raised_by_category.items())),
            "closed": totals["closed"], "rejected": totals["rejected"], "escalations": totals["escalations"],
            "hours_to_close": {"closed": sum(hist.values()), "median": percentile(hist, 50),
                               "p90": percentile(hist, 90)},
        },
        "weeks": list(weeks.values()),
    }


def children(area):
    """The areas one level down with their headline figures, for the drill-down table."""
    kids = db.session.execute(select(Area).where(Area.parent_id == area.id).order_by(Area.code)).scalars().all()
    if not kids:
        return []
    ids = [k.id for k in kids]
    snaps = {s.area_id: s for s in db.session.execute(
        select(ReviewSnapshot).where(ReviewSnapshot.area_id.in_(ids))).scalars()}
    opens = defaultdict(lambda: {"open": 0, "red": 0, "yellow": 0, "green": 0, "overdue": 0, "red_overdue": 0})
    for row in db.session.execute(select(ReviewOpen).where(ReviewOpen.area_id.in_(ids))).scalars():
        o = opens[row.area_id]
        o["open"] += row.n
        o[row.colour] = o.get(row.colour, 0) + row.n
        o["overdue"] += row.overdue
        if row.colour == "red":
            o["red_overdue"] += row.overdue
    out = []
    for kid in kids:
        s = snaps.get(kid.id)
        hh = s.households if s else 0
        out.append({"area": kid, "households": hh, "persons": s.persons if s else 0,
                    "visited_30d": s.visited_30d if s else 0,
                    "rate_30d": round(s.visited_30d / hh, 4) if s and hh else None,
                    **opens[kid.id]})
    return out


def workers(area, first, last):
    """Visits per worker in the area's grids over the period, most first; workers assigned to
    the area who made none are listed with 0."""
    grids = select(AreaClosure.grid_id).where(AreaClosure.ancestor_id == area.id)
    # read live from the visits (indexed by grid and time): exact and current, one page a reviewer
    # opens now and then, so not worth a roll-up of its own
    offset = dt.timedelta(hours=current_app.config["REVIEW_UTC_OFFSET_HOURS"])
    start = dt.datetime.combine(first, dt.time(), dt.timezone.utc) - offset
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), dt.timezone.utc) - offset
    counts = dict(db.session.execute(
        select(Visit.worker_id, func.count())
        .where(Visit.grid_id.in_(grids), Visit.visited_at >= start, Visit.visited_at < end,
               Visit.amends_id.is_(None), Visit.worker_id.is_not(None))
        .group_by(Visit.worker_id)).all())
    assigned = set(db.session.execute(select(WorkerGrid.worker_id).join(Worker, Worker.id == WorkerGrid.worker_id)
                                      .where(WorkerGrid.grid_id.in_(grids), Worker.active)).scalars())
    ids = set(counts) | assigned
    names = dict(db.session.execute(select(Worker.id, Worker.display_name).where(Worker.id.in_(ids))).all()) \
        if ids else {}
    rows = [{"worker_id": wid, "name": names.get(wid, "?"), "visits": int(counts.get(wid, 0))} for wid in ids]
    return sorted(rows, key=lambda r: (-r["visits"], r["name"]))


# --- cases --------------------------------------------------------------------------------------
#: how a reviewer filters the case list
CASE_STATUSES = ("open", "overdue", "active", "escalated", "closed", "rejected", "all")
CASE_OPENERS = frozenset({"community", "street", "district"})


def may_open_case(scope, flag):
    """Whether this reviewer may see the case in full (names, numbers, notes): the staff of the
    area it lies in, and the bureau once the case sits with the bureau. Everyone else who may
    read the figures sees it with names initialled and numbers masked."""
    if scope.role in CASE_OPENERS:
        return flag.grid_id in scope.grid_ids
    return scope.role == "bureau" and flag.current_level == "bureau"


def _case_filter(query, status, now):
    if status == "open":
        return query.where(Flag.state.in_(ACTIVE_STATES))
    if status == "overdue":
        return query.where(Flag.state.in_(OPEN_STATES), Flag.deadline_at < now)
    if status == "active":
        return query.where(Flag.state.in_(OPEN_STATES))
    if status == "escalated":
        return query.where(Flag.state.in_(ACTIVE_STATES),
                           _level_rank(Flag.current_level) > _level_rank(func.coalesce(Flag.level, DEFAULT_LEVEL)))
    if status in ("closed", "rejected"):
        return query.where(Flag.state == status)
    return query


def cases(scope, area, *, status="open", colour=None, category=None, level=None, page=1, per_page=50, now=None,
          counts=True):
    """The cases under ``area`` (live, not from the roll-ups), most urgent first, with where each
    lies and who holds it: the area answering for it at its level and that area's staff, and the
    grid's workers. Returns ``(rows, total, by_area)``; ``by_area`` counts them per child area
    (without ``counts``, an export's pages: ``(rows, None, [])``)."""
    now = now or current_app.extensions["wall_clock"]()
    grids = select(AreaClosure.grid_id).where(AreaClosure.ancestor_id == area.id)
    query = _case_filter(select(Flag).where(Flag.grid_id.in_(grids)), status, now)
    if colour:
        query = query.where(Flag.current_colour == colour)
    if category:
        query = query.where(Flag.category == category)
    if level:
        query = query.where(Flag.current_level == level)
    total, by_area = None, []
    if counts:
        total, by_area = _case_counts(query, area)
    rows = _case_rows(scope, query, page, per_page, now)
    return rows, total, by_area


def _case_counts(query, area):
    """How many cases match, and how many lie in each child area."""
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    kids = select(Area.id).where(Area.parent_id == area.id)
    matched = query.subquery()
    counts = db.session.execute(
        select(AreaClosure.ancestor_id, func.count()).select_from(matched)
        .join(AreaClosure, AreaClosure.grid_id == matched.c.grid_id)
        .where(AreaClosure.ancestor_id.in_(kids)).group_by(AreaClosure.ancestor_id)).all()
    names = dict(db.session.execute(select(Area.id, Area.name).where(Area.parent_id == area.id)).all())
    by_area = sorted(({"area_id": a, "name": names.get(a, "?"), "cases": n} for a, n in counts),
                     key=lambda r: (-r["cases"], r["name"]))
    return total, by_area


def _case_rows(scope, query, page, per_page, now):
    rank = func.coalesce(Flag.deadline_at, Flag.raised_at)
    flags = db.session.execute(query.order_by(COLOUR_RANK, rank, Flag.id)
                               .limit(per_page).offset((page - 1) * per_page)).scalars().all()
    households = {h.id: h for h in db.session.execute(
        select(Household).where(Household.id.in_({f.household_id for f in flags}))).scalars()} if flags else {}
    where = _where_held({f.grid_id for f in flags})
    rows = []
    for f in flags:
        full = may_open_case(scope, f)
        # a list is not an opening: names in full only for the staff of the case's own area
        named = scope.role in CASE_OPENERS and f.grid_id in scope.grid_ids
        head = households[f.household_id].head_name if f.household_id in households else None
        held = where.get(f.grid_id, {})
        holder = held.get(f.current_level) or {"name": "bureau" if f.current_level == "bureau" else "?",
                                               "staff": []}
        overdue_h = None
        if f.state in OPEN_STATES and f.deadline_at is not None and f.deadline_at < now:
            overdue_h = int((now - f.deadline_at).total_seconds() // 3600)
        rows.append({
            "id": f.id, "category": f.category, "colour": f.current_colour, "state": f.state,
            "level": f.current_level, "raised_at": f.raised_at, "deadline_at": f.deadline_at,
            "overdue_hours": overdue_h, "household": head if named else mask_name(head),
            "grid": held.get("grid", {}).get("name"), "grid_workers": held.get("grid", {}).get("staff", []),
            "holder": holder["name"], "holder_staff": holder["staff"], "full": full,
        })
    return rows


def _rank_sql(col):
    """A flag level's place in the hierarchy, in SQL: routed down is not escalated."""
    return "CASE " + col + " " + " ".join(f"WHEN '{lvl}' THEN {i}" for i, lvl in enumerate(LEVELS)) + " END"


def _level_rank(col):
    return case({lvl: i for i, lvl in enumerate(LEVELS)}, value=col, else_=0)


def _where_held(grid_ids):
    """For each grid: its name and workers, and for each level above it the area answering
    there and its staff (by their display names)."""
    if not grid_ids:
        return {}
    out = defaultdict(dict)
    rows = db.session.execute(select(AreaClosure.grid_id, Area.id, Area.level, Area.name)
                              .join(Area, Area.id == AreaClosure.ancestor_id)
                              .where(AreaClosure.grid_id.in_(grid_ids))).all()
    area_ids = {r[1] for r in rows}
    staff = defaultdict(list)
    for area_id, name in db.session.execute(select(Worker.area_id, Worker.display_name).where(
            Worker.area_id.in_(area_ids), Worker.active, Worker.role.in_(("community", "street", "district")))
            .order_by(Worker.display_name)):
        staff[area_id].append(name)
    grid_staff = defaultdict(list)
    for grid_id, name in db.session.execute(select(WorkerGrid.grid_id, Worker.display_name)
                                            .join(Worker, Worker.id == WorkerGrid.worker_id)
                                            .where(WorkerGrid.grid_id.in_(grid_ids), Worker.active)
                                            .order_by(Worker.display_name)):
        grid_staff[grid_id].append(name)
    for grid_id, area_id, level, name in rows:
        key = "grid" if level == "grid" else level
        out[grid_id][key] = {"name": name, "staff": grid_staff[grid_id] if level == "grid" else staff[area_id]}
    return out


def case_detail(scope, flag_id):
    """One case with its event log, as this reviewer may see it; opening it in full is audited.
    Returns None when the case is not in the reviewer's area."""
    flag = db.session.get(Flag, flag_id)
    if flag is None or not _in_view(scope, flag.grid_id):
        return None
    full = may_open_case(scope, flag)
    household = db.session.get(Household, flag.household_id)
    person = db.session.get(Person, flag.person_id) if flag.person_id else None
    events = db.session.execute(select(FlagEvent, Worker.display_name)
                                .outerjoin(Worker, Worker.id == FlagEvent.worker_id)
                                .where(FlagEvent.flag_id == flag.id)
                                .order_by(FlagEvent.created_at, FlagEvent.stamp)).all()
    visits = db.session.execute(select(Visit.visited_at, Visit.checks, Worker.display_name)
                                .outerjoin(Worker, Worker.id == Visit.worker_id)
                                .where(Visit.household_id == flag.household_id)
                                .order_by(Visit.visited_at.desc()).limit(10)).all()
    v = vault()

    def name(value):
        return value if full else mask_name(value)

    def secret(enc, mask):
        # numbers in full only for those who collect them at the door (docs/security.md 5.2)
        value = v.decrypt(enc) if enc is not None else None
        return value if full and scope.sees_full_pii else mask(value)

    where = _where_held({flag.grid_id}).get(flag.grid_id, {})
    holder = where.get(flag.current_level) or {"name": "bureau" if flag.current_level == "bureau" else "?",
                                               "staff": []}
    detail = {
        "id": flag.id, "category": flag.category, "colour": flag.current_colour, "raised_colour": flag.colour,
        "state": flag.state, "level": flag.current_level, "raised_at": flag.raised_at,
        "deadline_at": flag.deadline_at, "full": full,
        "note": flag.note if full else None,
        "grid": where.get("grid", {}).get("name"), "grid_workers": where.get("grid", {}).get("staff", []),
        "holder": holder["name"], "holder_staff": holder["staff"],
        "household": {
            "id": household.id, "head_name": name(household.head_name),
            "address": household.address if full else None,
            "phone": secret(household.phone_enc, mask_phone),
        } if household else None,
        "person": {
            "id": person.id, "name": name(person.name),
            "birth_year": person.birth_date.year if person.birth_date else None,
            "id_number": secret(person.id_number_enc, mask_id_number),
        } if person else None,
        "events": [{"at": e.created_at, "action": e.action, "from_state": e.from_state, "level": e.level,
                    "colour": e.colour, "by": who or ("system" if e.worker_id is None else "?"),
                    # notes are free text and may name people: only in full, or the system's own
                    "note": e.note if full or e.worker_id is None else None} for e, who in events],
        "visits": [{"at": at, "by": who, "checks": {k: (c or {}).get("status") for k, c in (checks or {}).items()}}
                   for at, checks, who in visits],
    }
    if full:
        db.session.add(AuditLog(worker_id=scope.worker.id, action="open_case", entity="flag", entity_id=flag.id))
        db.session.commit()
    return detail


def _in_view(scope, grid_id):
    if scope.role in ("bureau", "admin"):
        return True
    return grid_id in scope.grid_ids


def visible_area(scope, area_id):
    """The area if this reviewer's figures reach it, else None (a 404: not acknowledged)."""
    area = db.session.get(Area, area_id)
    if area is None:
        return None
    if scope.role in ("bureau", "admin") or (scope.area_path and area.path.startswith(scope.area_path)):
        return area
    return None


def home_area(scope):
    """Where a reviewer's dashboard opens: their own area, or the city for the bureau."""
    if scope.area_path:
        return db.session.execute(select(Area).where(Area.path == scope.area_path)).scalar_one_or_none()
    return db.session.execute(select(Area).where(Area.parent_id.is_(None)).order_by(Area.code)).scalars().first()


def breadcrumbs(area):
    parents = []
    node = area
    while node is not None:
        parents.append(node)
        node = db.session.get(Area, node.parent_id) if node.parent_id else None
    return list(reversed(parents))
