"""Loading the local store into the sync engine's view, and writing what it decided back.

The rules are the server's own: ``sync/replica.py`` applies a pulled page (``replay``: field
by field last-writer-wins, visits and flag events if absent) and a worker's own write
(``accept``: every rule the server will apply, checked here first, offline). This module only
loads what the engine wants, in one read per table, and writes the outcome in one write per
table, because a first sync brings tens of thousands of changes. The caller owns the
transaction.
"""
from sync.flags import fold_flag
from sync.replica import RECORDS, Trail, View, replay, wanted


def apply_pulled(store, changes):
    """Apply a pulled page (wire shape: entity, entity_id, stamp, fields, base) in order."""
    if not changes:
        return None
    view = load(store, changes, trails=False)
    out = replay(changes, view)
    write(store, view, out)
    return out


def load(store, changes, *, trails=True):
    """A ``View`` of what the store holds that ``changes`` may read."""
    view = View()
    while True:
        want = wanted(changes, view, trails=trails)
        if not want:
            return view
        for entity in RECORDS:
            for rid, (values, stamps, grid) in store.load_records(entity, want.get(entity, ())).items():
                view.put(entity, rid, values, stamps)
                view.records[entity][rid].grid = grid
        view.visits.update(store.visit_households(want.get("visit", ())))
        view.events.update(store.known_flag_events(want.get("flag_event", ())))
        if want.get("trail"):
            events = store.flag_events(want["trail"])
            states = store.flag_states_of(want["trail"])
            for fid in want["trail"]:
                flag = view.records["flag"].get(fid)
                if flag is not None:
                    state, level = states.get(fid, ("reported", None))
                    view.trails[fid] = Trail.of(flag.values.get("level"), level,
                                                [(e["action"], e.get("level"), e.get("department_id"))
                                                 for e in events[fid]], state)
        for kind, ids in want.items():
            view.looked(kind, ids)


def write(store, view, out):
    """Store what the engine decided: records, moved households, visits, flag events, states."""
    for entity in RECORDS:
        store.put_records(entity, [(rid, rec.values, rec.stamps, rec.grid) for rid, rec in out.dirty(view, entity)])
    for hid, grid in out.regridded:
        store.regrid_household(hid, grid)
    store.add_visits([(lg.change["entity_id"], lg.fields["household_id"], lg.grid, lg.fields["visited_at"],
                       lg.change["stamp"], lg.fields) for lg in out.visits])
    store.add_flag_events([(lg.change["entity_id"], lg.fields["flag_id"], lg.grid, lg.change["stamp"], lg.fields)
                           for lg in out.events])
    if out.refold:
        refold(store, out.refold, {fid: rec for fid, rec in view.records["flag"].items()})


def refold(store, flag_ids, flags=None):
    """Recompute the state, level and colour of ``flag_ids`` from their event logs. ``flags``:
    the flags' records as the view holds them (read from the store otherwise)."""
    flag_ids = list(flag_ids)
    if flags is None:
        flags = {fid: _Held(*rec) for fid, rec in store.load_records("flag", flag_ids).items()}
    events = store.flag_events(flag_ids)
    rows = []
    for fid in flag_ids:
        rec = flags.get(fid)
        if rec is None or not rec.values.get("colour"):
            continue        # events for a flag this device does not hold (yet)
        rows.append((fid, fold_flag(rec.values["colour"], rec.values.get("level"), events[fid])))
    store.put_flag_states(rows)


class _Held:
    def __init__(self, values, stamps, grid):
        self.values, self.stamps, self.grid = values, stamps, grid
