"""No drift between the models and the migrations, and the history runs both ways on SQLite."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select, text

from server.extensions import db
from server.models import SyncState


def drift(app):
    """What autogenerate would write for the database as it is: [] when nothing."""
    with app.app_context():
        with db.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
            return compare_metadata(ctx, db.metadata)


def tables(app):
    with app.app_context():
        return set(inspect(db.engine).get_table_names())


def head_revision(app):
    with app.app_context():
        return db.session.execute(text("SELECT version_num FROM alembic_version")).scalar_one()


@pytest.mark.parametrize("fixture", ["sqlite_app", "pg_app"])
def test_migrated_database_matches_the_models(request, fixture):
    app = request.getfixturevalue(fixture)
    assert drift(app) == []
    assert {t.name for t in db.metadata.sorted_tables} <= tables(app)


@pytest.mark.parametrize("fixture", ["sqlite_app", "pg_app"])
def test_drift_would_be_seen(request, fixture):
    """The comparison is live: an index the models have and the database lacks is reported."""
    app = request.getfixturevalue(fixture)
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("DROP INDEX ix_person_phone_bidx"))
    try:
        diffs = drift(app)
    finally:
        with app.app_context():
            with db.engine.begin() as conn:
                conn.execute(text("CREATE INDEX ix_person_phone_bidx ON person (phone_bidx)"))
    assert any(d[0] == "add_index" and d[1].name == "ix_person_phone_bidx" for d in diffs), diffs
    assert drift(app) == []


def test_downgrade_to_base_and_upgrade_again_on_sqlite(sqlite_app):
    app = sqlite_app
    head = head_revision(app)
    with app.app_context():
        downgrade(revision="base")
        db.engine.dispose()
    assert tables(app) <= {"alembic_version"}
    with app.app_context():
        upgrade()
        db.engine.dispose()
    assert head_revision(app) == head
    assert drift(app) == []
    with app.app_context():
        # The sync-state row every push locks is back.
        assert db.session.execute(select(SyncState.id)).scalars().all() == [1]


def test_upgraded_again_database_works(sqlite_app):
    from tests.city import make_city
    app = sqlite_app
    with app.app_context():
        downgrade(revision="base")
        upgrade()
        db.engine.dispose()
    with app.app_context():
        make_city()
    client = app.test_client()
    resp = client.post("/api/v1/auth/token", json={"username": "w1", "password": "pw-w1", "device_id": "d1"})
    assert resp.status_code == 201
    pulled = client.get("/api/v1/sync/pull", headers={"Authorization": "Bearer " + resp.json["token"]})
    assert pulled.status_code == 200 and pulled.json["changes"] == []
