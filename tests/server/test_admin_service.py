"""server/services/admin.py on its own, on SQLite and PostgreSQL: each reader's area as a table
of who sees whom, who may disable whom, revoking twice, and local days for the audit log."""
import datetime as dt

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import Device, Token, Worker
from server.scope import scope_for
from server.services import admin

#: who each administering role sees among the fixture city's accounts (tests/city.py)
SEES = {
    "admin": {"w1", "w2", "w3", "w12", "comm1", "street1", "district2", "bureau", "admin"},
    "bureau": {"w1", "w2", "w3", "w12", "comm1", "street1", "district2", "bureau", "admin"},
    "district2": {"district2"},
    "street1": {"w1", "w2", "w3", "w12", "comm1", "street1"},
}


def _worker(name):
    return db.session.execute(select(Worker).where(Worker.username == name)).scalar_one()


@pytest.mark.parametrize("reader", sorted(SEES))
def test_each_reader_sees_the_accounts_of_its_area(app, city, reader):
    with app.app_context():
        rows, total = admin.accounts(scope_for(_worker(reader)))
        assert {r["worker"].username for r in rows} == SEES[reader] and total == len(SEES[reader])
        for name in {"w1", "district2", "bureau"}:
            seen = admin.account_in_view(scope_for(_worker(reader)), _worker(name).id) is not None
            assert seen == (name in SEES[reader]), (reader, name)


#: (reader, target) pairs that may be disabled; every other pair in view is refused
MAY = {("admin", t) for t in SEES["admin"] - {"admin"}} | \
      {("bureau", t) for t in SEES["bureau"] - {"bureau", "admin"}} | \
      {("street1", t) for t in ("w1", "w2", "w3", "w12", "comm1")}


@pytest.mark.parametrize("reader", sorted(SEES))
def test_who_may_disable_whom(app, city, reader):
    with app.app_context():
        scope = scope_for(_worker(reader))
        for target in SEES[reader]:
            worker = _worker(target)
            if (reader, target) in MAY:
                admin.set_active(scope, worker, False)
                assert worker.active is False
                admin.set_active(scope, worker, True)
            else:
                with pytest.raises(admin.Refused) as err:
                    admin.set_active(scope, worker, False)
                assert err.value.code == ("self" if target == reader else "rank")
                assert worker.active is True
        db.session.rollback()


def test_revoking_twice_keeps_the_first_time_and_every_token_revoked(app, client, auth, city):
    auth.headers("w1")
    auth.headers("w1")
    with app.app_context():
        device = db.session.get(Device, "dev-w1")
        first = dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc)
        admin.revoke_device(device, now=first)
        admin.revoke_device(device, now=first + dt.timedelta(hours=1))
        db.session.commit()
        assert db.session.get(Device, "dev-w1").revoked_at == first
        assert all(t.revoked_at == first for t in db.session.execute(
            select(Token).where(Token.device_id == "dev-w1")).scalars())


def test_local_days_for_the_audit_log(app):
    with app.app_context():
        app.config["REVIEW_UTC_OFFSET_HOURS"] = 8
        start, end = admin.local_day_bounds(dt.date(2026, 11, 20), dt.date(2026, 11, 21))
        assert start == dt.datetime(2026, 11, 19, 16, tzinfo=dt.timezone.utc)
        assert end == dt.datetime(2026, 11, 21, 16, tzinfo=dt.timezone.utc)
        assert admin.local_day_bounds(None, None) == (None, None)


ID = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"


@pytest.mark.parametrize("raw,ok", [(ID, True), (" " + ID.upper().replace("-", "") + " ", True),
                                    ("{" + ID + "}", False), ("urn:uuid:" + ID, False), ("１" + ID[1:], False),
                                    ("", False)])
def test_a_record_id_is_ascii_hex_only(raw, ok):
    assert (admin.parse_record(raw) is not None) == ok
