"""Areas and accounts: the city's hierarchy and the people who work in it."""
import uuid

from flask import current_app
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from sync.errors import InvalidInput

from ..extensions import db
from ..models import DEPARTMENT_LEVELS, ROLES, Area, Department, Worker, WorkerGrid
from ..models.areas import LEVELS


def create_area(code, name, level, parent=None):
    if level not in LEVELS:
        raise InvalidInput(f"level must be one of {', '.join(LEVELS)}", field="level", code="bad_area_level",
                           params={"levels": ", ".join(LEVELS)})
    if parent is None and level != "city":
        raise InvalidInput(f"area {code}: only a city has no parent", field="parent", code="area_needs_parent",
                           params={"code": code})
    if parent is not None and LEVELS.index(level) != LEVELS.index(parent.level) + 1:
        raise InvalidInput(f"area {code}: a {level} cannot sit under a {parent.level}", field="parent",
                           code="area_under", params={"code": code, "level": level, "parent": parent.level})
    area = Area(id=uuid.uuid4(), code=code, name=name, level=level, parent_id=parent.id if parent else None,
                path=(parent.path if parent else "/") + code + "/")
    db.session.add(area)
    return area


def create_worker(username, password, role, display_name=None, area=None, grids=(), department=None,
                  work_phone=None):
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role", code="bad_role",
                           params={"roles": ", ".join(ROLES)})
    if (role == "department") != (department is not None):
        raise InvalidInput("a department's staff (role department) and only they name their department",
                           field="department", code="department_staff")
    if db.session.execute(select(Worker).where(Worker.username == username)).scalar_one_or_none():
        raise InvalidInput(f"a worker named {username!r} exists already", field="username", code="worker_exists",
                           params={"user": username})
    worker = Worker(id=uuid.uuid4(), username=username, display_name=display_name or username, role=role,
                    area_id=area.id if area else None, department_id=department.id if department else None,
                    work_phone=work_phone, password_hash=generate_password_hash(
                        password, method=current_app.config["PASSWORD_HASH_METHOD"]))
    db.session.add(worker)
    for grid in grids:
        if grid.level != "grid":
            raise InvalidInput(f"{grid.code} is a {grid.level}, not a grid", field="grids", code="not_a_grid",
                               params={"code": grid.code, "level": grid.level})
        db.session.add(WorkerGrid(worker_id=worker.id, grid_id=grid.id))
    return worker


def create_department(code, name, level, area=None, report_hours=24, answer_hours=72):
    """One of the city's departments that cases may summon (街乡吹哨、部门报到), at a district
    (区级部门) or a street (街道站所), serving that area (``area``; None: the whole city)."""
    if level not in DEPARTMENT_LEVELS:
        raise InvalidInput(f"a department's level must be one of {', '.join(DEPARTMENT_LEVELS)}", field="level",
                           code="bad_department_level", params={"levels": ", ".join(DEPARTMENT_LEVELS)})
    if area is not None and area.level != level:
        raise InvalidInput(f"department {code}: a {level} department serves a {level}, not a {area.level}",
                           field="area", code="department_area", params={"code": code, "level": level,
                                                                         "is": area.level})
    for name_, hours in (("report_hours", report_hours), ("answer_hours", answer_hours)):
        if not isinstance(hours, int) or not 1 <= hours <= 24 * 90:
            raise InvalidInput(f"{name_} must be whole hours from 1 to {24 * 90}", field=name_, code="bad_hours",
                               params={"max": 24 * 90})
    if db.session.execute(select(Department).where(Department.code == code)).scalar_one_or_none():
        raise InvalidInput(f"a department with code {code!r} exists already", field="code",
                           code="department_exists", params={"code": code})
    dept = Department(id=uuid.uuid4(), code=code, name=name, level=level, area_id=area.id if area else None,
                      report_hours=report_hours, answer_hours=answer_hours, active=True)
    db.session.add(dept)
    return dept
