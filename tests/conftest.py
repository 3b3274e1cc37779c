"""Fixtures: an app on a fresh database per test (SQLite, and PostgreSQL where a test asks for
it), a small fixture city, and log-in helpers.

PostgreSQL tests are skipped only when no server answers and neither CI nor
GRIDSYNC_REQUIRE_POSTGRES is set; in CI a missing server fails the run.
"""
import os
import shutil
import uuid

import pytest

from tests.city import make_city

PG_ADMIN_URL = os.environ.get("GRIDSYNC_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
# One database per test run, so two runs on one machine never drop each other's tables.
PG_TEST_DB = os.environ.get("GRIDSYNC_TEST_PG_DB", f"gridsync_test_{os.getpid()}")


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", help="run long soak tests")


def pytest_collection_modifyitems(config, items):
    if not config.getoption("--run-slow"):
        skip = pytest.mark.skip(reason="slow: run with --run-slow")
        for item in items:
            if "slow" in item.keywords:
                item.add_marker(skip)


def _pg_required():
    return bool(os.environ.get("CI")) or bool(os.environ.get("GRIDSYNC_REQUIRE_POSTGRES"))


@pytest.fixture(scope="session")
def pg_url():
    """URL of a PostgreSQL database migrated to head, created if missing."""
    psycopg = pytest.importorskip("psycopg")
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_TEST_DB,)).fetchone()
            if exists:
                conn.execute(f'DROP DATABASE "{PG_TEST_DB}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{PG_TEST_DB}"')
    except psycopg.OperationalError as exc:
        if _pg_required():
            pytest.fail(f"PostgreSQL is required here but does not answer: {exc}")
        pytest.skip(f"no PostgreSQL server: {exc}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + PG_TEST_DB
    _migrate(url.replace("postgresql://", "postgresql+psycopg://"))
    yield url.replace("postgresql://", "postgresql+psycopg://")
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_TEST_DB}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "template.db"
    _migrate(f"sqlite:///{path}")
    return path


def _migrate(url):
    from flask_migrate import upgrade

    from server import create_app
    app = create_app(_config(url))
    with app.app_context():
        upgrade()
        from server.extensions import db
        db.engine.dispose()


def _config(url, **extra):
    from server.config import TestConfig
    cfg = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    cfg["SQLALCHEMY_DATABASE_URI"] = url
    cfg.update(extra)
    return cfg


def _reset_pg(app):
    from sqlalchemy import text

    from server.extensions import db
    with app.app_context():
        tables = [t.name for t in db.metadata.sorted_tables]
        db.session.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        db.session.execute(text("INSERT INTO sync_state (id, epoch, pushes) VALUES (1, :e, 0)"),
                           {"e": uuid.uuid4().hex[:12]})
        db.session.execute(text("INSERT INTO link_state (id, last_seq) VALUES (1, 0)"))
        db.session.execute(text("INSERT INTO review_state (id) VALUES (1)"))
        db.session.commit()


def build_app(kind, tmp_path, request, **extra):
    from server import create_app
    if kind == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        app = create_app(_config(f"sqlite:///{path}", **extra))
    else:
        app = create_app(_config(request.getfixturevalue("pg_url"), **extra))
        _reset_pg(app)
    app.instance_path = str(tmp_path / "instance")
    return app


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request, tmp_path):
    """The app on a fresh database, once on SQLite and once on PostgreSQL."""
    app = build_app(request.param, tmp_path, request)
    yield app
    _dispose(app)


@pytest.fixture
def sqlite_app(request, tmp_path):
    app = build_app("sqlite", tmp_path, request)
    yield app
    _dispose(app)


@pytest.fixture
def pg_app(request, tmp_path):
    app = build_app("postgresql", tmp_path, request)
    yield app
    _dispose(app)


@pytest.fixture
def cli(app):
    """``cli("create-worker", …)``: a ``gridsync`` command run in the app (click's result)."""
    runner = app.test_cli_runner()

    def invoke(*args, **kw):
        return runner.invoke(args=[str(a) for a in args], **kw)

    return invoke


def _dispose(app):
    from server.extensions import db
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def city(app):
    with app.app_context():
        return make_city()


@pytest.fixture
def client(app):
    return app.test_client()


class Auth:
    """Log in as a fixture-city worker: ``auth.headers("w1")`` gives bearer headers."""

    def __init__(self, client):
        self.client = client
        self._tokens = {}

    def login(self, username, device_id=None):
        device_id = device_id or f"dev-{username}"
        resp = self.client.post("/api/v1/auth/token", json={
            "username": username, "password": "pw-" + username, "device_id": device_id})
        assert resp.status_code == 201, resp.json
        return resp.json

    def headers(self, username, device_id=None):
        key = (username, device_id)
        if key not in self._tokens:
            self._tokens[key] = self.login(username, device_id)["token"]
        return {"Authorization": "Bearer " + self._tokens[key]}


@pytest.fixture
def auth(client, city):
    return Auth(client)


@pytest.fixture(autouse=True)
def _admin_cli_in_english():
    """``gridsync`` speaks Chinese by default; the tests read its English unless they ask."""
    from server import cli_i18n
    cli_i18n.use("en")
    yield
    cli_i18n.use("en")
