"""Collect once, enter once, link automatically (一次采集、一键录入、自动关联), on the device.

Before a person or household is saved, it is matched against what the device holds (the
matcher of ``sync/identity``: ID numbers, names by characters and pinyin, birth dates, phones,
normalised addresses, with look-alikes kept apart). ``enter_person`` / ``enter_household``
answer with one of three outcomes:

* ``linked``: the same one is already here; its empty fields are filled in, its id returned;
* ``maybe``: nothing is saved; the app shows ``candidates`` and the worker picks one
  (``link_person`` / ``link_household``) or insists it is new (``add_person`` /
  ``create_household``);
* ``created``: new, saved.

A person given without a household is attached to the household at the same door in the grid,
or a new one is registered there ("link automatically").
"""
from dataclasses import dataclass, field

from sync.identity.match import PersonIndex

from .errors import InvalidInput

_PERSON_FIELDS = ("name", "gender", "birth_date", "id_number", "phone", "relation", "note")
_HOUSEHOLD_FIELDS = ("address", "building", "unit", "room", "head_name", "phone", "note")


@dataclass
class Entry:
    outcome: str                      # linked, maybe, created
    id: str | None = None
    candidates: list = field(default_factory=list)   # [(id, score, reasons)], best first
    filled: list = field(default_factory=list)       # fields filled into the linked record


class MatchAPI:
    """Mixed into ``FieldClient``; keeps a ``PersonIndex`` of the device's live records."""

    _match_index = None

    def match_index(self):
        """The index of everything the device holds (built on first use, kept current by local
        writes, rebuilt after a sync)."""
        if self._match_index is None:
            self._match_index = PersonIndex(
                persons=[p for p in self._store.select_records("person", "deleted = 0")],
                households=[h for h in self._store.select_records("household", "deleted = 0")])
        return self._match_index

    def _forget_index(self):
        self._match_index = None

    def _index_saved(self, entity, entity_id):
        """Keep a built index current after a local write of ``entity``."""
        if self._match_index is None or entity not in ("person", "household"):
            return
        rec = (self._store.select_records(entity, "id = ?", [entity_id]) or [None])[0]
        index = self._match_index
        if entity == "household":
            index.remove_household(entity_id)
            if rec and not rec.get("deleted"):
                index.add_household(rec)
        else:
            index.remove(entity_id)
            if rec and not rec.get("deleted"):
                index.add(rec)

    # --- persons ------------------------------------------------------------------------
    def match_person(self, name, household_id=None, **fields):
        """The decision for a person about to be entered (nothing is saved)."""
        return self.match_index().lookup(dict(fields, name=name, household_id=household_id))

    def enter_person(self, name, household_id=None, *, grid_id=None, address=None, **fields):
        """Enter a person once: link to the same one, ask about look-alikes, or save a new one.

        Without ``household_id``, ``grid_id`` and ``address`` say where they live: the person is
        attached to the household at that door, which is registered first if the device has
        none there (with the person as its head when ``relation`` is ``head``)."""
        if household_id is None:
            if not (grid_id and address):
                raise InvalidInput("give household_id, or grid_id and address", field="household_id")
            home = self.enter_household(grid_id, address, head_name=name if fields.get("relation") == "head" else None)
            if home.outcome == "maybe":
                # a person joins the one household at that very door; several: the worker picks
                doors = [c for c in home.candidates if "address=exact" in c.reasons]
                if len(doors) != 1:
                    return home
                home = Entry("linked", doors[0].id)
            household_id = home.id
        decision = self.match_person(name, household_id, **fields)
        if decision.kind == "same":
            return self.link_person(decision.best.id, name=name, **fields)
        if decision.kind == "maybe":
            return Entry("maybe", candidates=list(decision.candidates))
        return Entry("created", self.add_person(household_id, name, **fields))

    def link_person(self, person_id, **fields):
        """Reuse a person the device holds: fill in only the fields it does not have yet."""
        held = self.person(person_id)
        if held is None:
            raise InvalidInput(f"no person {person_id} on this device", field="person_id")
        fill = {k: v for k, v in fields.items() if k in _PERSON_FIELDS and v not in (None, "") and not held.get(k)}
        if fill:
            self.update_person(person_id, **fill)
        return Entry("linked", held["id"], filled=sorted(fill))

    # --- households ---------------------------------------------------------------------
    def match_household(self, grid_id, address, members=(), **fields):
        """The decision for a household about to be registered (nothing is saved)."""
        candidate = dict(fields, grid_id=grid_id, address=address)
        return self.match_index().lookup_household(candidate, list(members))

    def enter_household(self, grid_id, address, members=(), **fields):
        """Register a household once: the same door (and family) links, a likely one asks."""
        fields = {k: v for k, v in fields.items() if v is not None}
        decision = self.match_household(grid_id, address, members, **fields)
        if decision.kind == "same":
            return self.link_household(decision.best.id, address=address, **fields)
        if decision.kind == "maybe":
            return Entry("maybe", candidates=list(decision.candidates))
        return Entry("created", self.create_household(grid_id, address, **fields))

    def link_household(self, household_id, **fields):
        held = self._store.select_records("household", "id = ?", [household_id])
        if not held:
            raise InvalidInput(f"no household {household_id} on this device", field="household_id")
        fill = {k: v for k, v in fields.items() if k in _HOUSEHOLD_FIELDS and v not in (None, "")
                and not held[0].get(k)}
        if fill:
            self.update_household(household_id, **fill)
        return Entry("linked", household_id, filled=sorted(fill))
