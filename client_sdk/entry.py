"""The entry API: what a worker records at the door, written locally, never needing the network.

Each write becomes one change (a fresh change id, a stamp from the device's hybrid clock, and as
``base`` the stamps of the values the worker was looking at) and goes through the sync engine
with every rule the server will apply (``sync.replica.accept``: field shapes, the worker's
grids and role, references, the flag lifecycle), so a change the device accepted is not
refused later for something the device could know. It is then written to the local store and
appended to the outbox in the same transaction.
"""
import datetime as dt
import uuid

from sync.casework import may_act, may_raise
from sync.changes import make_change
from sync.errors import OutOfScope
from sync.replica import Policy, accept

from . import apply, rebase
from .errors import Forbidden, InvalidInput, NotFound


class DevicePolicy(Policy):
    """The engine's policy on a tablet: its worker's role and grids, as the last sync told it
    (before the first sync, nothing is known and nothing is refused for it)."""

    local = True

    def __init__(self, device_id, role, grids):
        self.node, self.role, self.grids = device_id, role, set(grids)

    def check_write(self, grid, what):
        if self.grids and grid not in self.grids:
            raise OutOfScope(f"grid {grid} is not one of your grids", field="grid_id")

    def check_flag(self, grid):
        self.check_write(grid, "flag")

    def may_act(self, action, level):
        return self.role is None or may_act(self.role, action, level)

    def may_raise(self, level):
        return self.role is None or may_raise(self.role, level)


def _id(entity, value):
    """Ids in their one canonical spelling (lowercase, hyphenated), as the server stores them."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise InvalidInput(f"{value!r} is not a valid {entity} id", field=f"{entity}_id") from None


def _given(fields):
    # On creation a None means "not given"; on update it means "clear the field".
    return {k: v for k, v in fields.items() if v is not None}


#: engine refusals a worker meets as "not allowed" rather than "fix this field"
_FORBIDDEN = frozenset({"not_allowed", "server_only"})


def _refusal(exc):
    if exc.code in _FORBIDDEN:
        return Forbidden(exc.message, code=exc.code, field=exc.field, params=exc.params)
    if exc.code == "unknown_reference":
        return NotFound(exc.message, code=exc.code, field=exc.field, params=exc.params)
    return InvalidInput(exc.message, field=exc.field, code=exc.code, params=exc.params)


class EntryAPI:
    """Mixed into ``FieldClient``; needs ``_store``, ``_clock``, ``checklists()`` and ``_held_grids()``."""

    # --- households and persons -----------------------------------------------------------
    def create_household(self, grid_id, address, **fields):
        """Register a household in one of the worker's grids; returns its new id."""
        return self._commit("household", str(uuid.uuid4()), _given({"grid_id": grid_id, "address": address,
                                                                     **fields}))

    def update_household(self, household_id, **fields):
        household_id = _id("household", household_id)
        with self._store.transaction():
            rec = self._require("household", household_id, live=False)
            self._commit("household", household_id, self._nonempty(fields), base=rec[1])

    def delete_household(self, household_id):
        """A tombstone: the household is hidden everywhere, and nothing of it is erased."""
        self.update_household(household_id, deleted=True)

    def add_person(self, household_id, name, **fields):
        """Add a member to a household the device holds; returns the person's new id."""
        household_id = _id("household", household_id)
        with self._store.transaction():
            self._require("household", household_id)
            return self._commit("person", str(uuid.uuid4()), _given({"household_id": household_id, "name": name,
                                                                      **fields}))

    def update_person(self, person_id, **fields):
        person_id = _id("person", person_id)
        with self._store.transaction():
            rec = self._require("person", person_id, live=False)
            if fields.get("household_id"):
                fields["household_id"] = _id("household", fields["household_id"])
                self._require("household", fields["household_id"])
            self._commit("person", person_id, self._nonempty(fields), base=rec[1])

    def delete_person(self, person_id):
        self.update_person(person_id, deleted=True)

    # --- visits ---------------------------------------------------------------------------
    def record_visit(self, household_id, checks, visited_at=None, note=None, amends_id=None):
        """Record a visit against the six checks, filled against the newest checklist version
        the city has (from the last sync). A correction is a new visit with ``amends_id``: a
        visit is never edited. ``suggestions(checks)`` gives the warnings to show."""
        # now as the device best knows it: never before a household it has seen stamped
        when = visited_at or dt.datetime.fromtimestamp(self._clock.present_ms() // 1000, dt.timezone.utc).isoformat()
        household_id = _id("household", household_id)
        with self._store.transaction():
            self._require("household", household_id)
            return self._commit("visit", str(uuid.uuid4()), _given({
                "household_id": household_id, "visited_at": when, "checklist_version": self.checklists().latest,
                "checks": checks, "note": note, "amends_id": amends_id}))

    # --- flags ----------------------------------------------------------------------------
    def raise_flag(self, household_id, category, colour, person_id=None, note=None, level=None):
        """Raise a warning flag (red / yellow / green) on a household or one of its members."""
        household_id = _id("household", household_id)
        with self._store.transaction():
            self._require("household", household_id)
            if person_id:
                person_id = _id("person", person_id)
                self._require("person", person_id)
            return self._commit("flag", str(uuid.uuid4()), _given({
                "household_id": household_id, "person_id": person_id, "category": category, "colour": colour,
                "note": note, "level": level}))

    def update_flag(self, flag_id, **fields):
        """Correct a flag's category or note (its colour and level move only by events)."""
        flag_id = _id("flag", flag_id)
        with self._store.transaction():
            rec = self._require("flag", flag_id, live=False)
            self._commit("flag", flag_id, self._nonempty(fields), base=rec[1])

    def move_flag(self, flag_id, action, note=None, visit_id=None, level=None, colour=None):
        """Record a transition (confirm, start, resolve, verify, close, reject, reopen) or an
        escalate / route / recolour / note, made from the flag's current state on this device."""
        flag_id = _id("flag", flag_id)
        with self._store.transaction():
            self._require("flag", flag_id, live=False)
            view = self._store.flag_states("flag_id = ?", (flag_id,)).get(flag_id, {"state": "reported"})
            return self._commit("flag_event", str(uuid.uuid4()), _given({
                "flag_id": flag_id, "action": action, "from_state": view["state"], "at_level": view.get("level"),
                "note": note, "visit_id": visit_id, "level": level, "colour": colour}))

    # --- helpers --------------------------------------------------------------------------
    def _policy(self):
        worker = self._store.get_meta("worker") or {}
        return DevicePolicy(self.device_id, worker.get("role"), self._held_grids())

    def _commit(self, entity, entity_id, fields, base=None):
        """Apply one change with the engine's rules and queue it, in one transaction."""
        change = make_change(entity, entity_id, fields, self._clock.now(),
                             base=None if base is None else {name: base.get(name) for name in fields})
        with self._store.transaction():
            view = apply.load(self._store, [change])
            rebase.keep_server_copy(self._store, entity, entity_id, view.record(entity, entity_id))
            out = accept([change], view, self._policy(), checklists=self.checklists(), now=self._clock.present_ms())
            if out.errors:
                raise _refusal(out.errors[0])
            apply.write(self._store, view, out)
            self._store.append_outbox(dict(change, fields=out.log[0].fields))
            self._store.set_meta("hlc", self._clock.peek())
        self._index_saved(entity, entity_id)
        return entity_id

    def _require(self, entity, entity_id, live=True):
        """The record ``(values, stamps, grid)``, or NotFound; ``live``: not a tombstone."""
        key = _id(entity, entity_id)
        rec = self._store.load_records(entity, [key]).get(key)
        if rec is None:
            raise NotFound(f"no {entity} {key} on this device", field=f"{entity}_id")
        if live and rec[0].get("deleted"):
            raise InvalidInput(f"the {entity} {key} is deleted", field=f"{entity}_id")
        return rec

    @staticmethod
    def _nonempty(fields):
        if not fields:
            raise InvalidInput("nothing to change: name at least one field", field="fields", code="nothing_to_change")
        return fields
