"""What the review dashboard shows for an area and a period, read from the roll-ups: the
summary, the areas one level down, visits per worker, and the way back up (breadcrumbs)."""
import datetime as dt
from collections import defaultdict

from flask import current_app
from sqlalchemy import func, select

from sync.flags import COLOURS

from ...extensions import db
from ...models import (Area, AreaClosure, ReviewClose, ReviewDay, ReviewFlagDay, ReviewOpen, ReviewSnapshot, Visit,
                       Worker, WorkerGrid)
from .rollups import refreshed_at


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



def breadcrumbs(area):
    parents = []
    node = area
    while node is not None:
        parents.append(node)
        node = db.session.get(Area, node.parent_id) if node.parent_id else None
    return list(reversed(parents))

