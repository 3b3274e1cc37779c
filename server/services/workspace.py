"""The casework workspace (/work): each staff member's queue at their level, a department's
summonses, one case with the actions this person may take now, and taking them. Every action
is a flag event applied through the one engine (sync/replica.py ``accept``) with the person's
policy, exactly like a REST flag event, so devices pull it at their next sync."""
import uuid

from flask import current_app
from flask_babel import gettext
from sqlalchemy import case, or_, select

from sync.casework import LEVEL_ROLE, OPEN_STATES, allowed_actions, may_act
from sync.errors import InvalidChange
from sync.flags import COLOURS, LEVELS, OPEN_SUMMONS
from sync.messages import N_
from sync.identity import mask_name

from ..extensions import db
from ..models import COLOUR_RANK, Area, Department, Flag, Household, Summons, Worker
from ..scope import CasePolicy, areas_over, in_view, may_open_case, may_see_summoned, names_visible
from .review.cases import detail_of
from .server_changes import apply_as_server, server_change

#: who has a queue here: the staff of each level, and the departments
WORK_ROLES = frozenset(LEVEL_ROLE.values()) | {"department"}
#: the states a level's staff still have something to do in (a verified case waits to be closed)
QUEUE_STATES = OPEN_STATES + ("resolved", "verified")
#: the note that asks the grid's worker for the verifying visit, written in the sender's language
VISIT_REQUEST = N_("Grid worker: please visit again soon to check (the case can be closed after the visit)")
#: ids of the events a form makes: the same form sent twice is the same change, applied once
_FORM = uuid.UUID("6a1d4c1e-5b0f-4d3e-9a57-2f1c0e8b7d42")


def now():
    return current_app.extensions["wall_clock"]()


def _late(due, at):
    """``(days, hours)`` past ``due``, or None while it has not passed."""
    if due is None or due >= at:
        return None
    late = at - due
    return late.days, int(late.total_seconds() // 3600)


# --- queues ------------------------------------------------------------------------------------
def queue(scope, *, mine=False, limit=200):
    """The cases waiting on this person, red overdue first: late ones by how late (latest
    deadline last), then by deadline, then those whose clock is not running (resolved, waiting
    for the verifying visit; verified, waiting to be closed)."""
    if scope.role == "department":
        return _department_queue(scope, limit)
    at = now()
    level = next(lvl for lvl, role in LEVEL_ROLE.items() if role == scope.role)
    query = select(Flag).where(Flag.current_level == level, Flag.state.in_(QUEUE_STATES))
    if scope.role != "bureau":
        query = query.where(Flag.grid_id.in_(scope.grid_ids))
    if mine:
        query = query.where(Flag.holder_id == scope.worker.id)
    late = case((Flag.deadline_at < at, 0), else_=1)
    flags = db.session.execute(query.order_by(late, COLOUR_RANK, Flag.deadline_at.is_(None), Flag.deadline_at,
                                              Flag.raised_at, Flag.id).limit(limit)).scalars().all()
    return _rows(scope, flags, at)


def _rows(scope, flags, at, summons=None):
    heads = dict(db.session.execute(select(Household.id, Household.head_name).where(
        Household.id.in_({f.household_id for f in flags}))).all()) if flags else {}
    holders = {w.id: w.display_name for w in db.session.execute(select(Worker).where(
        Worker.id.in_({f.holder_id for f in flags if f.holder_id}))).scalars()} if flags else {}
    open_summons, late_summons = {}, {}
    if flags:
        for fid, st, report_due, answer_due in db.session.execute(
                select(Summons.flag_id, Summons.state, Summons.report_due_at, Summons.answer_due_at).where(
                    Summons.flag_id.in_([f.id for f in flags]), Summons.state.in_(OPEN_SUMMONS))):
            open_summons[fid] = open_summons.get(fid, 0) + 1
            # a department late to report in or to answer is late like any deadline
            if (report_due if st == "summoned" else answer_due) < at:
                late_summons[fid] = late_summons.get(fid, 0) + 1
    rows = []
    for f in flags:
        s = (summons or {}).get(f.id)
        due = f.deadline_at if s is None else s["due"]
        head = heads.get(f.household_id)
        named = names_visible(scope, f.grid_id) or s is not None
        rows.append({"id": f.id, "category": f.category, "colour": f.current_colour, "state": f.state,
                     "level": f.current_level, "deadline_at": due, "late": _late(due, at),
                     "holder": holders.get(f.holder_id), "household": head if named else mask_name(head),
                     "summons": s, "open_summons": open_summons.get(f.id, 0),
                     "late_summons": late_summons.get(f.id, 0)})
    return rows


def _department_queue(scope, limit):
    """A department's open summonses: to report in (by the report-in deadline), then to answer."""
    at = now()
    dept = scope.worker.department_id
    if dept is None:
        return []
    due = case((Summons.state == "summoned", Summons.report_due_at), else_=Summons.answer_due_at)
    found = db.session.execute(select(Summons, Flag).join(Flag, Flag.id == Summons.flag_id).where(
        Summons.department_id == dept, Summons.state.in_(OPEN_SUMMONS))
        .order_by(case((due < at, 0), else_=1), due, Flag.id).limit(limit)).all()
    summons = {f.id: {"state": s.state, "due": s.report_due_at if s.state == "summoned" else s.answer_due_at,
                      "request": s.request} for s, f in found}
    return _rows(scope, [f for _, f in found], at, summons)


# --- one case ----------------------------------------------------------------------------------
def load_case(scope, flag_id):
    """The flag if this person may see it in the workspace (else None: a 404), and whether in
    full: the staff of its area (the bureau at bureau level) and a department summoned to it."""
    flag = db.session.get(Flag, flag_id)
    if flag is None:
        return None, False
    if scope.role == "department":
        return (flag, True) if may_see_summoned(scope, flag.id) else (None, False)
    if not in_view(scope, flag.grid_id):
        return None, False
    return flag, may_open_case(scope, flag)


def case_page(scope, flag):
    """Everything the case page shows: the facts (masked as scope says), the event log with
    names, the summonses, and the forms for exactly the actions this person may take now."""
    full = may_open_case(scope, flag) or scope.role == "department"
    detail = detail_of(scope, flag, full)
    summons = db.session.execute(select(Summons, Department).outerjoin(
        Department, Department.id == Summons.department_id).where(Summons.flag_id == flag.id)
        .order_by(Summons.summoned_at)).all()
    at = now()
    detail["summons"] = [{
        "department_id": s.department_id, "name": d.name if d else "?", "state": s.state, "request": s.request,
        "summoned_at": s.summoned_at, "report_due_at": s.report_due_at, "answer_due_at": s.answer_due_at,
        "reported_at": s.reported_at, "answered_at": s.answered_at, "answer": s.answer if full else None,
        "report_late": _late(s.report_due_at, s.reported_at or at) if s.state != "released" else None,
        "answer_late": _late(s.answer_due_at, s.answered_at or at)
        if s.state in ("reported_in", "answered", "summoned") else None,
    } for s, d in summons]
    names = _names({e["assignee_id"] for e in detail["events"]} | {e["department_id"] for e in detail["events"]})
    for e in detail["events"]:
        e["whom"] = names.get(e["assignee_id"]) or names.get(e["department_id"])
    detail["late"] = _late(flag.deadline_at, at)
    detail["forms"] = _forms(scope, flag, {str(s.department_id): s.state for s, _ in summons})
    detail["form_id"] = uuid.uuid4()
    return detail


def _names(ids):
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    out = dict(db.session.execute(select(Worker.id, Worker.display_name).where(Worker.id.in_(ids))).all())
    out.update(db.session.execute(select(Department.id, Department.name).where(Department.id.in_(ids))).all())
    return out


def _forms(scope, flag, summons):
    """The actions this person may take on the case now, each with what its form needs."""
    role, state, level = scope.role, flag.state, flag.current_level
    forms = [{"action": a} for a in allowed_actions(role, state, level, summons) if a != "verify"]
    if role == "department":
        mine = str(scope.worker.department_id)
        step = {"summoned": "report_in", "reported_in": "answer"}.get(summons.get(mine))
        if step:
            forms.append({"action": step})
    else:
        if may_act(role, "assign", level) and LEVEL_ROLE.get(level) == role:
            people = colleagues(flag)
            if people:
                forms.append({"action": "assign", "people": people, "holder": flag.holder_id})
        if state == "resolved" and may_act(role, "note", level):
            forms.append({"action": "request_visit"})
        if may_act(role, "route", level) and LEVEL_ROLE.get(level) == role:
            forms.append({"action": "route", "levels": [lvl for lvl in LEVELS if lvl != level]})
            forms.append({"action": "recolour", "colours": [c for c in COLOURS if c != flag.current_colour]})
        if may_act(role, "summon", level) and state in QUEUE_STATES:
            offer = [d for d in departments_for(flag) if summons.get(str(d.id)) not in OPEN_SUMMONS]
            if offer:
                forms.append({"action": "summon", "departments": offer})
        if may_act(role, "release", level):
            held = [d for d in departments_for(flag, every=True) if summons.get(str(d.id)) in OPEN_SUMMONS]
            if held:
                forms.append({"action": "release", "departments": held})
    if may_act(role, "note", level):
        forms.append({"action": "note"})
    return forms


def colleagues(flag):
    """Who may hold the case at its level: the active staff of the area answering there."""
    role = LEVEL_ROLE[flag.current_level]
    query = select(Worker).where(Worker.role == role, Worker.active)
    if flag.current_level != "bureau":
        query = query.where(Worker.area_id.in_([a.id for a in areas_over(flag.grid_id)]))
    return db.session.execute(query.order_by(Worker.display_name)).scalars().all()


def departments_for(flag, every=False):
    """The departments a case may summon: city-wide ones and those of an area it lies in."""
    query = select(Department).order_by(Department.level, Department.name)
    if not every:
        query = query.where(Department.active, or_(Department.area_id.is_(None), Department.area_id.in_(
            [a.id for a in areas_over(flag.grid_id)])))
    return db.session.execute(query).scalars().all()


# --- acting ------------------------------------------------------------------------------------
#: what each form may carry besides the state and level it was made on
_NEEDS_NOTE = {"reject": N_("Write why the case is not accepted"), "resolve": N_("Write what was done"),
               "answer": N_("Write what your department has done"),
               "summon": N_("Write what the departments are asked to help with")}
_NOTE_EMPTY = N_("Write the note")
_NO_DEPARTMENT = N_("Choose a department")
_NO_ACTION = N_("There is no such action")
#: the refusals this module words itself (message ids; the page translates them)
PROMPTS = frozenset(_NEEDS_NOTE.values()) | {_NOTE_EMPTY, _NO_DEPARTMENT, _NO_ACTION}


def act(scope, flag, form):
    """Apply one form as flag events through the engine, with the person's policy, online:
    an event made on a state or level that is no longer current is refused as stale
    (``Conflicting``), a refusal is raised as the domain error, nothing is written then."""
    action = form.get("action", "")
    note = (form.get("note") or "").strip() or None
    if action in _NEEDS_NOTE and not note:
        raise InvalidChange(_NEEDS_NOTE[action], field="note")
    base = {"flag_id": str(flag.id)}
    # the level the person saw: an action on a case that has moved since is stale
    if scope.role != "department":
        base["at_level"] = _choice(form.get("at_level"), LEVELS, "at_level")
    events = []
    if action in ("confirm", "start", "resolve", "close", "reject", "reopen"):
        events.append(dict(base, action=action, from_state=form.get("from_state") or None, note=note))
    elif action == "request_visit":
        events.append(dict(base, action="note", note=_visit_request(note)))
    elif action == "note":
        if not note:
            raise InvalidChange(_NOTE_EMPTY, field="note")
        events.append(dict(base, action="note", note=note))
    elif action == "assign":
        events.append(dict(base, action="assign", assignee_id=_uuid(form.get("assignee_id"), "assignee_id"),
                           note=note))
    elif action == "route":
        to = _choice(form.get("level"), LEVELS, "level")
        kind = "escalate" if LEVELS.index(to) > LEVELS.index(flag.current_level) else "route"
        events.append(dict(base, action=kind, level=to, note=note))
    elif action == "recolour":
        events.append(dict(base, action="recolour", colour=_choice(form.get("colour"), COLOURS, "colour"),
                           note=note))
    elif action in ("summon", "release"):
        depts = form.getlist("department_id") if hasattr(form, "getlist") else [form.get("department_id")]
        if not depts or not all(depts):
            raise InvalidChange(_NO_DEPARTMENT, field="department_id")
        for d in dict.fromkeys(depts):
            events.append(dict(base, action=action, department_id=_uuid(d, "department_id"), note=note))
    elif action in ("report_in", "answer"):
        events.append(dict(base, action=action, department_id=str(scope.worker.department_id), note=note))
    else:
        raise InvalidChange(_NO_ACTION, field="action")
    form_id = _uuid(form.get("form_id"), "form_id")
    changes = []
    for i, fields in enumerate(events):
        eid = uuid.uuid5(_FORM, f"{form_id}:{action}:{i}")
        changes.append(server_change("flag_event", str(eid), {k: v for k, v in fields.items() if v is not None},
                                     change_id=uuid.uuid5(eid, "change")))
    try:
        out = apply_as_server(changes, device_id="web", worker_id=scope.worker.id,
                              policy=CasePolicy(scope, online=True))
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    return out


def _visit_request(note):
    request = gettext(VISIT_REQUEST)
    return gettext("%(request)s: %(note)s", request=request, note=note) if note else request


def _uuid(raw, name):
    try:
        return str(uuid.UUID(raw or ""))
    except ValueError:
        raise InvalidChange(f"{name} is not valid", field=name) from None


def _choice(raw, choices, name):
    if raw not in choices:
        raise InvalidChange(f"{name} is not valid", field=name)
    return raw


def summons_overview(area):
    """For the review pages: per department, the summonses of cases under ``area``, open ones,
    late ones (past the report-in or answer deadline), and the median hours from the summons
    to reporting in and to answering."""
    at = now()
    query = (select(Summons, Department.name).outerjoin(Department, Department.id == Summons.department_id)
             .where(Summons.grid_id.in_(select(Area.id).where(Area.level == "grid",
                                                              Area.path.startswith(area.path)))))
    per = {}
    for s, name in db.session.execute(query):
        row = per.setdefault(s.department_id, {"name": name or "?", "open": 0, "late": 0, "report_h": [],
                                               "answer_h": [], "total": 0})
        row["total"] += 1
        if s.state in OPEN_SUMMONS:
            row["open"] += 1
            due = s.report_due_at if s.state == "summoned" else s.answer_due_at
            if due < at:
                row["late"] += 1
        if s.reported_at:
            row["report_h"].append((s.reported_at - s.summoned_at).total_seconds() / 3600)
        if s.answered_at:
            row["answer_h"].append((s.answered_at - s.summoned_at).total_seconds() / 3600)
    out = []
    for row in per.values():
        out.append({"name": row["name"], "total": row["total"], "open": row["open"], "late": row["late"],
                    "report_h": _median(row["report_h"]), "answer_h": _median(row["answer_h"])})
    return sorted(out, key=lambda r: (-r["late"], -r["open"], r["name"]))


def _median(values):
    if not values:
        return None
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2

