"""Areas and accounts: the city's hierarchy and the people who work in it."""
import uuid

from flask import current_app
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from sync.errors import InvalidInput

from ..extensions import db
from ..models import ROLES, Area, Worker, WorkerGrid
from ..models.areas import LEVELS


def create_area(code, name, level, parent=None):
    if level not in LEVELS:
        raise InvalidInput(f"level must be one of {', '.join(LEVELS)}", field="level")
    if parent is None and level != "city":
        raise InvalidInput(f"area {code}: only a city has no parent", field="parent")
    if parent is not None and LEVELS.index(level) != LEVELS.index(parent.level) + 1:
        raise InvalidInput(f"area {code}: a {level} cannot sit under a {parent.level}", field="parent")
    area = Area(id=uuid.uuid4(), code=code, name=name, level=level, parent_id=parent.id if parent else None,
                path=(parent.path if parent else "/") + code + "/")
    db.session.add(area)
    return area


def create_worker(username, password, role, display_name=None, area=None, grids=()):
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
    if db.session.execute(select(Worker).where(Worker.username == username)).scalar_one_or_none():
        raise InvalidInput(f"a worker named {username!r} exists already", field="username")
    worker = Worker(id=uuid.uuid4(), username=username, display_name=display_name or username, role=role,
                    area_id=area.id if area else None, password_hash=generate_password_hash(
                        password, method=current_app.config["PASSWORD_HASH_METHOD"]))
    db.session.add(worker)
    for grid in grids:
        if grid.level != "grid":
            raise InvalidInput(f"{grid.code} is a {grid.level}, not a grid", field="grids")
        db.session.add(WorkerGrid(worker_id=worker.id, grid_id=grid.id))
    return worker
