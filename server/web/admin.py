"""The admin pages (/admin): devices with revoke, accounts and their areas (disable, enable), and
the audit log, each within the reader's area (server/services/admin.py, docs/admin.md). Same
log-in, session, CSRF and strict headers as the review pages, no script, words from the catalogue."""
import datetime as dt
import re

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from flask_babel import gettext

from sync.entities import parse_uuid
from sync.messages import N_

from ..extensions import db
from ..models.accounts import ROLES
from ..scope import home_area
from ..services import admin
from . import staff_pages

admin_bp = Blueprint("admin_web", __name__, url_prefix="/admin", template_folder="templates")

#: why a change to an account was refused, in the reader's words
_REFUSALS = {"self": N_("You cannot disable your own account."),
             "rank": N_("Only an account below your own level can be disabled or enabled here.")}


staff_pages(admin_bp, admin.ADMIN_ROLES, N_("The admin pages are for administrators, the civil affairs bureau "
                                             "and the staff of districts and streets"))


@admin_bp.context_processor
def _admin_globals():
    """The reader's own area by name (None: the whole city)."""
    scope = g.get("scope")
    if scope is None or scope.area_path is None:
        return {"reviewer_area": None}
    area = home_area(scope)
    return {"reviewer_area": area.name if area else None}


# --- reading the query ----------------------------------------------------------------------------
def _text_arg(name, longest=64):
    raw = request.args.get(name, "").strip()
    if len(raw) > longest or any(ord(c) < 32 for c in raw):
        abort(400, description=gettext("%(name)s: at most %(n)s characters, no control characters",
                                       name=name, n=longest))
    return raw or None


def _page_arg():
    raw = request.args.get("page")
    if raw is None or raw == "":
        return 1
    if not re.fullmatch(r"[0-9]{1,6}", raw) or int(raw) < 1:
        abort(400, description=gettext("%(name)s must be a whole number from %(low)s to %(high)s", name="page",
                                       low=1, high=999999))
    return int(raw)


def _area_arg():
    code = _text_arg("area")
    if code is None:
        return None
    area = admin.find_area(g.scope, code)
    if area is None:
        abort(404, description=gettext("There is no area with the code %(code)s in yours", code=code))
    return area


def _date_arg(name):
    raw = _text_arg(name, 10)
    if raw is None:
        return None
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw):
        abort(400, description=gettext("Write dates as YYYY-MM-DD, e.g. 2026-11-30"))
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        abort(400, description=gettext("Write dates as YYYY-MM-DD, e.g. 2026-11-30"))


def _pages(total):
    return max(1, -(-total // admin.PER_PAGE))


# --- pages ----------------------------------------------------------------------------------------
@admin_bp.get("/")
def index():
    # the webhook's deliveries: for the admin role, like GET /api/v1/webhook/outbox
    hook = admin.webhook_overview() if g.worker.role == "admin" else None
    return render_template("admin_index.html", hook=hook)


@admin_bp.get("/devices")
def devices():
    area, q, page = _area_arg(), _text_arg("q"), _page_arg()
    rows, total = admin.devices(g.scope, area=area, q=q, page=page)
    return render_template("admin_devices.html", rows=rows, total=total, page=page, pages=_pages(total),
                           f={"area": area.code if area else "", "q": q or ""}, area=area)


@admin_bp.post("/devices/revoke")
def revoke():
    """The first press asks to confirm (a revoked tablet cannot log in again); the second revokes."""
    device_id = request.form.get("device_id", "")
    device, worker = admin.device_in_view(g.scope, device_id[:64]) if 0 < len(device_id) <= 64 else (None, None)
    if device is None:
        abort(404, description=gettext("There is no such device in your area"))
    if request.form.get("confirm") != "1":
        return render_template("admin_revoke.html", device=device, worker=worker)
    admin.revoke_device(device)
    db.session.commit()
    return redirect(url_for("admin_web.devices", done="revoked"))


@admin_bp.get("/accounts")
def accounts():
    area, q, page = _area_arg(), _text_arg("q"), _page_arg()
    role = _text_arg("role", 16)
    if role is not None and role not in ROLES:
        abort(400, description=gettext("No such role; these exist: %(names)s", names=", ".join(ROLES)))
    rows, total = admin.accounts(g.scope, area=area, role=role, q=q, page=page)
    return render_template("admin_accounts.html", rows=rows, total=total, page=page, pages=_pages(total),
                           roles=ROLES, f={"area": area.code if area else "", "q": q or "", "role": role or ""},
                           area=area)


@admin_bp.post("/accounts/active")
def set_active():
    wid = parse_uuid(request.form.get("worker_id", ""))
    active = request.form.get("active")
    if active not in ("0", "1"):
        abort(400, description=gettext("active must be 0 or 1"))
    worker = admin.account_in_view(g.scope, wid) if wid else None
    if worker is None:
        abort(404, description=gettext("There is no such account in your area"))
    try:
        admin.set_active(g.scope, worker, active == "1")
    except admin.Refused as exc:
        abort(403, description=gettext(_REFUSALS[exc.code]))
    db.session.commit()
    return redirect(url_for("admin_web.accounts", q=worker.username, done="enabled" if active == "1" else "disabled"))


@admin_bp.get("/audit")
def audit():
    who, page = _text_arg("who"), _page_arg()
    raw_record = _text_arg("record", 40)
    record = None
    if raw_record is not None:
        record = admin.parse_record(raw_record)
        if record is None:
            abort(400, description=gettext("A record id is 32 hexadecimal digits, e.g. "
                                           "1b4e28ba-2fa1-11d2-883f-0016d3cca427"))
    first, last = _date_arg("start"), _date_arg("end")
    if first and last and first > last:
        abort(400, description=gettext("The start date must not be after the end date"))
    rows, total = admin.audit(g.scope, who=who, record=record, first=first, last=last, page=page)
    return render_template("admin_audit.html", rows=rows, total=total, page=page, pages=_pages(total),
                           f={"who": who or "", "record": raw_record or "", "start": first.isoformat() if first else "",
                              "end": last.isoformat() if last else ""})
