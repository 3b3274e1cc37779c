"""The scope rule, in one place: which grids a caller may read and write.

- grid worker: the grids assigned to them, read and write;
- community / street / district staff: every grid under their area, read (community staff may
  also write: they register families too);
- bureau reviewer: aggregates city-wide, no personal records;
- admin: accounts and areas, no personal records.
Full ID and phone numbers are shown only to those who collect them at the door.
"""
import functools
import uuid

from sqlalchemy import select

from sync.casework import LEVEL_ROLE
from sync.errors import Forbidden, InvalidChange, OutOfScope
from sync.replica import SYSTEM, Policy

from .errors import ApiError
from .extensions import db
from .models import Area, Department, Summons, Worker, WorkerGrid

#: staff who may open a case of their own area in full on the review pages
CASE_OPENERS = frozenset({"community", "street", "district"})

RECORD_READERS = frozenset({"grid_worker", "community", "street", "district"})
RECORD_WRITERS = frozenset({"grid_worker", "community"})
FULL_PII = frozenset({"grid_worker", "community"})
DEVICE_ROLES = frozenset({"grid_worker", "community"})
AGGREGATE_READERS = frozenset({"community", "street", "district", "bureau", "admin"})


class Scope:
    def __init__(self, worker, grid_ids, area_path):
        self.worker = worker
        self.role = worker.role
        self.grid_ids = grid_ids        # frozenset of grid UUIDs; None: city-wide
        self.area_path = area_path      # for aggregate queries; None: city-wide

    @property
    def sees_full_pii(self):
        return self.role in FULL_PII

    def require_records(self, write=False):
        allowed = RECORD_WRITERS if write else RECORD_READERS
        if self.role not in allowed:
            verb = "change" if write else "read"
            raise ApiError(403, "forbidden", f"the {self.role} role may not {verb} household records")

    def check_flag(self, grid_id):
        """Moving a flag on: the field workers of its grid, the staff of its area, and the
        bureau for flags escalated to it (sync/casework.may_act checks the level)."""
        if self.role == "bureau":
            return
        if self.role not in RECORD_READERS or grid_id not in self.grid_ids:
            raise OutOfScope("the flag is outside your area")

    def check_write(self, grid_id, what="record"):
        self.require_records(write=True)
        if grid_id not in self.grid_ids:
            raise OutOfScope(f"the {what} is outside your grids")


def scope_for(worker):
    if worker.role == "grid_worker":
        grids = db.session.execute(select(WorkerGrid.grid_id).where(WorkerGrid.worker_id == worker.id)).scalars()
        return Scope(worker, frozenset(grids), None)
    if worker.role in ("bureau", "admin"):
        return Scope(worker, frozenset(), None)
    area = db.session.get(Area, worker.area_id) if worker.area_id else None
    if area is None:
        return Scope(worker, frozenset(), "/nowhere/")
    grids = db.session.execute(
        select(Area.id).where(Area.level == "grid", Area.path.startswith(area.path))).scalars()
    return Scope(worker, frozenset(grids), area.path)


_u = functools.lru_cache(maxsize=65536)(uuid.UUID)


class ScopePolicy(Policy):
    """The sync engine's policy (sync/replica.py) for a caller: their role and grids. A device's
    push names the device (its stamps must carry its id) and carries edits of merged-away
    copies over to their survivors, with the caller's own rights. Records outside the caller's
    grids are concealed: they answer as records the server does not have."""

    conceal = True

    def __init__(self, scope, *, device_id=None, online=False):
        self.scope, self.role = scope, scope.role
        self.node = device_id
        self.carry_over = device_id is not None
        self.online = online

    def check_write(self, grid, what):
        self.scope.check_write(_u(grid), what)

    def check_flag(self, grid):
        self.scope.check_flag(_u(grid))

    def check_case(self, action, fields, level, trail, grid):
        check_named(action, fields, level, grid)


#: the server's own changes: imports, demo data, merges, escalations
SYSTEM_POLICY = SYSTEM


# --- the review pages ---------------------------------------------------------------------------
def may_open_case(scope, flag):
    """Whether this reviewer may see the case in full (names, numbers, notes): the staff of the
    area it lies in, and the bureau once the case sits with the bureau. Everyone else who may
    read the figures sees it with names initialled and numbers masked."""
    if scope.role in CASE_OPENERS:
        return flag.grid_id in scope.grid_ids
    return scope.role == "bureau" and flag.current_level == "bureau"


def names_visible(scope, grid_id):
    """A list is not an opening: names in full only for the staff of the case's own area."""
    return scope.role in CASE_OPENERS and grid_id in scope.grid_ids


def in_view(scope, grid_id):
    """Whether a reviewer's figures reach a grid (the bureau and admins see the whole city)."""
    return scope.role in ("bureau", "admin") or grid_id in scope.grid_ids


def visible_area(scope, area_id):
    """The area if this reviewer's figures reach it, else None (a 404: not acknowledged)."""
    area = db.session.get(Area, area_id)
    if area is None:
        return None
    if scope.role in ("bureau", "admin") or (scope.area_path and area.path.startswith(scope.area_path)):
        return area
    return None


def home_area(scope):
    """Where a reviewer's dashboard opens: their own area, or the city for the bureau."""
    if scope.area_path:
        return db.session.execute(select(Area).where(Area.path == scope.area_path)).scalar_one_or_none()
    return db.session.execute(select(Area).where(Area.parent_id.is_(None)).order_by(Area.code)).scalars().first()


# --- the casework workspace: holders and summoned departments (docs/casework.md §9) -------------
class CasePolicy(ScopePolicy):
    """``ScopePolicy`` plus what an event names: an ``assign`` names an active colleague of the
    level the flag is at (in the area answering there), a ``summon`` an active department.
    A department's staff (role ``department``) move only cases their department is summoned
    to, and report in and answer only for it."""

    def check_flag(self, grid):
        if self.role != "department":
            super().check_flag(grid)
        # a department's reach is per case, not per grid: check_case judges it

    def check_case(self, action, fields, level, trail, grid):
        if self.role == "department":
            mine = str(self.scope.worker.department_id) if self.scope.worker.department_id else None
            if mine is None or mine not in trail.summons or trail.summons[mine] == "released":
                raise OutOfScope("your department is not summoned to this case")
            if fields.get("department_id") not in (None, mine):
                raise Forbidden("you may report in and answer only for your own department")
        super().check_case(action, fields, level, trail, grid)


def check_named(action, fields, level, grid):
    """An ``assign`` names an active colleague of the case's level, a ``summon`` an active
    department (events from devices and the web alike)."""
    if action == "assign" and not colleague_at(fields["assignee_id"], level, grid):
        raise InvalidChange("assignee_id must name an active staff member of the area answering for the case "
                            f"at {level} level", field="assignee_id", code="not_a_colleague")
    if action == "summon":
        dept = db.session.get(Department, _u(fields["department_id"]))
        if dept is None or not dept.active:
            raise InvalidChange("department_id names no active department", field="department_id",
                                code="unknown_reference")


def colleague_at(worker_id, level, grid_id):
    """Whether ``worker_id`` is an active staff member answering for ``level`` over ``grid_id``
    (the bureau's staff for the bureau)."""
    worker = db.session.get(Worker, _u(str(worker_id)))
    if worker is None or not worker.active or worker.role != LEVEL_ROLE.get(level):
        return False
    if level == "bureau":
        return True
    return worker.area_id is not None and worker.area_id in {a.id for a in areas_over(grid_id)}


def areas_over(grid_id):
    """The areas a grid lies in (itself included), from its path."""
    grid = db.session.get(Area, _u(str(grid_id))) if grid_id else None
    if grid is None:
        return []
    parts = grid.path.strip("/").split("/")
    prefixes = ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]
    return db.session.execute(select(Area).where(Area.path.in_(prefixes))).scalars().all()


def may_see_summoned(scope, flag_id):
    """A department's staff see a case while their department is summoned to it (not released)."""
    if scope.role != "department" or scope.worker.department_id is None:
        return False
    return db.session.execute(select(Summons.id).where(
        Summons.flag_id == flag_id, Summons.department_id == scope.worker.department_id,
        Summons.state != "released")).first() is not None
