"""The server's own changes (merges and their undo, escalations, online edits, demo data): made by
one helper, stamped by the server's clock, and applied through the same engine as a device's
push, so devices pull them like any other change."""
from flask import current_app

from sync.changes import make_change
from sync.replica import SYSTEM

from . import ingest


def server_change(entity, entity_id, fields, *, base=None, change_id=None):
    """A change stamped now by this process's hybrid clock."""
    return make_change(entity, entity_id, fields, current_app.extensions["hlc"].now(), base=base,
                       change_id=change_id)


def apply_as_server(changes, *, device_id="server", worker_id=None, now=None, policy=SYSTEM):
    """Apply server-made changes in the caller's transaction; the first refusal is raised (a
    server change that the rules refuse is a bug in its maker, never a device's problem).
    Returns the engine's ``Outcome``."""
    out = ingest.apply(changes, policy, worker_id=worker_id, device_id=device_id, now=now)
    if out.errors:
        raise out.errors[min(out.errors)]
    return out
