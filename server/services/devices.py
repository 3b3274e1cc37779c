"""What a device is told about itself and its city: the worker and the grids it holds, the city's
casework configuration, and a short version of each, so a sync sends them only when they
changed (one request when nothing did)."""
import hashlib

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..jsonfast import dumps
from ..models import Area
from ..scope import DEVICE_ROLES


def _device_grids(worker, scope):
    return sorted(scope.grid_ids, key=str) if worker.role in DEVICE_ROLES else []


def worker_view(worker, scope):
    grid_ids = _device_grids(worker, scope)
    return {"id": worker.id, "username": worker.username, "display_name": worker.display_name,
            "role": worker.role, "area_id": worker.area_id,
            # the grids a device of this worker holds (what a pull returns)
            "grid_ids": grid_ids,
            # …and what a worker calls them
            "grids": _named(grid_ids)}


def _named(grid_ids):
    if not grid_ids:
        return []
    rows = db.session.execute(select(Area.id, Area.code, Area.name).where(Area.id.in_(grid_ids))).all()
    return [{"id": str(i), "code": code, "name": name} for i, code, name in sorted(rows, key=lambda r: r.code)]


def city_config():
    """Everything a device needs to run the six checks and the rules offline."""
    return {"checklists": current_app.extensions["checklists"].as_dict(),
            "rules": current_app.extensions["rules"].rules,
            "deadline_hours": current_app.config["DEADLINE_HOURS"],
            "revisit_days": current_app.config["REVISIT_DAYS"]}


def versions(worker, scope):
    """``{grids, config}``: the versions a device compares with what it holds, without building
    what they fingerprint (the configuration's is kept: it only changes with the process)."""
    config = current_app.extensions.get("config_version")
    if config is None:
        config = current_app.extensions["config_version"] = version(city_config())
    return {"grids": version(_device_grids(worker, scope)), "config": config}


def version(value):
    """A short, stable fingerprint of a JSON-able value (an ETag for the device's copy)."""
    return hashlib.sha256(dumps(value).encode()).hexdigest()[:16]
