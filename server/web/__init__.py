"""The reviewers' web pages (/review): server-rendered, session log-in, CSRF on every form.

Bearer tokens are for devices; people at a desk or on a phone log in here with a signed,
HttpOnly, SameSite=Lax session cookie (Secure unless switched off for a first run over http).
Every POST carries the session's CSRF token; every page is sent with a strict
Content-Security-Policy (no script at all: the charts are SVG drawn on the server).
"""
import hmac
import secrets
import time

from flask import Blueprint, abort, current_app, g, redirect, request, session, url_for
from flask_babel import gettext
from markupsafe import Markup

from sync.entities import parse_uuid

from ..extensions import db
from ..models import Worker
from ..scope import AGGREGATE_READERS, scope_for

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


@bp.before_request
def _load_reviewer():
    if request.method == "POST":
        sent = request.form.get("csrf_token", "")
        if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
            abort(400, description=gettext("The form has expired or did not come from this site: reload the page "
                                           "and try again"))
    g.worker = g.scope = None
    uid = session.get("uid")
    if uid:
        worker = db.session.get(Worker, _uuid(uid))
        if worker is None or not worker.active or worker.role not in AGGREGATE_READERS:
            session.clear()
        elif (session.get("since", 0) + current_app.permanent_session_lifetime.total_seconds() < time.time()
              or session.get("epoch") != worker.session_epoch):
            session.clear()
        else:
            g.worker, g.scope = worker, scope_for(worker)
    if g.worker is None and request.endpoint not in _OPEN_ENDPOINTS:
        return redirect(url_for("review_web.login", next=request.full_path if request.args else request.path))
    return None


def _uuid(raw):
    return parse_uuid(raw)


@bp.after_request
def _headers(resp):
    resp.headers["Content-Security-Policy"] = _CSP
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "same-origin"
    if request.endpoint != "review_web.static":
        # pages can show names: not kept by shared or back-button caches
        resp.headers["Cache-Control"] = "no-store"
    return resp


from . import views  # noqa: E402,F401  (registers the routes on bp)
