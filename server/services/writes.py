"""Writes made through the REST API go through the same merge path as device pushes: they
become changes stamped by the server's clock, so devices pull them like any other change."""
import uuid

from flask import current_app
from sqlalchemy import select

from sync.entities import ENTITIES

from ..errors import ApiError
from ..extensions import db
from .ingest import apply_changes
from .records import MODELS

_STATUS = {"out_of_scope": 404}


def write(entity, entity_id, fields, *, worker, device_id, scope):
    """Apply one change; raise ApiError with the rejection's reason if it is refused."""
    base = None
    clock = current_app.extensions["hlc"]
    if ENTITIES[entity].kind == "record":
        model = MODELS[entity]
        stamps = db.session.execute(select(model.stamps).where(model.id == entity_id)).scalar_one_or_none() or {}
        # The person editing online is looking at the current values: they overwrite them, so
        # the edit must order after them even if this process's clock started behind a device.
        base = {name: stamps.get(name) for name in fields}
        for seen in stamps.values():
            clock.observe(seen)
    change = {"index": 0, "change_id": str(uuid.uuid4()), "entity": entity, "entity_id": str(entity_id),
              "stamp": clock.now(), "fields_": fields, "base": base}
    results = [{"index": 0, "change_id": change["change_id"]}]
    apply_changes([change], results, worker_id=worker.id, device_id=device_id or "web", scope=scope,
                  device_stamped=False)
    result = results[0]
    if result["status"] == "rejected":
        db.session.rollback()
        reason = result["reason"]
        errors = {reason["field"]: [reason["message"]]} if reason.get("field") else None
        raise ApiError(_STATUS.get(reason["code"], 422), reason["code"], reason["message"], errors)
    db.session.commit()
    return result
