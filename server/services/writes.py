"""Writes made through the REST API go through the same engine as device pushes: they become
changes stamped by the server's clock, so devices pull them like any other change."""
from flask import current_app
from sqlalchemy import select

from sync.entities import ENTITIES
from sync.errors import SyncError

from ..extensions import db
from ..scope import ScopePolicy
from .records import MODELS
from .server_changes import apply_as_server, server_change


def write(entity, entity_id, fields, *, worker, device_id, scope):
    """Apply one change and commit; a refusal is raised as the domain error that refused it
    (server/errors.py gives it its HTTP status) and nothing is written."""
    base = None
    if ENTITIES[entity].kind == "record":
        model = MODELS[entity]
        stamps = db.session.execute(select(model.stamps).where(model.id == entity_id)).scalar_one_or_none() or {}
        # The person editing online is looking at the current values: they overwrite them, so
        # the edit must order after them even if this process's clock started behind a device.
        base = {name: stamps.get(name) for name in fields}
        clock = current_app.extensions["hlc"]
        for seen in stamps.values():
            clock.observe(seen)
    change = server_change(entity, entity_id, fields, base=base)
    try:
        out = apply_as_server([change], device_id=device_id or "web", worker_id=worker.id,
                              policy=ScopePolicy(scope, online=True))
    except SyncError:
        db.session.rollback()
        raise
    db.session.commit()
    return out.results[0]
