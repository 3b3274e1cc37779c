"""What a device is told about itself and its city: the worker and the grids it holds, the city's
casework configuration, and a short version of each, so a sync sends them only when they
changed (one request when nothing did)."""
import hashlib

from flask import current_app

from ..jsonfast import dumps
from ..scope import DEVICE_ROLES


def worker_view(worker, scope):
    return {"id": worker.id, "username": worker.username, "display_name": worker.display_name,
            "role": worker.role, "area_id": worker.area_id,
            # the grids a device of this worker holds (what a pull returns)
            "grid_ids": sorted(scope.grid_ids, key=str) if worker.role in DEVICE_ROLES else []}


def city_config():
    """Everything a device needs to run the six checks and the rules offline."""
    return {"checklists": current_app.extensions["checklists"].as_dict(),
            "rules": current_app.extensions["rules"].rules,
            "deadline_hours": current_app.config["DEADLINE_HOURS"],
            "revisit_days": current_app.config["REVISIT_DAYS"]}


def version(value):
    """A short, stable fingerprint of a JSON-able value (an ETag for the device's copy)."""
    return hashlib.sha256(dumps(value).encode()).hexdigest()[:16]
