"""Case lists and one case, read live (not from the roll-ups): where each case lies, who holds it,
and what this reviewer may see of it (the access decisions are server/scope.py's)."""
from collections import defaultdict

from flask import current_app
from sqlalchemy import case, func, select

from sync.casework import ACTIVE_STATES, OPEN_STATES
from sync.flags import DEFAULT_LEVEL, LEVELS
from sync.identity import mask_id_number, mask_name, mask_phone

from ...extensions import db
from ...models import (COLOUR_RANK, Area, AreaClosure, AuditLog, Flag, FlagEvent, Household, Person, Visit, Worker,
                       WorkerGrid)
from ...scope import in_view, may_open_case, names_visible
from ..records import vault

#: how a reviewer filters the case list
CASE_STATUSES = ("open", "overdue", "active", "escalated", "closed", "rejected", "all")


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
    holders = _holders({f.holder_id for f in flags})
    rows = []
    for f in flags:
        full = may_open_case(scope, f)
        # a list is not an opening: names in full only for the staff of the case's own area
        named = names_visible(scope, f.grid_id)
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
            "holder_person": _holder_view(holders.get(f.holder_id), full),
        })
    return rows


def _level_rank(col):
    return case({lvl: i for i, lvl in enumerate(LEVELS)}, value=col, else_=0)


def _where_held(grid_ids):
    """For each grid: its name and workers, and for each level above it the area answering
    there and its staff (by their display names). Read from the areas' paths, so a city set
    up a minute ago is right before the first roll-up."""
    if not grid_ids:
        return {}
    out = defaultdict(dict)
    paths = dict(db.session.execute(select(Area.id, Area.path).where(Area.id.in_(grid_ids))).all())
    prefixes = {"/" + "/".join(p.strip("/").split("/")[:i]) + "/"
                for p in paths.values() for i in range(1, len(p.strip("/").split("/")) + 1)}
    areas = db.session.execute(select(Area.id, Area.level, Area.name, Area.path).where(Area.path.in_(prefixes))).all()
    rows = [(grid_id, a.id, a.level, a.name) for grid_id, path in paths.items() for a in areas
            if path.startswith(a.path)]
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


def _holders(ids):
    """The named holders (承办人) of cases by id: their names and work phones."""
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {w.id: w for w in db.session.execute(select(Worker).where(Worker.id.in_(ids))).scalars()}


def _holder_view(worker, full):
    """A case's named holder: the name for everyone who sees the case, the work phone for those
    who may open it."""
    if worker is None:
        return None
    return {"id": worker.id, "name": worker.display_name, "phone": worker.work_phone if full else None}


def case_detail(scope, flag_id):
    """One case with its event log, as this reviewer may see it; opening it in full is audited.
    Returns None when the case is not in the reviewer's area."""
    flag = db.session.get(Flag, flag_id)
    if flag is None or not in_view(scope, flag.grid_id):
        return None
    return detail_of(scope, flag, may_open_case(scope, flag))


def detail_of(scope, flag, full):
    """One case as ``scope`` may see it (``full``: names, address, notes; numbers in full only
    for those who collect them at the door); opening it in full is audited."""
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
        "holder_person": _holder_view(_holders({flag.holder_id}).get(flag.holder_id), full),
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
                    "colour": e.colour, "by": who or ("system" if e.worker_id is None else "?"), "id": e.id,
                    "assignee_id": e.assignee_id, "department_id": e.department_id,
                    # notes are free text and may name people: only in full, or the system's own
                    "note": e.note if full or e.worker_id is None else None, "reason": e.reason}
                   for e, who in events],
        "visits": [{"at": at, "by": who, "checks": {k: (c or {}).get("status") for k, c in (checks or {}).items()}}
                   for at, checks, who in visits],
    }
    if full:
        db.session.add(AuditLog(worker_id=scope.worker.id, action="open_case", entity="flag", entity_id=flag.id))
        db.session.commit()
    return detail

