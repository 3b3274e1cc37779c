"""Duplicates made offline: the same person or household entered on two devices.

``link_pending`` reads the change log after its cursor and, for each household and person that
changed, looks for the same one in the city-wide register: candidates share a blocking key
(stored only as HMACs, since the keys hold pieces of ID and phone numbers), and the matcher of
``sync/identity`` decides. A sure duplicate ("same") is merged into one survivor; a likely one
("maybe") goes to the review queue. A merge is a handful of ordinary server changes — the
survivor's empty fields filled in, the duplicate marked ``deleted`` and ``merged_into`` the
survivor, a household's members moved to the surviving household — so every device holding
either copy pulls it like any other change; and a merge record keeps who, when, why and what
changed, so a reviewer can undo it. A pair that was rejected or undone is never merged again.
"""
import time
import uuid

from sqlalchemy import delete, func, insert, select, update

from sync.identity.keys import blocking_keys, person_features
from sync.identity.linkage import shared_phones
from sync.identity.match import PersonIndex, household_features, match_person
from sync.identity.score import NameFrequency

from ..extensions import db
from ..models import (ChangeLog, GridClock, Household, LinkCursor, LinkState, MatchKey, MatchReview, MergeRecord,
                      Person)
from ..models.types import utcnow
from sync.errors import SyncError

from . import changelog
from .records import MODELS, row_values, vault
from .server_changes import apply_as_server, server_change

PERSON_FILL = ("gender", "birth_date", "id_number", "phone", "relation", "note")
HOUSEHOLD_FILL = ("building", "unit", "room", "head_name", "phone", "note")


class MergeError(Exception):
    pass


def _blind(key):
    return vault().blind_key(key)


def _person_record(row, address=None):
    values = row_values("person", row)
    values["id"] = str(row.id)
    if address:
        values["address"] = address
    return values


def _household_record(row):
    values = row_values("household", row)
    values["id"] = str(row.id)
    return values


#: what the server must see to merge two persons on its own: the same ID number or phone, or the
#: same door. A name and a birthday alone (two 李娜 born the same day) go to review instead.
_SURE = frozenset({"id=exact", "phone=exact", "address=exact", "address=close"})


def _sure(reasons):
    return bool(_SURE.intersection(reasons))


def _live(row):
    return row is not None and not row.deleted and row.merged_into is None


def _set_keys(entity, record_id, keys):
    db.session.execute(delete(MatchKey).where(MatchKey.record_id == record_id))
    for key in sorted(set(keys)):
        db.session.add(MatchKey(key=key, record_id=record_id, entity=entity))


def _candidates(entity, record_id, keys):
    if not keys:
        return set()
    return set(db.session.execute(select(MatchKey.record_id).where(
        MatchKey.key.in_(keys), MatchKey.entity == entity, MatchKey.record_id != record_id)).scalars())


def _server_changes(pairs):
    """Apply server-made changes ``[(entity, id, fields)]``; return their stamps, in order.

    Each names as its base the stamps it replaces: a merge (or its undo) is a decision made on
    the current values, not a collision, so it leaves no conflict records behind."""
    changes = []
    for entity, rid, fields in pairs:
        stamps = db.session.get(MODELS[entity], rid).stamps or {}
        changes.append(server_change(entity, rid, fields, base={f: stamps.get(f) for f in fields}))
    try:
        apply_as_server(changes)
    except SyncError as exc:
        raise MergeError(f"merge refused: {exc.message}") from None
    return [c["stamp"] for c in changes]


def _review(entity, a, b, grids, score, reasons):
    """The review row of a pair (``grids``: each record's grid), made if there is none."""
    a, b = sorted((a, b), key=str)
    found = db.session.execute(select(MatchReview).where(
        MatchReview.entity == entity, MatchReview.a_id == a, MatchReview.b_id == b)).scalar_one_or_none()
    if found is None:
        found = MatchReview(id=uuid.uuid4(), entity=entity, a_id=a, b_id=b, grid_id=grids[a],
                            other_grid_id=grids[b], score=score, reasons=list(reasons), status="open",
                            created_at=utcnow())
        db.session.add(found)
    return found


def _refused(entity, a, b):
    """A pair someone rejected (or whose merge was undone) is never merged or proposed again."""
    a, b = sorted((a, b), key=str)
    return db.session.execute(select(MatchReview.id).where(
        MatchReview.entity == entity, MatchReview.a_id == a, MatchReview.b_id == b,
        MatchReview.status == "rejected")).first() is not None


# --- finding ------------------------------------------------------------------------------
#: records looked at per transaction: keys computed before it, written in two statements, and
#: only records that share a key with another compared one by one
CHUNK = 200
#: on SQLite (one writer for the whole database) a transaction of the linker holds the write
#: lock for at most about this long before it commits and lets requests in
LOCK_BUDGET_S = 0.25


def link_pending(limit=2000, max_seconds=10.0):
    """Look at what changed since the last run, a page at a time until caught up or out of
    time (a first run over a whole register takes several); returns the counts."""
    started = time.monotonic()
    total = {"merged": 0, "queued": 0, "looked_at": 0}
    while True:
        stats = _link_page(limit)
        for key in total:
            total[key] += stats[key]
        if stats["looked_at"] < limit or time.monotonic() - started > max_seconds:
            return total


def _link_page(limit):
    short = not changelog.is_postgres()
    if not short:
        # the row lock makes two schedulers on one PostgreSQL take turns, not race
        db.session.execute(update(LinkState).where(LinkState.id == 1).values(last_seq=LinkState.last_seq))
    # Each grid after where the linker last stopped in it, up to what its clock says committed
    # (server/services/changelog.py): a change committed late is never passed over.
    clocks = dict(db.session.execute(select(GridClock.grid_id, GridClock.gseq)).all())
    read = dict(db.session.execute(select(LinkCursor.grid_id, LinkCursor.gseq)).all())
    behind = {g: read.get(g, 0) for g, head in clocks.items() if head > read.get(g, 0)}
    rows = db.session.execute(
        select(ChangeLog.seq, ChangeLog.grid_id, ChangeLog.gseq, ChangeLog.entity, ChangeLog.entity_id)
        .where(changelog.newer(behind, clocks), ChangeLog.entity.in_(("household", "person")))
        .order_by(ChangeLog.seq).limit(limit)).all() if behind else []
    stats = {"merged": 0, "queued": 0, "looked_at": len(rows)}
    if len(rows) < limit:
        reached = {g: clocks[g] for g in behind}                      # every grid read to its head
    else:
        reached = dict(behind)
        for row in rows:
            reached[row.grid_id] = max(reached[row.grid_id], row.gseq)
    if rows:
        households = list(dict.fromkeys(r.entity_id for r in rows if r.entity == "household"))
        persons = list(dict.fromkeys(r.entity_id for r in rows if r.entity == "person"))
        # On SQLite each chunk is its own short transaction, so requests never wait long for
        # the write lock; a page cut short by a crash is looked at again (linking is idempotent:
        # keys are replaced, merged records are no longer live, review rows are found again).
        for entity, ids, one in (("household", households, _link_household), ("person", persons, _link_person)):
            for i in range(0, len(ids), CHUNK):
                _link_chunk(entity, ids[i:i + CHUNK], one, stats, short)
        db.session.execute(update(LinkState).where(LinkState.id == 1).values(last_seq=rows[-1].seq))
    _move_cursor(reached)
    db.session.commit()
    return stats


def _link_chunk(entity, ids, one, stats, short):
    """Set the keys of ``ids`` in bulk; compare one by one only those sharing a key.

    As if each were looked at in turn (log order): a record is compared with those before it,
    never with one after it in the same chunk, which is compared with it in its own turn (the
    same family entered four times is merged into the first, not held up as four look-alikes)."""
    keys = _keys_of(entity, ids)                     # reads and hashing: before any write
    started = time.monotonic()
    db.session.execute(delete(MatchKey).where(MatchKey.record_id.in_(ids)))
    wanted = sorted({k for ks in keys.values() for k in ks})
    held = set()
    for i in range(0, len(wanted), 900):
        held.update(db.session.execute(select(MatchKey.key).where(
            MatchKey.entity == entity, MatchKey.key.in_(wanted[i:i + 900]))).scalars())
    pending = []
    for rid in ids:
        ks = keys.get(rid)
        if ks is None:
            continue                                 # no longer live: its keys are gone
        if held.isdisjoint(ks):
            pending.extend({"key": k, "record_id": rid, "entity": entity} for k in sorted(set(ks)))
        else:
            if pending:
                db.session.execute(insert(MatchKey.__table__), pending)
                pending = []
            one(rid, stats)
            if short and time.monotonic() - started > LOCK_BUDGET_S:
                db.session.commit()
                started = time.monotonic()
        held.update(ks)
    if pending:
        db.session.execute(insert(MatchKey.__table__), pending)
    if short:
        db.session.commit()


def _keys_of(entity, ids):
    """``{id: [blinded keys]}`` for the live ones of ``ids`` (the others lose their keys)."""
    out = {}
    if entity == "person":
        found = db.session.execute(select(Person, Household.address).join(
            Household, Household.id == Person.household_id, isouter=True).where(Person.id.in_(ids))).all()
        for row, address in found:
            if _live(row):
                out[row.id] = [_blind(k) for k in blocking_keys(person_features(_person_record(row, address))) if k]
    else:
        for row in db.session.execute(select(Household).where(Household.id.in_(ids))).scalars():
            if _live(row):
                out[row.id] = [_blind(k) for k in household_features(_household_record(row))["door_keys"]]
    return out


def _move_cursor(reached):
    for grid, pos in reached.items():
        if db.session.execute(update(LinkCursor).where(LinkCursor.grid_id == grid).values(gseq=pos)).rowcount == 0:
            db.session.add(LinkCursor(grid_id=grid, gseq=pos))


def _link_person(pid, stats):
    row = db.session.get(Person, pid)
    if not _live(row):
        db.session.execute(delete(MatchKey).where(MatchKey.record_id == pid))
        return
    home = db.session.get(Household, row.household_id)
    record = _person_record(row, home.address if home else None)
    keys = [_blind(k) for k in blocking_keys(person_features(record)) if k]
    _set_keys("person", pid, keys)
    others = [p for p in db.session.execute(select(Person).where(Person.id.in_(_candidates("person", pid, keys))))
              .scalars() if _live(p) and not _refused("person", pid, p.id)]
    if not others:
        return
    homes = {h.id: h for h in db.session.execute(select(Household).where(
        Household.id.in_({p.household_id for p in others}))).scalars()}
    grids = {pid: home.grid_id, **{p.id: homes[p.household_id].grid_id for p in others}}
    records = [_person_record(p, homes[p.household_id].address) for p in others]
    decision = match_person(record, records, names=_register(record, records, stats))
    best = decision.best
    if best is None:
        return
    other = uuid.UUID(best.id)
    # The server merges on its own only within a grid, and only on strong evidence. Across
    # grids a merge would delete a record its own grid's staff never decided about: a person
    # staff of both grids review instead (a street or district sees both).
    if decision.kind == "same" and _sure(best.reasons) and grids[other] == home.grid_id:
        merge_persons(pid, other, best.score, best.reasons)
        stats["merged"] += 1
    else:
        for cand in decision.candidates[:3]:
            review = _review("person", pid, uuid.UUID(cand.id), grids, cand.score, cand.reasons)
            stats["queued"] += review.status == "open"


def _register(record, records, stats):
    """What the batch linker knows of its register, for one comparison: the register's size
    (``size_bits``: a city-wide register asks more of a pair than a grid's few thousand), and
    the phones the candidates show on several persons (a household's phone, see
    ``linkage.shared_phones``). Name counts are not kept: names weigh the default."""
    if "register_size" not in stats:              # once per page: a count of the live persons
        stats["register_size"] = db.session.execute(select(func.count()).select_from(Person).where(
            Person.deleted.is_(False), Person.merged_into.is_(None))).scalar_one()
    feats = [person_features(r) for r in (record, *records)]
    return NameFrequency(register_size=stats["register_size"], shared_phones=shared_phones(feats))


def _link_household(hid, stats):
    row = db.session.get(Household, hid)
    if not _live(row):
        db.session.execute(delete(MatchKey).where(MatchKey.record_id == hid))
        return
    record = _household_record(row)
    keys = [_blind(k) for k in household_features(record)["door_keys"]]
    _set_keys("household", hid, keys)
    others = [h for h in db.session.execute(select(Household).where(
        Household.id.in_(_candidates("household", hid, keys)))).scalars()
        if _live(h) and not _refused("household", hid, h.id)]
    if not others:
        return
    members = lambda ids: [_person_record(p) for p in db.session.execute(  # noqa: E731
        select(Person).where(Person.household_id.in_(ids))).scalars() if _live(p)]
    index = PersonIndex(persons=members([h.id for h in others]), households=[_household_record(h) for h in others])
    decision = index.lookup_household(record, members([hid]))
    best = decision.best
    if best is None:
        return
    if decision.kind == "same":
        merge_households(hid, uuid.UUID(best.id), best.score, best.reasons)
        stats["merged"] += 1
    else:
        for cand in decision.candidates[:3]:
            review = _review("household", hid, uuid.UUID(cand.id), {hid: row.grid_id, uuid.UUID(cand.id): row.grid_id},
                             cand.score, cand.reasons)
            stats["queued"] += review.status == "open"


# --- merging ------------------------------------------------------------------------------
def _order(model, a, b):
    """(survivor, duplicate): the one entered first survives."""
    ra, rb = db.session.get(model, a), db.session.get(model, b)
    if not (_live(ra) and _live(rb)):
        raise MergeError("one of the two has been deleted or merged already")
    return (ra, rb) if (ra.created_at, str(ra.id)) <= (rb.created_at, str(rb.id)) else (rb, ra)


def merge_persons(a, b, score, reasons, decided_by=None):
    survivor, duplicate = _order(Person, a, b)
    kept, gone = row_values("person", survivor), row_values("person", duplicate)
    fill = {f: gone[f] for f in PERSON_FILL if not kept.get(f) and gone.get(f)}
    plan = ([("person", survivor.id, fill)] if fill else []) + [
        ("person", duplicate.id, {"deleted": True, "merged_into": str(survivor.id)})]
    stamps = _server_changes(plan)
    grids = (db.session.get(Household, survivor.household_id).grid_id,
             db.session.get(Household, duplicate.household_id).grid_id)
    return _record("person", survivor, duplicate, grids, score, reasons, decided_by,
                   {"filled": {f: stamps[0] for f in fill}, "moved": {}})


def merge_households(a, b, score, reasons, decided_by=None):
    survivor, duplicate = _order(Household, a, b)
    kept, gone = row_values("household", survivor), row_values("household", duplicate)
    fill = {f: gone[f] for f in HOUSEHOLD_FILL if not kept.get(f) and gone.get(f)}
    members = [p.id for p in db.session.execute(select(Person).where(Person.household_id == duplicate.id)).scalars()
               if _live(p)]
    plan = ([("household", survivor.id, fill)] if fill else []) + \
        [("person", pid, {"household_id": str(survivor.id)}) for pid in members] + \
        [("household", duplicate.id, {"deleted": True, "merged_into": str(survivor.id)})]
    stamps = _server_changes(plan)
    offset = 1 if fill else 0
    moved = {str(pid): stamps[offset + i] for i, pid in enumerate(members)}
    return _record("household", survivor, duplicate, (survivor.grid_id, duplicate.grid_id), score, reasons,
                   decided_by,
                   {"filled": {f: stamps[0] for f in fill}, "moved": moved})


def _record(entity, survivor, duplicate, grids, score, reasons, decided_by, changes):
    merge = MergeRecord(id=uuid.uuid4(), entity=entity, survivor_id=survivor.id, merged_id=duplicate.id,
                        grid_id=grids[0], other_grid_id=grids[1], score=score, reasons=list(reasons),
                        decided_by=decided_by, changes=changes, created_at=utcnow())
    db.session.add(merge)
    a, b = sorted((survivor.id, duplicate.id), key=str)
    db.session.execute(update(MatchReview).where(
        MatchReview.entity == entity, MatchReview.a_id == a, MatchReview.b_id == b).values(
        status="merged", decided_by=decided_by, decided_at=utcnow()))
    db.session.execute(delete(MatchKey).where(MatchKey.record_id == duplicate.id))
    return merge


def undo_merge(merge, worker_id):
    """Put both back as they were, keeping every edit made since; the pair is not merged again."""
    if merge.undone_at is not None:
        raise MergeError("this merge was undone already")
    model = Person if merge.entity == "person" else Household
    survivor = db.session.get(model, merge.survivor_id)
    plan = []
    # a filled field goes back to empty only if nobody has changed it since the merge
    unfill = {f: None for f, st in merge.changes.get("filled", {}).items() if survivor.stamps.get(f) == st}
    if unfill:
        plan.append((merge.entity, merge.survivor_id, unfill))
    for pid, st in merge.changes.get("moved", {}).items():
        person = db.session.get(Person, uuid.UUID(pid))
        if person is not None and person.stamps.get("household_id") == st:
            plan.append(("person", person.id, {"household_id": str(merge.merged_id)}))
    restore = {"deleted": False, "merged_into": None}
    if merge.entity == "person":
        # if the person's household was merged meanwhile, they come back in the surviving one
        gone = db.session.get(Person, merge.merged_id)
        home = db.session.get(Household, gone.household_id)
        while home is not None and home.merged_into is not None:
            home = db.session.get(Household, home.merged_into)
        if home is not None and home.id != gone.household_id:
            restore["household_id"] = str(home.id)
    plan.insert(0, (merge.entity, merge.merged_id, restore))
    _server_changes(plan)
    merge.undone_at, merge.undone_by = utcnow(), worker_id
    review = _review(merge.entity, merge.survivor_id, merge.merged_id,
                     {merge.survivor_id: merge.grid_id, merge.merged_id: merge.other_grid_id}, merge.score,
                     merge.reasons)
    review.status, review.decided_by, review.decided_at = "rejected", worker_id, utcnow()
    return merge
