"""Keeping the device's replica equal to the server's when the server refuses a change.

A record the device has changed keeps, beside it in the store, a copy of the record as the
server has it (as far as the device has heard): pulled changes and accepted pushes go into both.
When the server refuses a change, it is set aside with its reason for the worker to see, and so
are the unsent changes that hang on it (the members of a household the server never accepted,
the events of a refused flag); the records they touched are rebuilt from the server's copy plus
the changes still unsent (a rebase), and refused visits and flag events are taken out. The
device then holds what the server will hold once it has the rest (docs/protocol.md §6.6).
"""
from sync.replica import RECORDS, REFERENCES, View, replay

from .apply import refold

#: push results after which a change is in the server's log
DONE = frozenset({"applied", "already_applied", "merged_with_conflict"})


def keep_server_copy(store, entity, rid, rec):
    """Before the first unsent change to a record: the record as it stands is the server's (a
    record with nothing unsent holds only what the server sent or accepted). ``rec``: the
    record as loaded (``values``, ``stamps``), or None for a new one."""
    if entity not in RECORDS or store.shadows(entity, [rid]):
        return
    if rec is None:
        store.put_shadows(entity, [(rid, False, {}, {})])
    else:
        store.put_shadows(entity, [(rid, True, dict(rec.values), dict(rec.stamps))])


def confirm(store, changes):
    """Changes the server holds (pulled, or accepted from this device): into the server copies
    of the records that have one."""
    for entity in RECORDS:
        mine = [c for c in changes if c["entity"] == entity]
        if not mine:
            continue
        copies = store.shadows(entity, {c["entity_id"] for c in mine})
        if not copies:
            continue
        view = View()
        for rid, (present, values, stamps) in copies.items():
            if present:
                view.put(entity, rid, values, stamps)
        replay([c for c in mine if c["entity_id"] in copies], view)
        store.put_shadows(entity, [(rid, True, rec.values, rec.stamps)
                                   for rid, rec in view.records[entity].items()])


def settle(store, batch, results, at):
    """Take a pushed batch's answers: accepted changes leave the outbox (and go into the server
    copies); refused ones, with their dependants, are set aside and undone. Returns the number
    of changes set aside. The caller owns the transaction."""
    accepted = [c for c, r in zip(batch, results) if r.get("status") in DONE]
    refused = [(c, r.get("reason") or {}) for c, r in zip(batch, results) if r.get("status") == "rejected"]
    confirm(store, accepted)
    store.outbox_done([c["change_id"] for c in accepted])
    set_aside = _undo(store, refused, at) if refused else []
    _forget_copies(store, accepted + set_aside)
    return len(set_aside)


def _server_lacks(store, change):
    """Whether a refused change leaves the server without the thing it made."""
    if change["entity"] not in RECORDS:
        return True                          # a visit or flag event is only ever created
    copy = store.shadows(change["entity"], [change["entity_id"]]).get(change["entity_id"])
    return copy is not None and not copy[0]


def _undo(store, refused, at):
    """Set ``refused`` and their dependants aside; rebuild what they touched. Returns them."""
    root_of = {}                 # id of a thing the server does not have -> the refusal it came from
    aside = []                   # (change, reason, root change id)
    reasons = {}

    def hangs_on(change):
        names = [change["entity_id"]] + [change["fields"].get(k) for k, _ in REFERENCES]
        return next((root_of[n] for n in names if n in root_of), None)

    def take(change, reason):
        root = hangs_on(change)
        if root is None:
            root, reasons[change["change_id"]] = change["change_id"], reason
        else:
            # refused (or not sent) because what it names was refused: one refusal, one group
            first = reasons[root]
            reason = {"code": "depends_on_refused", "field": None,
                      "message": f"it depends on change {root}, which the server refused "
                                 f"({first.get('code')}: {first.get('message', '')})"}
        aside.append((change, reason, root))
        if _server_lacks(store, change):
            root_of.setdefault(change["entity_id"], root)

    for change, reason in refused:              # in the order they were made
        take(change, reason)
    taken = {c["change_id"] for c, _, _ in aside}
    grew = True
    while grew:                 # unsent members of a refused household, events of a refused flag, …
        grew = False
        for change in store.outbox():
            if change["change_id"] not in taken and hangs_on(change) is not None:
                take(change, None)
                taken.add(change["change_id"])
                grew = True
    for change, reason, root in aside:
        store.outbox_reject(change["change_id"], reason, at, group=root)
    _rebuild(store, [c for c, _, _ in aside])
    return [c for c, _, _ in aside]


def _rebuild(store, changes):
    """Records: the server's copy plus what is still unsent; visits and events: taken out."""
    flags = set()
    store.delete_events(visit_ids=[c["entity_id"] for c in changes if c["entity"] == "visit"],
                        event_ids=[c["entity_id"] for c in changes if c["entity"] == "flag_event"])
    flags.update(c["fields"].get("flag_id") for c in changes if c["entity"] == "flag_event")
    for entity in RECORDS:
        ids = {c["entity_id"] for c in changes if c["entity"] == entity}
        if not ids:
            continue
        copies = store.shadows(entity, ids)
        view = View()
        for rid in ids:
            present, values, stamps = copies.get(rid, (True, None, None))
            if values is None:              # no copy kept: the record is as the server sent it
                held = store.load_records(entity, [rid]).get(rid)
                if held:
                    view.put(entity, rid, held[0], held[1])
            elif present:
                view.put(entity, rid, values, stamps)
        replay([c for c in store.outbox_for(ids) if c["entity"] == entity], view)
        kept = view.records[entity]
        store.delete_records(entity, ids - set(kept))
        homes = store.load_records("household", {r.values.get("household_id") for r in kept.values()} - {None})
        store.put_records(entity, [(rid, rec.values, rec.stamps,
                                    rec.values.get("grid_id") if entity == "household"
                                    else (homes.get(rec.values.get("household_id")) or (None, None, None))[2])
                                   for rid, rec in kept.items()])
        if entity == "flag":
            flags.update(ids)
    flags.discard(None)
    if flags:
        refold(store, flags)


def _forget_copies(store, changes):
    """A record with nothing left unsent is again just what the server has: drop its copy."""
    for entity in RECORDS:
        ids = {c["entity_id"] for c in changes if c["entity"] == entity}
        if ids:
            pending = {c["entity_id"] for c in store.outbox_for(ids)}
            store.drop_shadows(entity, ids - pending)
