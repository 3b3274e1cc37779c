"""What the admin pages (/admin, server/web/admin.py) read and change: devices with what they
last reported, accounts with their areas and grids, and the audit log, each within the reader's
area (docs/admin.md).

Who administers: the ``admin`` role and the bureau for the whole city, district and street staff
for their own area (server/scope.py gives each its area). An account or device belongs to the
area of its worker (a grid worker's is their community; the bureau's and the admins' is the
city), and an audit row to the area of the person who opened the record.
"""
import datetime as dt

from flask import current_app
from sqlalchemy import func, or_, select, true

from sync.entities import parse_uuid

from ..extensions import db
from ..models import Area, AuditLog, Department, Device, Token, WebhookOutbox, Worker, WorkerGrid
from ..models.types import utcnow

#: who may open the admin pages (and over which area: server/scope.py ``scope_for``)
ADMIN_ROLES = frozenset({"admin", "bureau", "district", "street"})
#: rows per page
PER_PAGE = 50
#: who may disable whom: an account only of a lower rank than one's own (an admin: anyone else)
RANK = {"grid_worker": 0, "community": 1, "department": 1, "street": 2, "district": 3, "bureau": 4, "admin": 5}


class Refused(Exception):
    """An admin action that is not allowed here; ``code`` says why (the page words it)."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


def _in_scope(scope):
    """The accounts whose area lies in the reader's (everything for a city-wide reader)."""
    if scope.area_path is None:
        return true()
    return Worker.area_id.in_(select(Area.id).where(Area.path.startswith(scope.area_path)))


def find_area(scope, code):
    """The area with this code if it lies in the reader's, else None."""
    area = db.session.execute(select(Area).where(Area.code == code)).scalar_one_or_none()
    if area is None or (scope.area_path is not None and not area.path.startswith(scope.area_path)):
        return None
    return area


def _in_area(area):
    """Accounts of ``area``: those answering for a place in it, and the grid workers of its grids."""
    if area is None:
        return true()
    under = select(Area.id).where(Area.path.startswith(area.path))
    return or_(Worker.area_id.in_(under),
               Worker.id.in_(select(WorkerGrid.worker_id).where(WorkerGrid.grid_id.in_(under))))


def _like(column, text):
    return column.contains(text, autoescape=True)


def _page(stmt, order, page):
    total = db.session.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
    rows = db.session.execute(stmt.order_by(*order).limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    return rows, total


# --- devices ------------------------------------------------------------------------------------
def devices(scope, area=None, q=None, page=1):
    """Devices of the accounts in view, the most recently seen first, revoked ones last."""
    stmt = (select(Device, Worker, Area.name.label("area_name")).join(Worker, Device.worker_id == Worker.id)
            .outerjoin(Area, Worker.area_id == Area.id).where(_in_scope(scope), _in_area(area)))
    if q:
        stmt = stmt.where(or_(_like(Worker.username, q), _like(Worker.display_name, q), _like(Device.id, q),
                              _like(Device.name, q)))
    return _page(stmt, (Device.revoked_at.is_not(None), Device.last_seen_at.is_(None),
                        Device.last_seen_at.desc(), Device.id), page)


def device_in_view(scope, device_id):
    """The device and its worker if the reader may manage it, else (None, None)."""
    row = db.session.execute(select(Device, Worker).join(Worker, Device.worker_id == Worker.id)
                             .where(Device.id == device_id, _in_scope(scope))).first()
    return (row[0], row[1]) if row else (None, None)


def revoke_device(device, now=None):
    """A lost or stolen tablet: every token it holds stops working at once and it cannot log in
    again; its worker gets a new device. Revoking twice changes nothing."""
    now = now or utcnow()
    if device.revoked_at is None:
        device.revoked_at = now
    for token in db.session.execute(select(Token).where(Token.device_id == device.id,
                                                        Token.revoked_at.is_(None))).scalars():
        token.revoked_at = now
    return device


# --- accounts -----------------------------------------------------------------------------------
def accounts(scope, area=None, role=None, q=None, page=1):
    """Accounts in view with their area, department and grids, by area then user name."""
    stmt = (select(Worker, Area.name.label("area_name"), Area.code.label("area_code"),
                   Department.name.label("department_name"))
            .outerjoin(Area, Worker.area_id == Area.id).outerjoin(Department, Worker.department_id == Department.id)
            .where(_in_scope(scope), _in_area(area)))
    if role:
        stmt = stmt.where(Worker.role == role)
    if q:
        stmt = stmt.where(or_(_like(Worker.username, q), _like(Worker.display_name, q)))
    rows, total = _page(stmt, (Area.path.is_(None), Area.path, Worker.username), page)
    grids = {}
    ids = [r[0].id for r in rows]
    if ids:
        for worker_id, code, name in db.session.execute(
                select(WorkerGrid.worker_id, Area.code, Area.name).join(Area, WorkerGrid.grid_id == Area.id)
                .where(WorkerGrid.worker_id.in_(ids)).order_by(Area.code)):
            grids.setdefault(worker_id, []).append(f"{name} ({code})")
    return [{"worker": w, "area": an, "area_code": ac, "department": dn, "grids": grids.get(w.id, []),
             "may_change": may_change(scope, w)} for w, an, ac, dn in rows], total


def may_change(scope, worker):
    """Whether the reader may disable or enable this account: never their own, and only ranks
    below their own (an admin: anyone else's)."""
    if worker.id == scope.worker.id:
        return False
    if scope.role == "admin":
        return True
    return RANK.get(worker.role, 0) < RANK.get(scope.role, 0)


def account_in_view(scope, worker_id):
    return db.session.execute(select(Worker).where(Worker.id == worker_id, _in_scope(scope))).scalar_one_or_none()


def set_active(scope, worker, active):
    """Disable an account (its tokens and sessions stop working at its next request) or enable it."""
    if not may_change(scope, worker):
        raise Refused("self" if worker.id == scope.worker.id else "rank")
    worker.active = bool(active)
    if not active:
        # the review and workspace sessions of the account end too (server/web ``session_worker``)
        worker.session_epoch = (worker.session_epoch or 0) + 1
    return worker


# --- the audit log ------------------------------------------------------------------------------
def local_day_bounds(first, last):
    """The UTC instants from the start of local day ``first`` to the end of local day ``last``."""
    offset = dt.timedelta(hours=current_app.config["REVIEW_UTC_OFFSET_HOURS"])
    start = dt.datetime.combine(first, dt.time(), tzinfo=dt.timezone.utc) - offset if first else None
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=dt.timezone.utc) - offset if last else None
    return start, end


def audit(scope, who=None, record=None, first=None, last=None, page=1):
    """Who opened which record and when, newest first: by person (user name or name, part of it),
    record id, and local dates from ``first`` to ``last`` (each may be None)."""
    stmt = (select(AuditLog, Worker).join(Worker, AuditLog.worker_id == Worker.id).where(_in_scope(scope)))
    if who:
        stmt = stmt.where(or_(_like(Worker.username, who), _like(Worker.display_name, who)))
    if record is not None:
        stmt = stmt.where(AuditLog.entity_id == record)
    start, end = local_day_bounds(first, last)
    if start is not None:
        stmt = stmt.where(AuditLog.at >= start)
    if end is not None:
        stmt = stmt.where(AuditLog.at < end)
    return _page(stmt, (AuditLog.at.desc(), AuditLog.id.desc()), page)


def parse_record(raw):
    """A record id as typed (ASCII hex, any case, spaces around it ignored), or None."""
    return parse_uuid(raw.strip())


# --- the city's webhook ---------------------------------------------------------------------------
def webhook_overview(limit=20):
    """Whether a webhook is set, how many events were delivered, and the oldest still waiting
    (with their attempts and last error): for the ``admin`` role, as ``GET /api/v1/webhook/outbox``."""
    from .webhooks import status
    delivered = db.session.execute(select(func.count()).select_from(WebhookOutbox)
                                   .where(WebhookOutbox.sent_at.is_not(None))).scalar_one()
    waiting = db.session.execute(select(func.count()).select_from(WebhookOutbox)
                                 .where(WebhookOutbox.sent_at.is_(None))).scalar_one()
    return {"configured": bool(current_app.config.get("WEBHOOK_URL")), "delivered": delivered,
            "waiting": waiting, "oldest": status(limit)}
