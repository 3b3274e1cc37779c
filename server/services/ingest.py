"""Push: apply a batch of changes, each one whole or not at all.

The rules are the one engine in sync/replica.py; this module loads, locks and writes around
it: ``check_envelopes`` (shape, stamp, clock), ``load_locked`` (every row the batch may read,
in a few queries per round: records, their households and merge survivors, visits, flag trails,
change ids already applied; read again once the batch holds the locks of its grids),
``accept`` in memory, ``write`` in bulk, and the caller's commit. Pushes to different grids run
at once on PostgreSQL; SQLite has one writer. Nothing is written until every change has its result, so a
change is never half applied; a dropped connection rolls the whole transaction back and the
device simply pushes again (change ids make that a no-op for what did land).
"""
import datetime as dt
import functools
import uuid

from flask import current_app
from sqlalchemy import bindparam, select, text, update

from sync import COMPATIBLE_SCHEMA_VERSIONS
from sync.clock import stamp_wall_ms, wall_clock_ms
from sync.entities import split_pii
from sync.errors import Forbidden, InvalidChange, UnsupportedSchema
from sync.casework import deadline
from sync.flags import DEFAULT_LEVEL, SUMMONS_STEPS, fold_flag
from sync.protocol import parse_change
from sync.replica import RECORDS, Trail, View, accept, wanted

from ..extensions import db
from ..jsonfast import dumps
from ..models import ChangeLog, Conflict, Department, Flag, FlagEvent, MergeRecord, Summons, SyncState, Visit
from . import changelog, webhooks
from .bulk import insert_rows
from .records import MODELS, columns, row_values, vault

# Grid and household ids repeat across a batch and across batches: parse each once.
_u = functools.lru_cache(maxsize=65536)(uuid.UUID)


def push(req, *, worker, device_id, policy):
    """Apply a push request whose envelope is already loaded; return the per-change results
    (JSON-ready)."""
    if req["device_id"] != device_id:
        raise Forbidden("device_id does not match the device this token was issued for", code="wrong_device")
    if req["schema_version"] not in COMPATIBLE_SCHEMA_VERSIONS:
        raise UnsupportedSchema(
            f"schema version {req['schema_version']} is not supported; this server accepts "
            f"{sorted(COMPATIBLE_SCHEMA_VERSIONS)}: update the app", field="schema_version")
    results, changes = check_envelopes(req["changes"])
    outcome = apply(changes, policy, worker_id=worker.id if worker else None, device_id=device_id)
    for change, result in zip(changes, outcome.results):
        results[change.pop("index")].update(result)
    return results


def check_envelopes(raw_changes):
    """``(results, changes)``: a result slot per raw change (filled for the malformed ones) and
    the well-formed changes, each with its ``index`` in the request."""
    results, changes = [], []
    limit_ms = wall_clock_ms() + current_app.config["SYNC_MAX_CLOCK_AHEAD_S"] * 1000
    for index, raw in enumerate(raw_changes):
        change_id = raw.get("change_id") if isinstance(raw, dict) else None
        result = {"index": index, "change_id": change_id if isinstance(change_id, str) else None}
        results.append(result)
        try:
            change = parse_change(raw)
            if stamp_wall_ms(change["stamp"]) > limit_ms:
                raise InvalidChange("stamp is ahead of the server clock; set the device's time",
                                    field="stamp", code="clock_ahead")
        except InvalidChange as exc:
            result.update(status="rejected", reason=exc.as_dict())
            continue
        change["index"] = index
        changes.append(change)
    return results, changes


def apply(changes, policy, *, worker_id, device_id, now=None):
    """Lock, load, accept, write (the caller commits); returns the engine's ``Outcome``."""
    view = load_locked(changes)
    app = current_app
    out = accept(changes, view, policy, checklists=app.extensions["checklists"], rules=app.extensions["rules"],
                 clock=app.extensions["hlc"])
    write(out, view, worker_id=worker_id, device_id=device_id, now=now or app.extensions["wall_clock"]())
    return out


def lock():
    """One at a time, city-wide: for decisions that must not race (a duplicate pair merged
    twice). On SQLite this UPDATE takes the database's write lock at the start of the
    transaction, which every write needs anyway."""
    if _postgres():
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CITY_LOCK})
        return
    updated = db.session.execute(update(SyncState).where(SyncState.id == 1).values(pushes=SyncState.pushes + 1))
    if updated.rowcount != 1:
        raise RuntimeError("sync_state row missing: run the migrations")


#: advisory lock keys: one for city-wide decisions; a grid's is taken from its id
_CITY_LOCK = 0x63697479  # "city"


def _postgres():
    return db.engine.dialect.name == "postgresql"


def load_locked(changes):
    """The batch's ``View``, read while the batch holds its grids. On PostgreSQL a push locks
    only the grids it touches (transaction-level advisory locks, in a fixed order so two pushes
    cannot wait on each other), so no two pushes merge the same record at once while pushes to
    other grids go on; each grid's change numbers keep every reader in step
    (server/services/changelog.py). The rows read before the locks only say which grids to
    lock: they are read again under them."""
    if not _postgres():
        lock()
        return load(changes)
    # the grids the batch names itself (new households) are taken before anything is read: a
    # batch of new records then reads once
    held = _grids(View(), changes)
    lock_grids(held)
    view = load(changes)
    while True:
        grids = _grids(view, changes) - held
        if not grids:
            return view
        lock_grids(grids)
        held.update(grids)
        view = load(changes)


def lock_grids(grids):
    """Hold ``grids`` until the transaction ends: on PostgreSQL transaction-level advisory locks
    taken in a fixed order (so two callers never wait on each other); SQLite's one writer."""
    if not _postgres():
        lock()
        return
    keys = sorted(int.from_bytes(_u(str(g)).bytes[:8], "big", signed=True) for g in grids)
    if keys:
        # one round trip, the locks taken in key order (so two callers never wait on each other)
        db.session.execute(text("SELECT count(pg_advisory_xact_lock(k)) FROM "
                                "(SELECT k FROM unnest(CAST(:keys AS bigint[])) AS k ORDER BY k) AS s"),
                           {"keys": keys})


def _grids(view, changes):
    found = {rec.values.get("grid_id") for rec in view.records["household"].values()}
    found |= {rec.grid for rec in view.records["flag"].values()}
    found |= {c["fields"].get("grid_id") for c in changes if c["entity"] == "household"
              and isinstance(c["fields"], dict)}
    return {g for g in found if isinstance(g, str) and _is_uuid(g)}


def _is_uuid(value):
    try:
        _u(value)
        return True
    except ValueError:
        return False


# --- load ----------------------------------------------------------------------------------------
def _uuids(ids):
    out = []
    for i in ids:
        try:
            out.append(_u(i))
        except ValueError:
            pass        # not an id at all: the engine refuses the change that names it
    return out


def load(changes):
    """A ``View`` holding every row the batch may read, fetched round by round until the
    engine wants nothing more (a person's household, a merged-away copy's survivor)."""
    view = View()
    while True:
        want = wanted(changes, view)
        if not want:
            return view
        for entity in RECORDS:
            _load_records(view, entity, want.get(entity))
        if want.get("visit"):
            for vid, hid in db.session.execute(select(Visit.id, Visit.household_id)
                                               .where(Visit.id.in_(_uuids(want["visit"])))):
                view.visits[str(vid)] = str(hid)
        if want.get("flag_event"):
            view.events.update(str(i) for i in db.session.execute(
                select(FlagEvent.id).where(FlagEvent.id.in_(_uuids(want["flag_event"])))).scalars())
        if want.get("trail"):
            _load_trails(view, want["trail"])
        if want.get("change"):
            view.applied.update(str(i) for i in db.session.execute(
                select(ChangeLog.change_id).where(ChangeLog.change_id.in_(_uuids(want["change"])))).scalars())
        for kind, ids in want.items():
            view.looked(kind, ids)


def _load_records(view, entity, ids):
    if not ids:
        return
    model = MODELS[entity]
    v = vault()
    for row in db.session.execute(select(model).where(model.id.in_(_uuids(ids)))).scalars():
        view.put(entity, str(row.id), row_values(entity, row, v), row.stamps)
        if entity == "flag":
            view.records["flag"][str(row.id)].grid = str(row.grid_id)


def _load_trails(view, flag_ids):
    ids = _uuids(flag_ids)
    rows = {str(f.id): f for f in db.session.execute(
        select(Flag.id, Flag.level, Flag.current_level, Flag.state).where(Flag.id.in_(ids)))}
    actions = {}
    # in stamp order: a department's summons steps are folded in order
    for fid, action, level, dept in db.session.execute(
            select(FlagEvent.flag_id, FlagEvent.action, FlagEvent.level, FlagEvent.department_id)
            .where(FlagEvent.flag_id.in_(ids)).order_by(FlagEvent.stamp)):
        actions.setdefault(str(fid), []).append((action, level, str(dept) if dept else None))
    for fid, row in rows.items():
        view.trails[fid] = Trail.of(row.level, row.current_level, actions.get(fid, ()), row.state)


# --- write ---------------------------------------------------------------------------------------
def write(out, view, *, worker_id, device_id, now):
    """Bulk writes of what the batch did: records, visits, flag events, flag states, the change
    log, conflicts."""
    v = vault()
    for entity in RECORDS:
        _write_records(out, view, entity, worker_id, now, v)
    insert_rows(Visit.__table__, [{
        "id": _u(lg.change["entity_id"]), "household_id": _u(lg.fields["household_id"]), "grid_id": _u(lg.grid),
        "worker_id": worker_id, "device_id": device_id, "visited_at": _parse_ts(lg.fields["visited_at"]),
        "checklist_version": lg.fields["checklist_version"], "checks": lg.fields["checks"],
        "note": lg.fields.get("note"), "amends_id": _u(lg.fields["amends_id"]) if lg.fields.get("amends_id") else None,
        "stamp": lg.change["stamp"], "created_at": now, "suggestions": out.suggestions.get(lg.change["entity_id"]),
    } for lg in out.visits])
    events = [{
        "id": _u(lg.change["entity_id"]), "flag_id": _u(lg.fields["flag_id"]), "action": lg.fields["action"],
        "from_state": lg.fields.get("from_state"), "at_level": lg.fields.get("at_level"),
        "level": lg.fields.get("level"), "colour": lg.fields.get("colour"),
        "visit_id": _u(lg.fields["visit_id"]) if lg.fields.get("visit_id") else None, "note": lg.fields.get("note"),
        "reason": lg.fields.get("reason"),
        "assignee_id": _u(lg.fields["assignee_id"]) if lg.fields.get("assignee_id") else None,
        "department_id": _u(lg.fields["department_id"]) if lg.fields.get("department_id") else None,
        "stamp": lg.change["stamp"], "worker_id": worker_id, "device_id": device_id, "created_at": now,
    } for lg in out.events]
    insert_rows(FlagEvent.__table__, events)
    # the city's webhook events, committed with the events that cause them
    webhooks.enqueue(events, now)
    if out.refold:
        _refold(out.refold, view)
    insert_log([_log_row(lg, worker_id, device_id, now, v) for lg in out.log])
    insert_rows(Conflict.__table__, [{
        "id": uuid.uuid4(), "entity": lg.change["entity"], "entity_id": _u(lg.change["entity_id"]),
        "grid_id": _u(lg.grid), "field": c.field, "kept_stamp": c.kept_stamp, "lost_stamp": c.lost_stamp,
        "lost_side": c.lost_side, "change_id": _u(lg.change["change_id"]),
        "values_enc": v.encrypt_json({"kept": c.kept_value, "lost": c.lost_value}), "status": "open",
        "created_at": now,
    } for lg, c in out.conflicts])
    for household_id, person_id, stamp in out.moves:
        _note_move(household_id, person_id, stamp)


def _write_records(out, view, entity, worker_id, now, v):
    model = MODELS[entity]
    inserts, updates = [], []
    for eid, rec in view.records[entity].items():
        if not rec.dirty and not (entity == "flag" and eid in out.refold):
            continue
        row = columns(entity, rec.values, v)
        row.update(id=_u(eid), stamps=rec.stamps, updated_at=now)
        if entity == "flag":
            row["grid_id"] = _u(rec.grid)
        if rec.new:
            row["created_at" if entity != "flag" else "raised_at"] = now
            if entity == "flag":
                row.update(raised_by=worker_id, state="reported", current_level=row["level"] or DEFAULT_LEVEL,
                           current_colour=row["colour"])
            inserts.append(row)
        else:
            updates.append(row)
    insert_rows(model.__table__, inserts)
    if updates:
        table = model.__table__
        cols = [k for k in updates[0] if k != "id"]
        stmt = update(table).where(table.c.id == bindparam("_id")).values({c: bindparam(c) for c in cols})
        db.session.execute(stmt, [dict(row, _id=row.pop("id")) for row in updates],
                           execution_options={"synchronize_session": False})


def insert_log(rows):
    """Number change-log rows in their grids (in the order given) and insert them; the caller
    holds those grids."""
    counts = {}
    for row in rows:
        counts[row["grid_id"]] = counts.get(row["grid_id"], 0) + 1
    number = changelog.take_numbers(counts)
    for row in rows:
        row["gseq"], number[row["grid_id"]] = number[row["grid_id"]], number[row["grid_id"]] + 1
    insert_rows(ChangeLog.__table__, rows)


def _log_row(lg, worker_id, device_id, now, v):
    change = lg.change
    # a change the server made in consequence of another (a carry-over) is the server's own
    device, worker = ("server", None) if lg.by_server else (device_id, worker_id)
    plain, secret = split_pii(change["entity"], lg.fields)
    payload = dumps({
        "change_id": change["change_id"], "entity": change["entity"], "entity_id": change["entity_id"],
        "stamp": change["stamp"], "fields": plain, "base": change.get("base"), "device_id": device,
        "worker_id": str(worker) if worker else None,
    })
    return {"change_id": _u(change["change_id"]), "entity": change["entity"], "entity_id": _u(change["entity_id"]),
            "grid_id": _u(lg.grid), "device_id": device, "worker_id": worker, "stamp": change["stamp"],
            "payload": payload, "pii": v.encrypt_json(secret) if secret else None, "received_at": now}


def _refold(flag_ids, view):
    ids = [_u(i) for i in flag_ids]
    events = {}
    for ev in db.session.execute(select(FlagEvent).where(FlagEvent.flag_id.in_(ids))).scalars():
        events.setdefault(str(ev.flag_id), []).append(
            {"id": str(ev.id), "stamp": ev.stamp, "action": ev.action, "from_state": ev.from_state,
             "at_level": ev.at_level, "level": ev.level, "colour": ev.colour, "received": ev.created_at,
             "assignee_id": str(ev.assignee_id) if ev.assignee_id else None, "note": ev.note,
             "department_id": str(ev.department_id) if ev.department_id else None, "worker_id": ev.worker_id})
    raised = dict(db.session.execute(select(Flag.id, Flag.raised_at).where(Flag.id.in_(ids))).all())
    table = current_app.config["DEADLINE_HOURS"]
    rows, summoned = [], {}
    for fid in flag_ids:
        rec = view.records["flag"][fid]
        evs = events.get(fid, [])
        folded = fold_flag(rec.values["colour"], rec.values.get("level"), evs)
        if any(e["action"] in SUMMONS_STEPS for e in evs):
            summoned[fid] = (rec.grid, evs)
        # The clock at a level starts when the server learnt of the move to that level, or
        # of a reopening: a reopened case gets a fresh deadline, not one long past.
        moves = [e for e in evs if e["action"] in ("escalate", "route", "reopen")]
        since = max(moves, key=lambda e: e["stamp"])["received"] if moves else raised[_u(fid)]
        rows.append({"_id": _u(fid), "state": folded["state"], "current_level": folded["level"],
                     "current_colour": folded["colour"], "level_since": since,
                     "deadline_at": deadline(folded["state"], folded["colour"], folded["level"], since, table),
                     "holder_id": _u(folded["holder"]) if folded["holder"] else None})
    flag = Flag.__table__
    db.session.execute(
        update(flag).where(flag.c.id == bindparam("_id")).values(
            state=bindparam("state"), current_level=bindparam("current_level"),
            current_colour=bindparam("current_colour"), level_since=bindparam("level_since"),
            deadline_at=bindparam("deadline_at"), holder_id=bindparam("holder_id")),
        rows, execution_options={"synchronize_session": False})
    if summoned:
        _refold_summons(summoned)


def _refold_summons(flags):
    """Each summoned department's row, from the flag's department events in stamp order, with
    the times the server received them (``flags``: flag id -> (grid, events))."""
    depts = {e["department_id"] for _, evs in flags.values() for e in evs if e.get("department_id")}
    hours = {str(d.id): (d.report_hours, d.answer_hours) for d in db.session.execute(
        select(Department).where(Department.id.in_([_u(d) for d in depts]))).scalars()}
    rows = []
    for fid, (grid, evs) in flags.items():
        held = {}
        for ev in sorted(evs, key=lambda e: e["stamp"]):
            step, dept = SUMMONS_STEPS.get(ev["action"]), ev.get("department_id")
            if step is None or not dept:
                continue
            row = held.get(dept)
            if (row["state"] if row else None) not in step[0]:
                continue
            at = ev["received"]
            if ev["action"] == "summon":
                report_h, answer_h = hours.get(dept, (24, 72))
                row = held[dept] = {
                    "id": uuid.uuid4(), "flag_id": _u(fid), "department_id": _u(dept), "grid_id": _u(grid),
                    "request": ev.get("note"), "summoned_by": ev.get("worker_id"), "summoned_at": at,
                    "report_due_at": at + dt.timedelta(hours=report_h),
                    "answer_due_at": at + dt.timedelta(hours=answer_h),
                    "reported_at": None, "answered_at": None, "answer": None, "released_at": None}
            elif ev["action"] == "report_in":
                row["reported_at"] = at
            elif ev["action"] == "answer":
                row.update(answered_at=at, answer=ev.get("note"))
            else:
                row["released_at"] = at
            row["state"] = step[1]
        rows.extend(held.values())
    db.session.execute(Summons.__table__.delete().where(Summons.flag_id.in_([_u(f) for f in flags])))
    insert_rows(Summons.__table__, rows)


def _note_move(household_id, person_id, stamp):
    """A person the server moved out of a merged-away household is part of that merge: its undo
    moves them back too."""
    merge = db.session.execute(select(MergeRecord).where(
        MergeRecord.entity == "household", MergeRecord.merged_id == _u(household_id),
        MergeRecord.undone_at.is_(None)).order_by(MergeRecord.created_at.desc())).scalars().first()
    if merge is not None:
        merge.changes = dict(merge.changes, moved=dict(merge.changes.get("moved", {}), **{person_id: stamp}))


def _parse_ts(value):
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))

