"""Push: apply a batch of changes from a device, each one whole or not at all.

The steps are named after what they do: ``_check_envelopes`` (shape, stamp, clock),
``lock`` (serialise pushes), ``_load`` (the records the batch touches, in a few queries),
``_apply`` (the merge rules from sync/, in memory, change by change), ``_write`` (bulk writes)
and the caller's commit. Nothing is written until every change has its result, so a change is
never half applied; a dropped connection rolls the whole transaction back and the device
simply pushes again (change ids make that a no-op for what did land).
"""
import datetime as dt
import functools
import uuid
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import bindparam, select, update

from sync import COMPATIBLE_SCHEMA_VERSIONS
from sync.clock import stamp_wall_ms, wall_clock_ms
from sync.entities import ENTITIES, IMMUTABLE, SERVER_ONLY
from sync.errors import InvalidChange, SyncError, UnsupportedSchema
from sync.casework import deadline, may_act
from sync.flags import LEVELS, TRANSITIONS, fold_flag
from sync.merge import merge_fields, node_of
from sync.protocol import parse_change

from ..errors import ApiError
from ..extensions import db
from ..jsonfast import dumps
from ..models import ChangeLog, Conflict, Flag, FlagEvent, MergeRecord, SyncState, Visit
from .bulk import insert_rows
from .records import MODELS, columns, row_values, vault



# Grid and household ids repeat across a batch and across batches: parse each once.
_u = functools.lru_cache(maxsize=65536)(uuid.UUID)


@dataclass
class _Record:
    values: dict
    stamps: dict
    new: bool = False
    dirty: bool = False
    extra: dict = field(default_factory=dict)   # grid_id of flags, raised_by, …


def push(req, *, worker, device_id, scope):
    """Apply a push request whose envelope is already loaded (``PushRequestSchema``);
    return the per-change results (JSON-ready)."""
    if req["device_id"] != device_id:
        raise ApiError(403, "wrong_device", "device_id does not match the device this token was issued for")
    if req["schema_version"] not in COMPATIBLE_SCHEMA_VERSIONS:
        raise UnsupportedSchema(
            f"schema version {req['schema_version']} is not supported; this server accepts "
            f"{sorted(COMPATIBLE_SCHEMA_VERSIONS)}: update the app", field="schema_version")
    results, changes = _check_envelopes(req["changes"])
    apply_changes(changes, results, worker_id=worker.id if worker else None, device_id=device_id, scope=scope)
    return results


def _check_envelopes(raw_changes):
    results, changes = [], []
    limit_ms = wall_clock_ms() + current_app.config["SYNC_MAX_CLOCK_AHEAD_S"] * 1000
    for index, raw in enumerate(raw_changes):
        change_id = raw.get("change_id") if isinstance(raw, dict) else None
        result = {"index": index, "change_id": change_id if isinstance(change_id, str) else None}
        results.append(result)
        try:
            change = parse_change(raw)
        except InvalidChange as exc:
            _reject(result, exc)
            continue
        if stamp_wall_ms(change["stamp"]) > limit_ms:
            _reject(result, InvalidChange("stamp is ahead of the server clock; set the device's time",
                                          field="stamp", code="clock_ahead"))
            continue
        change["index"] = index
        changes.append(change)
    return results, changes


def _reject(result, error):
    result["status"] = "rejected"
    result["reason"] = error.as_dict()


def apply_changes(changes, results, *, worker_id, device_id, scope, device_stamped=True, now=None):
    """Apply already-parsed changes; fills ``results``. Server-made changes (online edits,
    imports) pass ``device_stamped=False``: they carry the server clock's stamps."""
    for change in changes:
        # Server-made changes may carry UUID objects; the batch works on canonical strings.
        for key in ("change_id", "entity_id"):
            if not isinstance(change[key], str):
                change[key] = str(change[key])
    lock()
    clock = current_app.extensions["hlc"]
    batch = _Batch(worker_id=worker_id, device_id=device_id, scope=scope, now=now, device_stamped=device_stamped)
    seen = batch.load(changes)
    for change in changes:
        result = results[change["index"]]
        if change["change_id"] in seen:
            result["status"] = "already_applied"
            continue
        try:
            if device_stamped and node_of(change["stamp"]) != device_id:
                # The stamp's node is what breaks ties and tells "my own earlier write" apart.
                raise InvalidChange("stamp was not made by this device's clock (its node must be the device id)",
                                    field="stamp", code="stamp_node_mismatch")
            conflicts = batch.apply(change)
        except SyncError as exc:
            _reject(result, exc)
            continue
        seen.add(change["change_id"])
        if conflicts:
            result["status"] = "merged_with_conflict"
            result["conflicts"] = conflicts
        else:
            result["status"] = "applied"
        clock.observe(change["stamp"])
    if batch.followups:
        batch.apply_followups(clock)
    batch.write()


def lock():
    # The row lock serialises pushes: on PostgreSQL change_log seqs then become visible in order
    # (a pull can never see seq n+1 before n), and no two pushes merge the same record at once.
    # On SQLite the same UPDATE takes the database write lock at the start of the transaction.
    updated = db.session.execute(update(SyncState).where(SyncState.id == 1).values(pushes=SyncState.pushes + 1))
    if updated.rowcount != 1:
        raise RuntimeError("sync_state row missing: run the migrations")


def _uuid_or_none(value):
    try:
        return _u(value) if isinstance(value, str) else None
    except ValueError:
        return None


class _Batch:
    def __init__(self, *, worker_id, device_id, scope, now=None, device_stamped=True):
        self.device_stamped = device_stamped
        self.followups = []
        self.worker_id, self.device_id, self.scope = worker_id, device_id, scope
        self.records = {"household": {}, "person": {}, "flag": {}}
        self.visits = {}            # id -> household_id (str), existing or new in this batch
        self.new_visits, self.new_events, self.log, self.conflicts = [], [], [], []
        self.event_ids = set()
        self.refold = set()
        self.vault = vault()
        self.checklists = current_app.extensions["checklists"]
        self.rules = current_app.extensions["rules"]
        self.deadline_table = current_app.config["DEADLINE_HOURS"]
        # one "received at" for the whole batch, from the app's clock (tests drive it)
        self.now = now or current_app.extensions["wall_clock"]()

    # --- load -----------------------------------------------------------------------------
    def load(self, changes):
        """Fetch, in a few queries, every row the batch may read; return the change ids seen."""
        ids = {e: set() for e in ("household", "person", "flag", "visit", "flag_event")}
        for c in changes:
            ids[c["entity"]].add(_u(c["entity_id"]))
            f = c["fields_"]
            for key, entity in (("household_id", "household"), ("person_id", "person"), ("flag_id", "flag"),
                                ("amends_id", "visit"), ("visit_id", "visit")):
                ref = _uuid_or_none(f.get(key))
                if ref:
                    ids[entity].add(ref)
        self._load_records("flag", ids["flag"])
        self._load_records("person", ids["person"])
        for rec in list(self.records["flag"].values()) + list(self.records["person"].values()):
            ids["household"].add(_u(rec.values["household_id"]))
        if ids["visit"]:
            for vid, hid in db.session.execute(select(Visit.id, Visit.household_id).where(Visit.id.in_(ids["visit"]))):
                self.visits[str(vid)] = str(hid)
        if ids["flag_event"]:
            self.event_ids.update(str(i) for i in db.session.execute(
                select(FlagEvent.id).where(FlagEvent.id.in_(ids["flag_event"]))).scalars())
        self._load_records("household", ids["household"])
        for c in changes:
            c["change_uuid"] = uuid.UUID(c["change_id"])
        change_ids = [c["change_uuid"] for c in changes]
        return {str(i) for i in db.session.execute(
            select(ChangeLog.change_id).where(ChangeLog.change_id.in_(change_ids))).scalars()}

    def _load_records(self, entity, ids):
        if not ids:
            return
        model = MODELS[entity]
        for row in db.session.execute(select(model).where(model.id.in_(ids))).scalars():
            rec = _Record(values=row_values(entity, row, self.vault), stamps=dict(row.stamps))
            if entity == "flag":
                rec.extra = {"grid_id": str(row.grid_id), "level": row.current_level, "raised_at": row.raised_at}
            self.records[entity][str(row.id)] = rec

    # --- apply ----------------------------------------------------------------------------
    def apply(self, change):
        entity, eid = change["entity"], change["entity_id"]
        spec = ENTITIES[entity]
        if self.device_stamped and SERVER_ONLY & change["fields_"].keys():
            raise InvalidChange("merged_into is set only by the server", field="merged_into", code="server_only")
        if spec.kind == "record":
            existing = self.records[entity].get(eid)
            fields = spec.clean(change["fields_"], creating=existing is None)
            grid = self._grid_of(entity, fields, existing)
            conflicts = self._merge(entity, eid, existing, fields, change, grid)
            if self.device_stamped:
                self._after_merges(entity, eid, fields)
        elif entity == "visit":
            fields = spec.clean(change["fields_"], creating=True, checklists=self.checklists)
            grid = self._visit(eid, fields, change)
            conflicts = []
        else:
            fields = spec.clean(change["fields_"], creating=True)
            grid = self._flag_event(eid, fields, change)
            conflicts = []
        self._log(change, eid, fields, grid)
        return conflicts

    def _states_seen(self, fid, flag):
        """Every state a flag has been in (from its recorded transitions), kept for the batch."""
        seen = flag.extra.get("states")
        if seen is None:
            seen = {"reported"}
            if not flag.new:
                actions = db.session.execute(select(FlagEvent.action).where(FlagEvent.flag_id == _u(fid))).scalars()
                seen |= {TRANSITIONS[a][1] for a in actions if a in TRANSITIONS}
            flag.extra["states"] = seen
        return seen

    def _record(self, entity, rid):
        """A record the batch may not have loaded (a merge survivor): fetched on demand."""
        rec = self.records[entity].get(rid)
        if rec is None:
            self._load_records(entity, [_u(rid)])
            rec = self.records[entity].get(rid)
        return rec

    def _survivor(self, entity, rid):
        """Where a merged-away record now lives (following a chain of merges)."""
        for _ in range(16):
            rec = self._record(entity, rid)
            if rec is None or not rec.values.get("merged_into"):
                return rid
            rid = rec.values["merged_into"]
        return rid

    def _after_merges(self, entity, eid, fields):
        """A device that has not heard of a merge yet still writes to the merged-away copy. Its
        change is applied as sent (so its replica and the server's stay equal), and the server
        follows it with its own change: an edit is carried over to the survivor (a delete is
        not: deleting "the duplicate" must not delete the person), and a person put in a
        merged-away household moves to the surviving one."""
        rec = self.records[entity][eid]
        if rec.values.get("merged_into"):
            carried = {k: v for k, v in fields.items() if k not in _NOT_CARRIED}
            if carried:
                self.followups.append((entity, self._survivor(entity, eid), carried, None))
        if entity == "person":
            home = self._record("household", rec.values["household_id"])
            if home is not None and home.values.get("merged_into"):
                self.followups.append(("person", eid, {
                    "household_id": self._survivor("household", rec.values["household_id"])},
                    rec.values["household_id"]))

    def apply_followups(self, clock):
        """The server's own changes that ``_after_merges`` queued, in this same transaction."""
        queued, self.followups = self.followups, []
        saved = (self.device_stamped, self.scope, self.device_id, self.worker_id)
        self.device_stamped, self.scope, self.device_id, self.worker_id = False, _SYSTEM, "server", None
        try:
            for entity, rid, fields, moved_from in queued:
                stamp = clock.now()
                self.apply({"change_id": str(uuid.uuid4()), "change_uuid": uuid.uuid4(), "entity": entity,
                            "entity_id": rid, "stamp": stamp, "fields_": fields, "base": None})
                if moved_from:
                    _note_move(moved_from, rid, stamp)
        finally:
            self.device_stamped, self.scope, self.device_id, self.worker_id = saved

    def _household(self, hid, what):
        rec = self._record("household", hid)
        if rec is None:
            raise InvalidChange(f"{what} names household {hid}, which the server does not have; "
                                "push the household first", field="household_id", code="unknown_reference")
        return rec

    def _grid_of(self, entity, fields, existing):
        if entity == "household":
            grid = fields.get("grid_id") or existing.values["grid_id"]
            if existing is not None and grid != existing.values["grid_id"]:
                # out of scope first: a record elsewhere is not acknowledged to exist
                self.scope.check_write(_u(existing.values["grid_id"]), "household")
                raise _cross_grid("a household cannot move to another grid by sync")
            self.scope.check_write(_u(grid), "household")
            return grid
        hid = fields.get("household_id") or existing.values["household_id"]
        grid = self._household(hid, entity).values["grid_id"]
        if existing is not None and hid != existing.values["household_id"]:
            if entity in IMMUTABLE and "household_id" in IMMUTABLE[entity]:
                self.scope.check_write(_u(self._household(existing.values["household_id"], entity)
                                          .values["grid_id"]), entity)
                raise InvalidChange(f"a {entity} cannot move to another household", field="household_id")
            old_grid = self._household(existing.values["household_id"], entity).values["grid_id"]
            if old_grid != grid:
                self.scope.check_write(_u(old_grid), entity)
                raise _cross_grid(f"a {entity} cannot move to a household in another grid by sync")
        self.scope.check_write(_u(grid), entity)
        person = fields.get("person_id")
        if entity == "flag" and person and self.records["person"].get(person, _Record({}, {})).values.get(
                "household_id") != hid:
            raise InvalidChange("person_id is not a member of the flag's household", field="person_id")
        return grid

    def _merge(self, entity, eid, existing, fields, change, grid):
        if existing is not None:
            for name in IMMUTABLE.get(entity, ()):
                if name in fields and fields[name] != existing.values.get(name):
                    raise InvalidChange(f"a {entity}'s {name} cannot be changed by editing it"
                                        + ("; send a recolour, escalate or route event" if entity == "flag" else ""),
                                        field=name, code="immutable_field")
        if existing is None:
            existing = _Record(values={}, stamps={}, new=True)
            if entity == "flag":
                existing.extra = {"grid_id": grid, "raised_by": self.worker_id, "raised_at": self.now,
                                  "level": fields.get("level") or "community"}
            self.records[entity][eid] = existing
        changed, conflicts = merge_fields(existing.values, existing.stamps, fields, change["stamp"],
                                          change["base"])
        if changed or existing.new:
            existing.dirty = True
        if entity == "flag":
            existing.extra["grid_id"] = grid
            self.refold.add(eid)
        for c in conflicts:
            self.conflicts.append({
                "id": uuid.uuid4(), "entity": entity, "entity_id": _u(eid), "grid_id": _u(grid),
                "field": c.field, "kept_stamp": c.kept_stamp, "lost_stamp": c.lost_stamp,
                "lost_side": c.lost_side, "change_id": change["change_uuid"],
                "values_enc": self.vault.encrypt_json({"kept": c.kept_value, "lost": c.lost_value}),
                "status": "open", "created_at": self.now,
            })
        return [c.field for c in conflicts]

    def _visit(self, eid, fields, change):
        if eid in self.visits:
            raise InvalidChange("this visit is already recorded and visits are never edited; "
                                "send a correction as a new visit with amends_id", code="append_only")
        hid = fields["household_id"]
        grid = self._household(hid, "visit").values["grid_id"]
        self.scope.check_write(_u(grid), "visit")
        amends = fields.get("amends_id")
        if amends and self.visits.get(amends) != hid:
            raise InvalidChange("amends_id must name an earlier visit to the same household", field="amends_id",
                                code="unknown_reference")
        self.visits[eid] = hid
        self.new_visits.append({
            "id": _u(eid), "household_id": _u(hid), "grid_id": _u(grid),
            "worker_id": self.worker_id, "device_id": self.device_id,
            "visited_at": _parse_ts(fields["visited_at"]), "checklist_version": fields["checklist_version"],
            "checks": fields["checks"], "note": fields.get("note"),
            "amends_id": _u(amends) if amends else None, "stamp": change["stamp"], "created_at": self.now,
            "suggestions": [s.__dict__ for s in self.rules.evaluate(fields["checks"], self.checklists.settings)],
        })
        return grid

    def _flag_event(self, eid, fields, change):
        if eid in self.event_ids:
            raise InvalidChange("this flag event is already recorded; events are never edited",
                                code="append_only")
        flag = self.records["flag"].get(fields["flag_id"])
        if flag is None:
            raise InvalidChange("flag_id names a flag the server does not have; push the flag first",
                                field="flag_id", code="unknown_reference")
        grid = flag.extra["grid_id"]
        self.scope.check_flag(_u(grid))
        action, level = fields["action"], flag.extra["level"]
        if not may_act(self.scope.role, action, level):
            raise InvalidChange(f"the {self.scope.role} role may not {action} a flag at {level} level",
                                field="action", code="not_allowed")
        if action in ("escalate", "route"):
            up = LEVELS.index(fields["level"]) - LEVELS.index(level)
            if up <= 0 if action == "escalate" else up == 0:
                raise InvalidChange(f"{action} must move the flag {'up from' if action == 'escalate' else 'away from'} "
                                    f"{level} level", field="level", code="level_not_moved")
        visit = fields.get("visit_id")
        if visit and self.visits.get(visit) != flag.values["household_id"]:
            raise InvalidChange("visit_id must name a visit to the flag's household", field="visit_id",
                                code="unknown_reference")
        seen = self._states_seen(fields["flag_id"], flag)
        if action in TRANSITIONS:
            # A device may act on an out-of-date view, but only on a state the flag has been in:
            # no one can close a case that was never verified by claiming it was.
            if fields["from_state"] not in seen:
                raise InvalidChange(f"from_state {fields['from_state']} is a state this flag has never been in",
                                    field="from_state", code="unknown_state")
            seen.add(TRANSITIONS[action][1])
        if action in ("escalate", "route"):
            flag.extra["level"] = fields["level"]
        self.event_ids.add(eid)
        self.refold.add(fields["flag_id"])
        self.new_events.append({
            "id": _u(eid), "flag_id": _u(fields["flag_id"]), "action": fields["action"],
            "from_state": fields.get("from_state"), "level": fields.get("level"), "colour": fields.get("colour"),
            "visit_id": _u(visit) if visit else None, "note": fields.get("note"),
            "stamp": change["stamp"], "worker_id": self.worker_id, "device_id": self.device_id,
            "created_at": self.now,
        })
        return grid

    def _log(self, change, eid, fields, grid):
        pii_names = ENTITIES[change["entity"]].pii
        plain = {k: v for k, v in fields.items() if k not in pii_names}
        secret = {k: v for k, v in fields.items() if k in pii_names}
        payload = dumps({
            "change_id": change["change_id"], "entity": change["entity"], "entity_id": eid,
            "stamp": change["stamp"], "fields": plain, "base": change["base"], "device_id": self.device_id,
            "worker_id": str(self.worker_id) if self.worker_id else None,
        })
        self.log.append({
            "change_id": change["change_uuid"], "entity": change["entity"], "entity_id": _u(eid),
            "grid_id": _u(grid), "device_id": self.device_id, "worker_id": self.worker_id,
            "stamp": change["stamp"], "payload": payload,
            "pii": self.vault.encrypt_json(secret) if secret else None, "received_at": self.now,
        })

    # --- write ----------------------------------------------------------------------------
    def write(self):
        now = self.now
        for entity in ("household", "person", "flag"):
            model = MODELS[entity]
            inserts, updates = [], []
            for eid, rec in self.records[entity].items():
                if not rec.dirty and not (entity == "flag" and eid in self.refold):
                    continue
                row = columns(entity, rec.values, self.vault)
                row.update(id=_u(eid), stamps=rec.stamps, updated_at=now)
                if entity == "flag":
                    row["grid_id"] = _u(rec.extra["grid_id"])
                (inserts if rec.new else updates).append((eid, rec, row))
            if inserts:
                rows = []
                for eid, rec, row in inserts:
                    row["created_at" if entity != "flag" else "raised_at"] = now
                    if entity == "flag":
                        row.update(raised_by=rec.extra.get("raised_by"), state="reported",
                                   current_level=row["level"] or "community", current_colour=row["colour"])
                    rows.append(row)
                insert_rows(model.__table__, rows)
            if updates:
                table = model.__table__
                cols = [k for k in updates[0][2] if k != "id"]
                stmt = update(table).where(table.c.id == bindparam("_id")).values(
                    {c: bindparam(c) for c in cols})
                db.session.execute(stmt, [dict(row, _id=row.pop("id")) for _, _, row in updates],
                                   execution_options={"synchronize_session": False})
        insert_rows(Visit.__table__, self.new_visits)
        insert_rows(FlagEvent.__table__, self.new_events)
        if self.refold:
            self._refold()
        insert_rows(ChangeLog.__table__, self.log)
        insert_rows(Conflict.__table__, self.conflicts)

    def _refold(self):
        ids = [_u(i) for i in self.refold]
        events = {}
        for ev in db.session.execute(select(FlagEvent).where(FlagEvent.flag_id.in_(ids))).scalars():
            events.setdefault(str(ev.flag_id), []).append(
                {"id": str(ev.id), "stamp": ev.stamp, "action": ev.action, "from_state": ev.from_state,
                 "level": ev.level, "colour": ev.colour, "received": ev.created_at})
        rows = []
        for fid in self.refold:
            rec = self.records["flag"][fid]
            evs = events.get(fid, [])
            view = fold_flag(rec.values["colour"], rec.values.get("level") or "community", evs)
            # The clock at a level starts when the server learnt of the move to that level, or
            # of a reopening: a reopened case gets a fresh deadline, not one long past.
            moves = [e for e in evs if e["action"] in ("escalate", "route", "reopen")]
            since = max(moves, key=lambda e: e["stamp"])["received"] if moves else rec.extra["raised_at"]
            rows.append({"_id": _u(fid), "state": view["state"], "current_level": view["level"],
                         "current_colour": view["colour"], "level_since": since,
                         "deadline_at": deadline(view["state"], view["colour"], view["level"], since,
                                                 self.deadline_table)})
        table = Flag.__table__
        db.session.execute(
            update(table).where(table.c.id == bindparam("_id")).values(
                state=bindparam("state"), current_level=bindparam("current_level"),
                current_colour=bindparam("current_colour"), level_since=bindparam("level_since"),
                deadline_at=bindparam("deadline_at")),
            rows, execution_options={"synchronize_session": False})


def _note_move(household_id, person_id, stamp):
    """A person the server moved out of a merged-away household is part of that merge: its undo
    moves them back too."""
    merge = db.session.execute(select(MergeRecord).where(
        MergeRecord.entity == "household", MergeRecord.merged_id == _u(household_id),
        MergeRecord.undone_at.is_(None)).order_by(MergeRecord.created_at.desc())).scalars().first()
    if merge is not None:
        merge.changes = dict(merge.changes, moved=dict(merge.changes.get("moved", {}), **{person_id: stamp}))


#: what a device's edit of a merged-away copy does not carry over to the survivor
_NOT_CARRIED = frozenset({"deleted", "merged_into", "household_id", "grid_id"})


class SystemScope:
    """The server's own changes (demo data, imports, merges and what follows them) may touch
    any grid."""

    role = "system"
    grid_ids = None

    def check_write(self, grid_id, what="record"):
        return None

    def check_read(self, grid_id, what="record"):
        return None

    def check_flag(self, grid_id):
        return None


_SYSTEM = SystemScope()


def _cross_grid(message):
    # Devices pull by grid: a record moved across grids would reach the new grid's devices as a
    # bare edit with no history. Until moves re-send that history, they are refused, loudly.
    return InvalidChange(message + ": moving records between grids is not supported yet; register it in the "
                         "new grid and mark the old record deleted", field="grid_id", code="cross_grid_move")


def _parse_ts(value):
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
