"""The log-in limit is kept per account and per address: failed log-ins of one account are
stopped from any address, while the many tablets of a district behind one carrier address can
all log in at the evening sync (issue 11)."""
import re

import pytest

from tests.city import make_city
from tests.conftest import _dispose, build_app

ADDR = "10.1.2.3"


@pytest.fixture(params=["sqlite", "postgresql"])
def limited(request, tmp_path):
    """The app with the log-in limits on, at their defaults unless a test names others."""
    extra = getattr(request, "param_extra", None) or {}
    app = build_app(request.param, tmp_path, request, RATELIMIT_ENABLED=True, **extra)
    with app.app_context():
        make_city()
    yield app
    _dispose(app)


def _login(client, user, password=None, addr=ADDR):
    return client.post("/api/v1/auth/token", environ_base={"REMOTE_ADDR": addr}, json={
        "username": user, "password": password or "pw-" + user, "device_id": f"tab-{user}"})


def _web_login(client, user, password, addr=ADDR):
    page = client.get("/review/login", environ_base={"REMOTE_ADDR": addr}).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/review/login", environ_base={"REMOTE_ADDR": addr},
                       data={"username": user, "password": password, "csrf_token": token})


def test_failed_log_ins_of_one_account_are_stopped_from_any_address(limited):
    client = limited.test_client()
    for i in range(10):
        assert _login(client, "w1", "wrong", addr=f"10.0.0.{i}").status_code == 401
    # the right password from an eleventh address is refused too: the account is what is counted
    resp = _login(client, "w1", addr="10.0.0.99")
    assert resp.status_code == 429
    assert resp.json["code"] == "too_many_requests"
    # other accounts, from the same addresses, are untouched
    assert _login(client, "w2", addr="10.0.0.1").status_code == 201


def test_the_account_limit_counts_the_review_pages_log_in_too(limited):
    client = limited.test_client()
    for i in range(10):
        assert _web_login(client, "street1", "wrong", addr=f"10.0.1.{i}").status_code == 401
    assert _login(client, "street1", addr="10.0.1.50").status_code == 429


def test_successful_log_ins_do_not_use_up_the_account_limit(limited):
    client = limited.test_client()
    # one worker enrolling a dozen tablets in a minute (a stock of shared tablets)
    for i in range(15):
        resp = client.post("/api/v1/auth/token", environ_base={"REMOTE_ADDR": ADDR}, json={
            "username": "w1", "password": "pw-w1", "device_id": f"tab-{i}"})
        assert resp.status_code == 201, (i, resp.json)


def test_a_street_behind_one_carrier_address_can_log_in_at_the_evening_sync(limited):
    client = limited.test_client()
    # 60 log-ins a minute through one address: three times what the old per-address limit allowed
    users = ["w1", "w2", "w3", "w12", "comm1", "street1"]
    for i in range(60):
        assert _login(client, users[i % len(users)]).status_code == 201, i


@pytest.mark.parametrize("limited", ["sqlite"], indirect=True)
def test_the_address_limit_still_stops_a_flood_from_one_address(limited):
    limited.config["LOGIN_RATE_LIMIT"] = "5 per minute"
    client = limited.test_client()
    for i, user in enumerate(["w1", "w2", "nobody", "w3", "x"]):
        assert _login(client, user, "wrong").status_code == 401, i
    assert _login(client, "w12").status_code == 429
    assert _login(client, "w12", addr="10.9.9.9").status_code == 201
    # and the review pages' log-in shares the address limit
    assert _web_login(client, "street1", "pw-street1").status_code == 429
