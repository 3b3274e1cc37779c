"""The staff web pages: the review (/review), the casework workspace (/work, server/web/work.py)
and the admin pages (/admin, server/web/admin.py).
Server-rendered, one session log-in, CSRF on every form.

Bearer tokens are for devices; people at a desk or on a phone log in here with a signed,
HttpOnly, SameSite=Lax session cookie (Secure unless switched off for a first run over http).
Every POST carries the session's CSRF token; every page is sent with a strict
Content-Security-Policy (no script at all: the charts are SVG drawn on the server).
"""
import hmac
import secrets
import time

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import gettext
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from sync.entities import parse_uuid

from ..extensions import db
from ..models import Worker
from ..scope import AGGREGATE_READERS, scope_for

#: who may log in to the staff pages: reviewers, and the departments summoned to cases (/work only)
STAFF_ROLES = AGGREGATE_READERS | {"department"}

bp = Blueprint("review_web", __name__, url_prefix="/review", template_folder="templates",
               static_folder="static", static_url_path="/static")

_OPEN_ENDPOINTS = {"review_web.login", "review_web.static"}
_CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'")


def csrf_token():
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


@bp.app_template_global()
def csrf_field():
    return Markup(f'<input type="hidden" name="csrf_token" value="{csrf_token()}">')


def check_csrf():
    if request.method == "POST":
        sent = request.form.get("csrf_token", "")
        if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
            abort(400, description=gettext("The form has expired or did not come from this site: reload the page "
                                           "and try again"))


def session_worker():
    """The worker this session logged in, or None (the session is then cleared): an account
    closed, a session older than its lifetime, or one its worker logged out of everywhere."""
    uid = session.get("uid")
    if not uid:
        return None
    worker = db.session.get(Worker, _uuid(uid))
    if worker is None or not worker.active or worker.role not in STAFF_ROLES:
        session.clear()
        return None
    if (session.get("since", 0) + current_app.permanent_session_lifetime.total_seconds() < time.time()
            or session.get("epoch") != worker.session_epoch):
        session.clear()
        return None
    return worker


@bp.before_request
def _load_reviewer():
    check_csrf()
    g.worker = g.scope = None
    worker = session_worker()
    if worker is not None and (worker.role in AGGREGATE_READERS or request.endpoint == "review_web.logout"):
        # (every staff member logs out here, a department's too)
        g.worker, g.scope = worker, scope_for(worker)
    if g.worker is None and request.endpoint not in _OPEN_ENDPOINTS:
        if worker is not None:
            # a department's staff: their place is the workspace
            return redirect(url_for("work_web.queue"))
        return redirect(url_for("review_web.login", next=request.full_path if request.args else request.path))
    return None


def _uuid(raw):
    return parse_uuid(raw)


def strict_headers(resp, static=False):
    resp.headers["Content-Security-Policy"] = _CSP
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "same-origin"
    if not static:
        # pages can show names: not kept by shared or back-button caches
        resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.after_request
def _headers(resp):
    return strict_headers(resp, static=request.endpoint == "review_web.static")


def staff_pages(blueprint, roles, refusal):
    """What every staff blueprint beyond /review does alike: CSRF on posts, the log-in (a visitor
    goes to it and comes back), only ``roles`` (others get ``refusal``, a message id), the
    caller's scope on ``g``, strict headers, and errors as the review's error page."""

    @blueprint.before_request
    def _load_staff():
        check_csrf()
        worker = session_worker()
        if worker is None:
            return redirect(url_for("review_web.login", next=request.full_path if request.args else request.path))
        if worker.role not in roles:
            abort(403, description=gettext(refusal))
        g.worker, g.scope = worker, scope_for(worker)
        return None

    blueprint.after_request(strict_headers)

    @blueprint.errorhandler(HTTPException)
    def _http_error(exc):
        return render_template("review_error.html", code=exc.code, message=exc.description), exc.code


from . import views  # noqa: E402,F401  (registers the routes on bp)
from .work import work_bp  # noqa: E402,F401  (registered by create_app)
from .admin import admin_bp  # noqa: E402,F401  (registered by create_app)
