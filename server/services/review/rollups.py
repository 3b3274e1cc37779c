"""Review roll-ups, rebuilt by the scheduler (why: docs/review.md).

Half the figures move with the clock and not with any change (coverage over the last 30 days,
overdue cases), pushes in the evening hour must stay cheap, and a rebuild from the records can
never drift from them. The rebuild is set-based SQL (one statement per table) inside one
transaction, so readers see the old roll-ups until the new ones are complete; the figures carry
``as_of``. Every roll-up row is keyed by an area node (grids and every area above them), so a
summary at any level reads a few hundred rows by primary key, whatever the size of the city.

Days are local days (``REVIEW_UTC_OFFSET_HOURS``, 8 for China): a visit at 01:00 local time
counts on that local day, not on the UTC day before.
"""
import contextlib
import datetime as dt
import time

from flask import current_app
from sqlalchemy import bindparam, select, text

from sync.casework import ACTIVE_STATES, OPEN_STATES
from sync.flags import DEFAULT_LEVEL, LEVELS

from ...extensions import db
from ...models import Area, AreaClosure, ReviewState
from ...models.types import TS

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
          SUM(CASE WHEN {_rank_sql('f.current_level')} > {_rank_sql(f"COALESCE(f.level, '{DEFAULT_LEVEL}')")}
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
    else:
        # The visits logged since the last round, grid by grid after where it stopped in each
        # and up to what the grid's clock says committed in this snapshot: pushes to other
        # grids committing meanwhile are counted next time, never twice, never missed.
        run(f"""INSERT INTO review_day (area_id, day, visits)
            SELECT c.ancestor_id, {day('v.visited_at')}, COUNT(*)
            FROM grid_clock g LEFT JOIN review_cursor r ON r.grid_id = g.grid_id
            JOIN change_log l ON l.grid_id = g.grid_id AND l.gseq > COALESCE(r.gseq, 0) AND l.gseq <= g.gseq
            JOIN visit v ON v.id = l.entity_id JOIN area_closure c ON c.grid_id = v.grid_id
            WHERE g.gseq > COALESCE(r.gseq, 0) AND l.entity = 'visit' AND v.amends_id IS NULL
            GROUP BY c.ancestor_id, {day('v.visited_at')}
            ON CONFLICT (area_id, day) DO UPDATE SET visits = review_day.visits + excluded.visits""")
    run("DELETE FROM review_cursor")
    run("INSERT INTO review_cursor (grid_id, gseq) SELECT grid_id, gseq FROM grid_clock")
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



def _rank_sql(col):
    """A flag level's place in the hierarchy, in SQL: routed down is not escalated."""
    return "CASE " + col + " " + " ".join(f"WHEN '{lvl}' THEN {i}" for i, lvl in enumerate(LEVELS)) + " END"
