"""The Flask app: ``create_app(config)`` builds it; nothing happens at import time."""
import gzip
import os
import sqlite3
import traceback
import uuid

import brotli
from flask import Flask, jsonify, request
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from sync.checklist import load_checklists
from sync.clock import HybridClock
from sync.rules import load_rules

from . import errors, i18n
from . import config as settings
from .config import Config, TestConfig
from .crypto import PiiVault, load_keys
from . import extensions
from .extensions import db, limiter, migrate
from .jsonfast import OrjsonProvider
from .models.types import utcnow
from .wsgi_gzip import INFLATED, GzipRequestMiddleware

MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")
# Responses smaller than this are not worth compressing.
_GZIP_MIN = 1024


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_conn, _record):
    if isinstance(dbapi_conn, sqlite3.Connection):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()


class GridsyncFlask(Flask):
    json_provider_class = OrjsonProvider

    def log_exception(self, exc_info):
        # Flask would log the exception's message, which can quote a request's personal data
        # (a database error echoes its parameters): log the type and where it happened only.
        exc_type, _, tb = exc_info
        where = "".join(traceback.format_tb(tb)) if tb else ""
        self.logger.error("unhandled %s on %s %s\n%s", exc_type.__name__ if exc_type else "error",
                          request.method, request.path, where)


def create_app(config=None):
    app = GridsyncFlask(__name__, instance_relative_config=True)
    app.config.from_object(Config)
    if config == "testing":
        app.config.from_object(TestConfig)
    elif isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    settings.check_config(app.config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(app.instance_path, "gridsync.db")
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _dev_secret(app.instance_path)

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS, render_as_batch=True, compare_type=True)
    limiter.init_app(app)
    extensions.api.init_app(app)
    errors.register(app)
    i18n.init_app(app)
    try:
        app.extensions["pii_vault"] = PiiVault(*load_keys(app.config, app.instance_path))
    except RuntimeError as exc:
        raise settings.ConfigError(str(exc)) from None
    # Loaded and checked now: a bad city file stops the server at start-up with its reason,
    # not at the first visit.
    app.extensions["checklists"] = load_checklists(app.config.get("CHECKLISTS_FILE"))
    app.extensions["rules"] = load_rules(app.config.get("RULES_FILE"))
    # One clock node per process: stamps of two server processes never tie.
    app.extensions["hlc"] = HybridClock(f"server-{uuid.uuid4().hex[:8]}")
    # Jobs read the time through this, so tests can drive them through deadlines.
    app.extensions["wall_clock"] = utcnow

    from .api import register_blueprints
    register_blueprints(extensions.api)

    from .web import admin_bp, bp as review_web, work_bp
    app.register_blueprint(review_web)
    app.register_blueprint(work_bp)
    app.register_blueprint(admin_bp)

    from .field import bp as field_app
    app.register_blueprint(field_app)

    from .cli import register_commands
    register_commands(app)

    @app.get("/healthz")
    def healthz():
        db.session.execute(text("SELECT 1"))
        return jsonify(status="ok")

    app.after_request(_gzip_response)
    # The wire limit is checked before decompression; Flask then checks the inflated body.
    wire_limit = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = max(wire_limit, app.config["MAX_DECOMPRESSED_LENGTH"])

    @app.before_request
    def _plain_body_limit():
        # A body that was not gzipped (chunked ones included) is held to the wire limit.
        if not request.environ.get(INFLATED):
            request.max_content_length = wire_limit

    app.wsgi_app = GzipRequestMiddleware(app.wsgi_app, wire_limit, app.config["MAX_DECOMPRESSED_LENGTH"])
    if app.config.get("PROXY_HOPS"):
        # Behind a load balancer: client addresses (login rate limit) come from X-Forwarded-For.
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_HOPS"], x_proto=app.config["PROXY_HOPS"])
    return app


def _gzip_response(resp):
    """Compress a response for a client that accepts it: brotli when it says so (about a fifth
    fewer bytes than gzip on sync JSON; a browser asks for it over HTTPS), else gzip."""
    if resp.direct_passthrough or resp.status_code < 200 or "Content-Encoding" in resp.headers:
        return resp
    accepted = request.accept_encodings          # werkzeug reads the q values (q=0: refused)
    if not (accepted["br"] or accepted["gzip"]):
        return resp
    data = resp.get_data()
    if len(data) < _GZIP_MIN:
        return resp
    if accepted["br"]:
        # quality 5: most of brotli's gain at gzip's speed (11 costs 100× the time for 10 % more)
        resp.set_data(brotli.compress(data, quality=5))
        resp.headers["Content-Encoding"] = "br"
    else:
        resp.set_data(gzip.compress(data, compresslevel=5))
        resp.headers["Content-Encoding"] = "gzip"
    resp.headers["Vary"] = "Accept-Encoding"
    return resp


def _dev_secret(instance_path):
    path = os.path.join(instance_path, "dev-secret")
    if not os.path.exists(path):
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as fh:
            fh.write(uuid.uuid4().hex + uuid.uuid4().hex)
    with open(path) as fh:
        return fh.read().strip()
