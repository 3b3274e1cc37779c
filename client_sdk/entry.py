"""The entry API: what a worker records at the door, written locally, never needing the network.

Each write is checked with the same field rules the server uses (``sync.entities``) before
anything is saved, so a change the device accepted is not refused later for its shape. It then
becomes one change (a fresh change id, a stamp from the device's hybrid clock, and as ``base``
the stamps of the values the worker was looking at), applied to the local store with the same
code that applies pulled changes, and appended to the outbox in the same transaction.
"""
import datetime as dt
import uuid

from sync.casework import may_act
from sync.entities import ENTITIES
from sync.errors import InvalidChange

from .apply import apply_changes
from .errors import Forbidden, InvalidInput, NotFound

def _clean(entity, fields, *, creating, checklists=None):
    try:
        return ENTITIES[entity].clean(fields, creating=creating, checklists=checklists)
    except InvalidChange as exc:
        raise InvalidInput(exc.message, field=exc.field, code=exc.code) from None


def _id(entity, value):
    """Ids in their one canonical spelling (lowercase, hyphenated), as the server stores them."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise InvalidInput(f"{value!r} is not a valid {entity} id", field=f"{entity}_id") from None


def _given(fields):
    # On creation a None means "not given"; on update it means "clear the field".
    return {k: v for k, v in fields.items() if v is not None}


class EntryAPI:
    """Mixed into ``FieldClient``; needs ``_store``, ``_clock`` and ``_held_grids()``."""

    # --- households and persons -----------------------------------------------------------
    def create_household(self, grid_id, address, **fields):
        """Register a household in one of the worker's grids; returns its new id."""
        cleaned = _clean("household", _given({"grid_id": grid_id, "address": address, **fields}), creating=True)
        self._check_grid(cleaned["grid_id"])
        return self._commit("household", str(uuid.uuid4()), cleaned)

    def update_household(self, household_id, **fields):
        household_id = _id("household", household_id)
        with self._store.transaction():
            rec = self._require("household", household_id, live=False)
            cleaned = _clean("household", self._nonempty(fields), creating=False)
            if "grid_id" in cleaned:
                self._check_grid(cleaned["grid_id"])
            self._commit("household", household_id, cleaned, base=rec[1])

    def delete_household(self, household_id):
        """A tombstone: the household is hidden everywhere, and nothing of it is erased."""
        self.update_household(household_id, deleted=True)

    def add_person(self, household_id, name, **fields):
        """Add a member to a household the device holds; returns the person's new id."""
        household_id = _id("household", household_id)
        with self._store.transaction():
            self._require("household", household_id)
            cleaned = _clean("person", _given({"household_id": household_id, "name": name, **fields}), creating=True)
            return self._commit("person", str(uuid.uuid4()), cleaned)

    def update_person(self, person_id, **fields):
        person_id = _id("person", person_id)
        with self._store.transaction():
            rec = self._require("person", person_id, live=False)
            cleaned = _clean("person", self._nonempty(fields), creating=False)
            if "household_id" in cleaned:
                self._require("household", cleaned["household_id"])
            self._commit("person", person_id, cleaned, base=rec[1])

    def delete_person(self, person_id):
        self.update_person(person_id, deleted=True)

    # --- visits ---------------------------------------------------------------------------
    def record_visit(self, household_id, checks, visited_at=None, note=None, amends_id=None):
        """Record a visit against the six checks, filled against the newest checklist version
        the city has (from the last sync). A correction is a new visit with ``amends_id``: a
        visit is never edited. ``suggestions(checks)`` gives the warnings to show."""
        checklists = self.checklists()
        when = visited_at or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        household_id = _id("household", household_id)
        with self._store.transaction():
            self._require("household", household_id)
            cleaned = _clean("visit", _given({"household_id": household_id, "visited_at": when,
                                              "checklist_version": checklists.latest, "checks": checks,
                                              "note": note, "amends_id": amends_id}), creating=True,
                             checklists=checklists)
            if amends_id and not self._store.select_visits("id = ? AND household_id = ?",
                                                           (cleaned["amends_id"], household_id)):
                raise InvalidInput("amends_id must name an earlier visit to the same household", field="amends_id")
            return self._commit("visit", str(uuid.uuid4()), cleaned)

    # --- flags ----------------------------------------------------------------------------
    def raise_flag(self, household_id, category, colour, person_id=None, note=None, level=None):
        """Raise a warning flag (red / yellow / green) on a household or one of its members."""
        household_id = _id("household", household_id)
        with self._store.transaction():
            self._require("household", household_id)
            cleaned = _clean("flag", _given({"household_id": household_id, "person_id": person_id,
                                             "category": category, "colour": colour, "note": note,
                                             "level": level}), creating=True)
            if person_id:
                person = self._require("person", cleaned["person_id"])
                if person[0].get("household_id") != household_id:
                    raise InvalidInput("person_id is not a member of the flag's household", field="person_id")
            return self._commit("flag", str(uuid.uuid4()), cleaned)

    def move_flag(self, flag_id, action, note=None, visit_id=None, level=None, colour=None):
        """Record a transition (confirm, start, resolve, verify, close, reject, reopen) or an
        escalate / route / recolour / note, made from the flag's current state on this device."""
        flag_id = _id("flag", flag_id)
        with self._store.transaction():
            flag = self._require("flag", flag_id, live=False)
            view = self._store.flag_states("flag_id = ?", (flag_id,)).get(flag_id, {"state": "reported"})
            role = (self._store.get_meta("worker") or {}).get("role")
            at_level = view.get("level") or flag[0].get("level") or "community"
            if role and not may_act(role, action, at_level):
                # the same rule the server applies: refused here, at once, rather than at sync
                raise Forbidden(f"the {role} role may not {action} a flag at {at_level} level")
            cleaned = _clean("flag_event", _given({"flag_id": flag_id, "action": action, "from_state": view["state"],
                                                   "note": note, "visit_id": visit_id, "level": level,
                                                   "colour": colour}), creating=True)
            if visit_id and not self._store.select_visits("id = ? AND household_id = ?",
                                                          (cleaned["visit_id"], flag[0]["household_id"])):
                raise InvalidInput("visit_id must name a visit to the flag's household", field="visit_id")
            return self._commit("flag_event", str(uuid.uuid4()), cleaned)

    # --- helpers --------------------------------------------------------------------------
    def _commit(self, entity, entity_id, fields, base=None):
        change = {"change_id": str(uuid.uuid4()), "entity": entity, "entity_id": entity_id,
                  "stamp": self._clock.now(), "fields": fields}
        if base is not None:
            change["base"] = {name: base.get(name) for name in fields}
        with self._store.transaction():
            apply_changes(self._store, [change])
            self._store.append_outbox(change)
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
            raise InvalidInput("nothing to change: name at least one field", field="fields")
        return fields

    def _check_grid(self, grid_id):
        held = self._held_grids()
        if held and grid_id not in held:
            raise InvalidInput(f"grid {grid_id} is not one of your grids", field="grid_id")
