"""What the benchmarks share: the app's test configuration on a given database, and migrating
that database to head without alembic's log in the report."""
import contextlib
import io
import logging
import sys


def app_config(url):
    from server.config import TestConfig
    cfg = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    cfg["SQLALCHEMY_DATABASE_URI"] = url
    # A log-in or two per run would be fine, but the limiter's memory store outlives the app.
    cfg["RATELIMIT_ENABLED"] = False
    return cfg


def migrate(url):
    from flask_migrate import upgrade

    from server import create_app
    from server.extensions import db
    app = create_app(app_config(url))
    # migrations/env.py sets up alembic's INFO logging on stderr; keep it out of the report
    # (the handler it creates keeps writing to the buffer it saw, so quiet it afterwards too).
    log = io.StringIO()
    try:
        with contextlib.redirect_stderr(log), app.app_context():
            upgrade()
            db.engine.dispose()
    except Exception:
        sys.stderr.write(log.getvalue())
        raise
    logging.getLogger("alembic").setLevel(logging.WARNING)
