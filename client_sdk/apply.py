"""Applying changes to the local store with the server's own rules, from ``sync/``.

Records (households, persons, flags) merge field by field with ``sync.merge.merge_fields``;
visits and flag events are inserted if absent; a flag's state is folded from its events with
``sync.flags.fold_flag``. Every replica applying the same changes in any order ends up with the
same values, and applying a change twice changes nothing, which is what makes a re-pulled page
after a dropped connection harmless. A page is applied in bulk (one read per table, one write
per table), the way the server's ingest does, because a first sync brings tens of thousands.
The caller owns the transaction.
"""
from sync.flags import fold_flag
from sync.merge import merge_fields

RECORDS = ("household", "person", "flag")


def apply_changes(store, changes):
    """Apply ``changes`` (wire shape: entity, entity_id, stamp, fields, base) in order."""
    if not changes:
        return
    page = _Page(store)
    page.load(changes)
    for change in changes:
        page.apply(change)
    page.write()


def refold(store, flag_ids, flags=None):
    """Recompute the state, level and colour of ``flag_ids`` from their event logs."""
    flag_ids = list(flag_ids)
    if flags is None:
        flags = store.load_records("flag", flag_ids)
    events = store.flag_events(flag_ids)
    rows = []
    for fid in flag_ids:
        rec = flags.get(fid)
        if rec is None or not rec[0].get("colour"):
            continue        # events for a flag this device does not hold (yet)
        values = rec[0]
        rows.append((fid, fold_flag(values["colour"], values.get("level") or "community", events[fid])))
    store.put_flag_states(rows)


class _Page:
    def __init__(self, store):
        self.store = store
        self.recs = {e: {} for e in RECORDS}       # id -> [values, stamps, grid]
        self.dirty = {e: set() for e in RECORDS}
        self.old_grid = {}                          # household id -> grid before this page
        self.visits, self.events, self.refold = [], [], set()

    def load(self, changes):
        ids = {e: set() for e in RECORDS}
        for c in changes:
            entity, f = c["entity"], c["fields"]
            if entity in ids:
                ids[entity].add(c["entity_id"])
            if entity == "flag_event":
                ids["flag"].add(f["flag_id"])
            if f.get("household_id"):
                ids["household"].add(f["household_id"])
        for entity in ("flag", "person"):
            self.recs[entity] = {k: list(v) for k, v in self.store.load_records(entity, ids[entity]).items()}
            ids["household"].update(v[0]["household_id"] for v in self.recs[entity].values()
                                    if v[0].get("household_id"))
        self.recs["household"] = {k: list(v) for k, v in self.store.load_records("household", ids["household"]).items()}
        self.old_grid = {k: v[0].get("grid_id") for k, v in self.recs["household"].items()}

    def apply(self, change):
        entity, eid, fields = change["entity"], change["entity_id"], change["fields"]
        if entity in RECORDS:
            rec = self.recs[entity].get(eid)
            new = rec is None
            if new:
                rec = self.recs[entity][eid] = [{}, {}, None]
            changed, _conflicts = merge_fields(rec[0], rec[1], fields, change["stamp"], change.get("base"))
            # Conflicts are recorded by the server, the one place every device's writes meet.
            if changed or new:
                self.dirty[entity].add(eid)
            if entity == "flag":
                self.refold.add(eid)
        elif entity == "visit":
            self.visits.append(change)
        elif entity == "flag_event":
            self.events.append(change)
            self.refold.add(fields["flag_id"])

    def _household_grid(self, household_id):
        rec = self.recs["household"].get(household_id)
        return rec[0].get("grid_id") if rec else None

    def write(self):
        for entity in RECORDS:
            rows = []
            for eid in self.dirty[entity]:
                values, stamps, _ = rec = self.recs[entity][eid]
                rec[2] = values.get("grid_id") if entity == "household" else \
                    self._household_grid(values.get("household_id"))
                rows.append((eid, values, stamps, rec[2]))
            self.store.put_records(entity, rows)
        for hid in self.dirty["household"]:
            old, new = self.old_grid.get(hid), self._household_grid(hid)
            if old is not None and old != new:
                self.store.regrid_household(hid, new)
        self.store.add_visits([
            (c["entity_id"], c["fields"]["household_id"], self._household_grid(c["fields"]["household_id"]),
             c["fields"]["visited_at"], c["stamp"], c["fields"]) for c in self.visits])
        flags = self.recs["flag"]
        self.store.add_flag_events([
            (c["entity_id"], c["fields"]["flag_id"],
             self._household_grid(flags[c["fields"]["flag_id"]][0].get("household_id"))
             if c["fields"]["flag_id"] in flags else None, c["stamp"], c["fields"]) for c in self.events])
        if self.refold:
            refold(self.store, self.refold, flags)
