"""A family moves to another grid.

Devices pull by grid, so a move is more than a changed ``grid_id``: the new grid's tablets must
receive the household's whole history, and the old grid's tablets must let it go. In one
transaction, holding both grids:

- the household, its flags and visits (and its open conflicts) are put in the new grid;
- every change the log holds for the household, its persons, flags, visits and flag events is
  logged again in the new grid, in its original order and with its original stamps (so a
  tablet merges it exactly as the first time, and one that already has it changes nothing),
  with the household's ``grid_id`` given as the new grid;
- the move itself, a server change of the household's ``grid_id`` stamped now, is logged in
  both grids: the old grid's tablets regrid the household out of their grids and prune it
  after their pull (client_sdk/syncer.py), the new grid's see where it lives now.

Who may move it: whoever may write both grids (a worker holding both, the community's staff).
"""
import uuid

from flask import current_app
from sqlalchemy import select, update

from sync.errors import Conflicting, InvalidInput, NotFound, OutOfScope

from ..extensions import db
from ..jsonfast import dumps, loads
from ..models import Area, ChangeLog, Conflict, Flag, FlagEvent, Household, Person, Visit
from . import ingest
from .server_changes import server_change


def move_household(household_id, grid_id, *, scope, worker_id, now):
    """Move the household to ``grid_id``; returns the number of changes sent to the new grid.
    The caller commits."""
    hh = db.session.get(Household, household_id)
    if hh is None or hh.grid_id not in scope.grid_ids:
        raise NotFound("no such household in your area", field="household_id")
    old = hh.grid_id
    try:
        scope.check_write(old, "household")
        scope.check_write(grid_id, "household")
    except OutOfScope:
        # the new grid: a grid the caller may not write answers like one that does not exist
        raise NotFound("no such grid among the grids you may write", field="grid_id") from None
    area = db.session.get(Area, grid_id)
    if area is None or area.level != "grid":
        raise NotFound("no such grid among the grids you may write", field="grid_id")
    if grid_id == old:
        raise InvalidInput("the household is in that grid already", field="grid_id", code="same_grid")
    ingest.lock_grids({old, grid_id})
    db.session.refresh(hh)
    if hh.grid_id != old:
        raise Conflicting("the household was moved meanwhile; reload it", code="stale_state")
    if hh.merged_into is not None or hh.deleted:
        raise Conflicting("a merged-away or deleted household does not move; move the record it lives on in",
                          code="not_movable")

    person_ids = list(db.session.execute(select(Person.id).where(Person.household_id == household_id)).scalars())
    flag_ids = list(db.session.execute(select(Flag.id).where(Flag.household_id == household_id)).scalars())
    visit_ids = list(db.session.execute(select(Visit.id).where(Visit.household_id == household_id)).scalars())
    event_ids = list(db.session.execute(select(FlagEvent.id).where(FlagEvent.flag_id.in_(flag_ids))).scalars()) \
        if flag_ids else []

    # the move saw the grid it replaces: it names that value's stamp as its base (protocol.md §6.4)
    move = server_change("household", str(household_id), {"grid_id": str(grid_id)},
                         base={"grid_id": (hh.stamps or {}).get("grid_id")})
    hh.grid_id = grid_id
    hh.stamps = dict(hh.stamps or {}, grid_id=move["stamp"])
    hh.updated_at = now
    for model, column in ((Visit, Visit.household_id), (Flag, Flag.household_id)):
        db.session.execute(update(model).where(column == household_id).values(grid_id=grid_id),
                           execution_options={"synchronize_session": False})
    ids = [household_id, *person_ids, *flag_ids, *visit_ids, *event_ids]
    db.session.execute(update(Conflict).where(Conflict.entity_id.in_(ids), Conflict.grid_id == old)
                       .values(grid_id=grid_id), execution_options={"synchronize_session": False})

    rows = []
    seen = set()
    for row in db.session.execute(select(ChangeLog).where(ChangeLog.entity_id.in_(ids))
                                  .order_by(ChangeLog.seq)).scalars():
        if (row.entity_id, row.stamp) in seen:
            continue          # logged in two grids by an earlier move: once is enough
        seen.add((row.entity_id, row.stamp))
        payload = row.payload
        if row.entity == "household":
            body = loads(payload)
            if "grid_id" in body["fields"]:
                body["fields"]["grid_id"] = str(grid_id)
                payload = dumps(body)
        # logged as the server's: every tablet of the new grid gets it, even the one that first
        # pushed it (a tablet that holds it already merges it to no change)
        rows.append({"change_id": uuid.uuid4(), "entity": row.entity, "entity_id": row.entity_id,
                     "grid_id": grid_id, "device_id": "server", "worker_id": row.worker_id,
                     "stamp": row.stamp, "payload": payload, "pii": row.pii, "received_at": now})
    body = dumps({"change_id": move["change_id"], "entity": "household", "entity_id": str(household_id),
                  "stamp": move["stamp"], "fields": move["fields"], "base": move["base"], "device_id": "server",
                  "worker_id": str(worker_id) if worker_id else None})
    for grid, change_id in ((old, uuid.UUID(move["change_id"])), (grid_id, uuid.uuid4())):
        rows.append({"change_id": change_id, "entity": "household", "entity_id": household_id, "grid_id": grid,
                     "device_id": "server", "worker_id": None, "stamp": move["stamp"], "payload": body,
                     "pii": None, "received_at": now})
    ingest.insert_log(rows)
    current_app.logger.info("household %s moved from grid %s to %s (%d changes re-sent)",
                            household_id, old, grid_id, len(rows) - 1)
    return len(rows) - 1
