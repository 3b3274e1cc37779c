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
import datetime as dt
import time
from collections import defaultdict

from flask import current_app
from sqlalchemy import bindparam, func, select, text

from sync.casework import ACTIVE_STATES, OPEN_STATES
from sync.flags import COLOURS, LEVELS

from ..errors import ApiError
from ..extensions import db
from ..models import (Area, AreaClosure, ReviewClose, ReviewDay, ReviewFlagDay, ReviewOpen, ReviewSnapshot,
                      ReviewState, ReviewWorkerDay)
from ..models.types import TS

_LOCK_KEY = 0x72657677  # "revw": one rebuild at a time across server processes
ROLLUP_TABLES = ("area_closure", "review_snapshot", "review_open", "review_day", "review_flag_day",
                 "review_close", "review_worker_day")


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
            return f"((CAST(strftime('%s', {a}) AS INTEGER) - CAST(strftime('%s', {b}) AS INTEGER)) / 3600)"
    return day, hours


def refresh(now=None, *, wait=False):
    """Rebuild every roll-up from the records as of ``now``; returns seconds taken, or None when
    another process holds the rebuild (PostgreSQL) and ``wait`` is false."""
    now = now or current_app.extensions["wall_clock"]()
    started = time.perf_counter()
    dialect = db.engine.dialect.name
    if dialect == "postgresql":
        lock = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
        if db.session.execute(text(f"SELECT {lock}(:k)"), {"k": _LOCK_KEY}).scalar() is False:
            db.session.rollback()
            return None
    day, hours = _sql(dialect, current_app.config["REVIEW_UTC_OFFSET_HOURS"])
    params = {"now": now, "d30": now - dt.timedelta(days=30), "d90": now - dt.timedelta(days=90)}
    active = ", ".join(f"'{s}'" for s in ACTIVE_STATES)
    open_ = ", ".join(f"'{s}'" for s in OPEN_STATES)
    typed = [bindparam(k, type_=TS) for k in params]

    def run(sql):
        stmt = text(sql)
        used = [b for b in typed if f":{b.key}" in sql]
        return db.session.execute(stmt.bindparams(*used) if used else stmt,
                                  {b.key: params[b.key] for b in used})

    for table in ROLLUP_TABLES:
        run(f"DELETE FROM {table}")
    _fill_closure()
    # Grid rows first, then each area above them summed from its grids.
    run("""INSERT INTO review_snapshot (area_id, households, persons, workers, visited_30d, visited_90d)
        SELECT a.id,
          (SELECT COUNT(*) FROM household h WHERE h.grid_id = a.id AND NOT h.deleted AND h.merged_into IS NULL),
          (SELECT COUNT(*) FROM person p JOIN household h ON h.id = p.household_id
             WHERE h.grid_id = a.id AND NOT h.deleted AND h.merged_into IS NULL
               AND NOT p.deleted AND p.merged_into IS NULL),
          0,
          (SELECT COUNT(DISTINCT v.household_id) FROM visit v JOIN household h ON h.id = v.household_id
             WHERE v.grid_id = a.id AND v.visited_at >= :d30 AND v.visited_at <= :now
               AND NOT h.deleted AND h.merged_into IS NULL),
          (SELECT COUNT(DISTINCT v.household_id) FROM visit v JOIN household h ON h.id = v.household_id
             WHERE v.grid_id = a.id AND v.visited_at >= :d90 AND v.visited_at <= :now
               AND NOT h.deleted AND h.merged_into IS NULL)
        FROM area a WHERE a.level = 'grid'""")
    run("""INSERT INTO review_snapshot (area_id, households, persons, workers, visited_30d, visited_90d)
        SELECT c.ancestor_id, SUM(s.households), SUM(s.persons), 0, SUM(s.visited_30d), SUM(s.visited_90d)
        FROM review_snapshot s JOIN area_closure c ON c.grid_id = s.area_id AND c.ancestor_id <> c.grid_id
        GROUP BY c.ancestor_id""")
    # A worker with two grids is one worker in the community above them: counted, not summed.
    run("""UPDATE review_snapshot SET workers = (
          SELECT COUNT(DISTINCT wg.worker_id) FROM area_closure c
          JOIN worker_grid wg ON wg.grid_id = c.grid_id JOIN worker w ON w.id = wg.worker_id
          WHERE c.ancestor_id = review_snapshot.area_id AND w.active)""")

    run(f"""INSERT INTO review_open (area_id, category, colour, state, n, overdue, escalated)
        SELECT f.grid_id, f.category, f.current_colour, f.state, COUNT(*),
          SUM(CASE WHEN f.state IN ({open_}) AND f.deadline_at < :now THEN 1 ELSE 0 END),
          SUM(CASE WHEN {_rank_sql('f.current_level')} > {_rank_sql("COALESCE(f.level, 'community')")}
                   THEN 1 ELSE 0 END)
        FROM flag f WHERE f.state IN ({active})
        GROUP BY f.grid_id, f.category, f.current_colour, f.state""")
    _roll_up("review_open", ("category", "colour", "state"), ("n", "overdue", "escalated"))

    run(f"""INSERT INTO review_day (area_id, day, visits)
        SELECT v.grid_id, {day('v.visited_at')}, COUNT(*) FROM visit v GROUP BY v.grid_id, {day('v.visited_at')}""")
    _roll_up("review_day", ("day",), ("visits",))

    run(f"""INSERT INTO review_worker_day (grid_id, worker_id, day, visits)
        SELECT v.grid_id, v.worker_id, {day('v.visited_at')}, COUNT(*) FROM visit v
        WHERE v.worker_id IS NOT NULL GROUP BY v.grid_id, v.worker_id, {day('v.visited_at')}""")

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
    _roll_up("review_flag_day", ("day", "category", "colour"), ("raised", "closed", "rejected", "escalations"))

    run(f"""INSERT INTO review_close (area_id, day, hours, n)
        SELECT f.grid_id, {day('c.closed_at')}, {hours('c.closed_at', 'f.raised_at')}, COUNT(*)
        FROM flag f JOIN ({closes}) c ON c.flag_id = f.id WHERE f.state = 'closed'
        GROUP BY f.grid_id, {day('c.closed_at')}, {hours('c.closed_at', 'f.raised_at')}""")
    _roll_up("review_close", ("day", "hours"), ("n",))

    took = time.perf_counter() - started
    state = db.session.get(ReviewState, 1) or ReviewState(id=1)
    state.refreshed_at, state.took_ms = now, int(took * 1000)
    db.session.add(state)
    db.session.commit()
    return took


def _fill_closure():
    """Walk the hierarchy once in Python (tens of thousands of areas at most) and write each
    grid's ancestors."""
    parents = dict(db.session.execute(select(Area.id, Area.parent_id)).all())
    grids = db.session.execute(select(Area.id).where(Area.level == "grid")).scalars().all()
    rows = []
    for grid in grids:
        node, seen = grid, set()
        while node is not None and node not in seen:
            seen.add(node)
            rows.append({"ancestor_id": node, "grid_id": grid})
            node = parents.get(node)
    if rows:
        db.session.execute(AreaClosure.__table__.insert(), rows)


def _roll_up(table, keys, sums):
    """Add the grid rows of ``table`` into a row for each area above the grid."""
    cols = ", ".join(keys)
    db.session.execute(text(
        f"INSERT INTO {table} (area_id, {cols}, {', '.join(sums)}) "
        f"SELECT c.ancestor_id, {', '.join('t.' + k for k in keys)}, {', '.join(f'SUM(t.{s})' for s in sums)} "
        f"FROM {table} t JOIN area_closure c ON c.grid_id = t.area_id AND c.ancestor_id <> c.grid_id "
        f"GROUP BY c.ancestor_id, {', '.join('t.' + k for k in keys)}"))


def refreshed_at():
    state = db.session.get(ReviewState, 1)
    return state.refreshed_at if state else None


# --- periods ------------------------------------------------------------------------------------
def local_today(now=None):
    now = now or current_app.extensions["wall_clock"]()
    return (now + dt.timedelta(hours=current_app.config["REVIEW_UTC_OFFSET_HOURS"])).date()


def parse_period(period=None, start=None, end=None, today=None):
    """``(first_day, last_day, label)`` from ``period`` (``2026-11``, ``2026-W47``, ``30d``) or
    ``start``/``end`` dates (both included); by default the last 90 days up to today."""
    today = today or local_today()
    try:
        if start or end:
            first = dt.date.fromisoformat(start) if start else today - dt.timedelta(days=89)
            last = dt.date.fromisoformat(end) if end else today
            label = f"{first.isoformat()} – {last.isoformat()}"
        elif not period:
            first, last, label = today - dt.timedelta(days=89), today, "last 90 days"
        elif period.endswith("d") and period[:-1].isdigit():
            days = int(period[:-1])
            if not 1 <= days <= 3660:
                raise ValueError
            first, last, label = today - dt.timedelta(days=days - 1), today, f"last {days} days"
        elif "-W" in period:
            year, week = period.split("-W")
            first = dt.date.fromisocalendar(int(year), int(week), 1)
            last, label = first + dt.timedelta(days=6), period
        else:
            year, month = period.split("-")
            first = dt.date(int(year), int(month), 1)
            last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
            label = period
    except (ValueError, TypeError):
        raise ApiError(422, "invalid_input", "period: use YYYY-MM, YYYY-Www, Nd (e.g. 30d), or start/end dates "
                       "as YYYY-MM-DD", {"period": ["not a period"]}) from None
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
    open_rows = db.session.execute(select(ReviewOpen).where(ReviewOpen.area_id == area.id)).scalars().all()
    days = db.session.execute(select(ReviewDay.day, ReviewDay.visits).where(
        ReviewDay.area_id == area.id, ReviewDay.day.between(first, last))).all()
    flag_days = db.session.execute(select(ReviewFlagDay).where(
        ReviewFlagDay.area_id == area.id, ReviewFlagDay.day.between(first, last))).scalars().all()
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
    for row in flag_days:
        raised[row.colour] = raised.get(row.colour, 0) + row.raised
        raised_by_category[row.category] += row.raised
        for key in totals:
            totals[key] += getattr(row, key)
        week = weeks[_week(row.day)]
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
    from ..models import Worker, WorkerGrid
    grids = select(AreaClosure.grid_id).where(AreaClosure.ancestor_id == area.id)
    counts = dict(db.session.execute(
        select(ReviewWorkerDay.worker_id, func.sum(ReviewWorkerDay.visits))
        .where(ReviewWorkerDay.grid_id.in_(grids), ReviewWorkerDay.day.between(first, last))
        .group_by(ReviewWorkerDay.worker_id)).all())
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
    from ..models import Flag
    if status == "open":
        return query.where(Flag.state.in_(ACTIVE_STATES))
    if status == "overdue":
        return query.where(Flag.state.in_(OPEN_STATES), Flag.deadline_at < now)
    if status == "active":
        return query.where(Flag.state.in_(OPEN_STATES))
    if status == "escalated":
        return query.where(Flag.state.in_(ACTIVE_STATES),
                           _level_rank(Flag.current_level) > _level_rank(func.coalesce(Flag.level, "community")))
    if status in ("closed", "rejected"):
        return query.where(Flag.state == status)
    return query


def cases(scope, area, *, status="open", colour=None, category=None, level=None, page=1, per_page=50, now=None):
    """The cases under ``area`` (live, not from the roll-ups), most urgent first, with where each
    lies and who holds it: the area answering for it at its level and that area's staff, and the
    grid's workers. Returns ``(rows, total, by_area)``; ``by_area`` counts them per child area."""
    from ..models import Flag, Household
    now = now or current_app.extensions["wall_clock"]()
    grids = select(AreaClosure.grid_id).where(AreaClosure.ancestor_id == area.id)
    query = _case_filter(select(Flag).where(Flag.grid_id.in_(grids)), status, now)
    if colour:
        query = query.where(Flag.current_colour == colour)
    if category:
        query = query.where(Flag.category == category)
    if level:
        query = query.where(Flag.current_level == level)
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    # where they lie: the child areas of this one (or the grid itself)
    kids = select(Area.id).where(Area.parent_id == area.id)
    matched = query.subquery()
    counts = db.session.execute(
        select(AreaClosure.ancestor_id, func.count()).select_from(matched)
        .join(AreaClosure, AreaClosure.grid_id == matched.c.grid_id)
        .where(AreaClosure.ancestor_id.in_(kids)).group_by(AreaClosure.ancestor_id)).all()
    names = dict(db.session.execute(select(Area.id, Area.name).where(Area.parent_id == area.id)).all())
    by_area = sorted(({"area_id": a, "name": names.get(a, "?"), "cases": n} for a, n in counts),
                     key=lambda r: (-r["cases"], r["name"]))
    rank = func.coalesce(Flag.deadline_at, Flag.raised_at)
    colour_rank = _colour_rank(Flag.current_colour)
    flags = db.session.execute(query.order_by(colour_rank, rank, Flag.id)
                               .limit(per_page).offset((page - 1) * per_page)).scalars().all()
    households = {h.id: h for h in db.session.execute(
        select(Household).where(Household.id.in_({f.household_id for f in flags}))).scalars()} if flags else {}
    where = _where_held({f.grid_id for f in flags})
    rows = []
    for f in flags:
        full = may_open_case(scope, f)
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
            "overdue_hours": overdue_h, "household": head if full else _mask(head),
            "grid": held.get("grid", {}).get("name"), "grid_workers": held.get("grid", {}).get("staff", []),
            "holder": holder["name"], "holder_staff": holder["staff"], "full": full,
        })
    return rows, total, by_area


def _rank_sql(col):
    """A flag level's place in the hierarchy, in SQL: routed down is not escalated."""
    return "CASE " + col + " " + " ".join(f"WHEN '{lvl}' THEN {i}" for i, lvl in enumerate(LEVELS)) + " END"


def _level_rank(col):
    from sqlalchemy import case
    return case({lvl: i for i, lvl in enumerate(LEVELS)}, value=col, else_=0)


def _colour_rank(col):
    from sqlalchemy import case
    return case({"red": 0, "yellow": 1, "green": 2}, value=col, else_=3)


def _mask(name):
    from sync.identity import mask_name
    return mask_name(name)


def _where_held(grid_ids):
    """For each grid: its name and workers, and for each level above it the area answering
    there and its staff (by their display names)."""
    from ..models import Worker, WorkerGrid
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
    from sync.identity import mask_id_number, mask_phone

    from ..models import AuditLog, Flag, FlagEvent, Household, Person, Visit, Worker
    from .records import vault
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
        return value if full else _mask(value)

    def secret(enc, mask):
        value = v.decrypt(enc) if enc is not None else None
        return value if full else mask(value)

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
