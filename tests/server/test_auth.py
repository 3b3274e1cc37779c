"""The token endpoint and bearer tokens, from the outside: log in, expire, revoke, hand over."""
import datetime as dt
import hashlib

import pytest
from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash

from server.extensions import db
from server.models import Device, Token, Worker

TOKEN = "/api/v1/auth/token"
ME = "/api/v1/auth/me"


def login(client, username, password=None, device_id=None, **extra):
    return client.post(TOKEN, json={"username": username, "password": password or "pw-" + username,
                                    "device_id": device_id or f"dev-{username}", **extra})


def bearer(token):
    return {"Authorization": "Bearer " + token}


def assert_error(resp, status, code):
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.is_json
    body = resp.json
    assert body["code"] == code
    assert body["status"] == status
    assert isinstance(body["message"], str) and body["message"]


def token_count(app):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(Token)).scalar_one()


def test_good_login_returns_token_expiry_and_worker(app, client, city):
    before = dt.datetime.now(dt.timezone.utc)
    resp = login(client, "w1", device_name="tablet one")
    after = dt.datetime.now(dt.timezone.utc)
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert isinstance(body["token"], str) and len(body["token"]) >= 32
    assert body["token_type"] == "Bearer"
    assert body["device_id"] == "dev-w1"
    assert body["resync_required"] is False
    ttl = dt.timedelta(hours=app.config["TOKEN_TTL_HOURS"])
    expires = dt.datetime.fromisoformat(body["expires_at"])
    assert expires.tzinfo is not None
    assert before + ttl - dt.timedelta(seconds=1) <= expires <= after + ttl + dt.timedelta(seconds=1)
    worker = body["worker"]
    assert worker["username"] == "w1"
    assert worker["role"] == "grid_worker"
    assert worker["area_id"] == city["C1"]
    assert worker["grid_ids"] == [city["G1"]]
    assert "password" not in body and "password_hash" not in worker
    # The token works, and the device was enrolled for this worker.
    assert client.get(ME, headers=bearer(body["token"])).status_code == 200
    with app.app_context():
        device = db.session.get(Device, "dev-w1")
        assert device.name == "tablet one"
        assert str(device.worker_id) == worker["id"]


@pytest.mark.parametrize("username,password", [("w1", "wrong"), ("w1", "pw-w2"), ("nobody", "pw-nobody"),
                                               ("W1", "pw-w1")])
def test_bad_credentials_are_401_and_issue_nothing(app, client, city, username, password):
    resp = login(client, username, password=password)
    assert_error(resp, 401, "bad_credentials")
    assert "token" not in resp.json
    assert token_count(app) == 0
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Device)).scalar_one() == 0


def test_wrong_password_and_unknown_user_answer_alike(client, city):
    wrong = login(client, "w1", password="nope")
    unknown = login(client, "ghost", password="nope")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json == unknown.json


def test_inactive_worker_cannot_log_in_and_their_token_stops_working(app, client, city):
    token = login(client, "w1").json["token"]
    with app.app_context():
        db.session.execute(update(Worker).where(Worker.username == "w1").values(active=False))
        db.session.commit()
    assert_error(login(client, "w1"), 401, "bad_credentials")
    assert_error(client.get(ME, headers=bearer(token)), 401, "account_disabled")


@pytest.mark.parametrize("headers,code", [
    ({}, "auth_required"),
    ({"Authorization": ""}, "auth_required"),
    ({"Authorization": "Basic dzE6cHctdzE="}, "auth_required"),
    ({"Authorization": "Bearer"}, "auth_required"),
    ({"Authorization": "Bearer " + "x" * 300}, "auth_required"),
    ({"Authorization": "Bearer not-a-real-token"}, "bad_token"),
    ({"Authorization": "Bearer "}, "bad_token"),
])
def test_missing_or_garbage_token_is_401(client, city, headers, code):
    for url in (ME, "/api/v1/households", "/api/v1/sync/pull"):
        assert_error(client.get(url, headers=headers), 401, code)


def test_expired_token_is_401_token_expired(app, client, city):
    token = login(client, "w1").json["token"]
    assert client.get(ME, headers=bearer(token)).status_code == 200
    with app.app_context():
        digest = hashlib.sha256(token.encode()).hexdigest()
        db.session.execute(update(Token).where(Token.token_hash == digest).values(
            expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)))
        db.session.commit()
    assert_error(client.get(ME, headers=bearer(token)), 401, "token_expired")
    assert_error(client.get("/api/v1/households", headers=bearer(token)), 401, "token_expired")
    # Logging in again gives a fresh token that works.
    fresh = login(client, "w1").json["token"]
    assert client.get(ME, headers=bearer(fresh)).status_code == 200


def test_revoked_token_is_401_token_revoked(app, client, city):
    token = login(client, "w1").json["token"]
    other = login(client, "w1", device_id="dev-w1-spare").json["token"]
    resp = client.post("/api/v1/auth/revoke", headers=bearer(token))
    assert resp.status_code == 204
    assert_error(client.get(ME, headers=bearer(token)), 401, "token_revoked")
    assert_error(client.post("/api/v1/auth/revoke", headers=bearer(token)), 401, "token_revoked")
    with app.app_context():
        digest = hashlib.sha256(token.encode()).hexdigest()
        assert db.session.execute(select(Token.revoked_at).where(Token.token_hash == digest)).scalar_one()
    # Only that token: the same worker's other token still works.
    assert client.get(ME, headers=bearer(other)).status_code == 200


def test_revoked_device_cannot_log_in_or_use_its_tokens(app, client, city):
    token = login(client, "w1").json["token"]
    with app.app_context():
        db.session.execute(update(Device).where(Device.id == "dev-w1").values(
            revoked_at=dt.datetime.now(dt.timezone.utc)))
        db.session.commit()
    assert_error(client.get(ME, headers=bearer(token)), 401, "device_revoked")
    assert_error(login(client, "w1"), 403, "device_revoked")
    assert token_count(app) == 1


def test_device_handed_to_another_worker_must_resync(app, client, city):
    first = login(client, "w1", device_id="shared-tablet")
    assert first.status_code == 201 and first.json["resync_required"] is False
    again = login(client, "w1", device_id="shared-tablet")
    assert again.json["resync_required"] is False
    handed = login(client, "w2", device_id="shared-tablet")
    assert handed.status_code == 201
    assert handed.json["resync_required"] is True
    with app.app_context():
        device = db.session.get(Device, "shared-tablet")
        w2 = db.session.execute(select(Worker).where(Worker.username == "w2")).scalar_one()
        assert device.worker_id == w2.id
        assert device.resync_required is True
    h = bearer(handed.json["token"])
    # A pull with the previous holder's cursor is refused; starting over clears the flag.
    pulled = client.get("/api/v1/sync/pull", headers=h)
    assert pulled.status_code == 200
    cursor = pulled.json["cursor"]
    with app.app_context():
        assert db.session.get(Device, "shared-tablet").resync_required is False
    assert client.get(f"/api/v1/sync/pull?cursor={cursor}", headers=h).status_code == 200


def test_resync_flag_refuses_a_cursor_pull(app, client, city):
    login(client, "w1", device_id="shared-tablet")
    token = login(client, "w2", device_id="shared-tablet").json["token"]
    cursor = client.get("/api/v1/sync/pull", headers=bearer(login(client, "w2").json["token"])).json["cursor"]
    resp = client.get(f"/api/v1/sync/pull?cursor={cursor}", headers=bearer(token))
    assert_error(resp, 410, "resync_required")
    with app.app_context():
        assert db.session.get(Device, "shared-tablet").resync_required is True


def test_previous_holders_token_cannot_act_for_a_handed_over_device(app, client, city):
    """Once the tablet is w2's, w1's old token for it must not pull or push as that device:
    otherwise its pull clears the resync flag meant for w2, and w2's stale cursor is trusted."""
    old = login(client, "w1", device_id="shared-tablet").json["token"]
    assert login(client, "w2", device_id="shared-tablet").json["resync_required"] is True
    resp = client.get("/api/v1/sync/pull", headers=bearer(old))
    assert resp.status_code in (401, 403), resp.json
    with app.app_context():
        assert db.session.get(Device, "shared-tablet").resync_required is True


def test_password_and_token_are_not_stored_in_clear(app, client, city):
    token = login(client, "w1").json["token"]
    with app.app_context():
        for worker in db.session.execute(select(Worker)).scalars():
            password = "pw-" + worker.username
            assert worker.password_hash != password
            assert password not in worker.password_hash
            assert check_password_hash(worker.password_hash, password)
        hashes = db.session.execute(select(Token.token_hash)).scalars().all()
    assert token not in hashes
    assert hashlib.sha256(token.encode()).hexdigest() in hashes


@pytest.mark.parametrize("username,grids,area", [
    ("w1", ["G1"], "C1"), ("w12", ["G1", "G2"], "C1"), ("comm1", ["G1", "G2"], "C1"), ("street1", [], "S1"),
    ("bureau", [], None), ("admin", [], None)])
def test_me_says_who_and_which_grids(client, auth, city, username, grids, area):
    resp = client.get(ME, headers=auth.headers(username))
    assert resp.status_code == 200
    body = resp.json
    assert body["username"] == username
    assert sorted(body["grid_ids"]) == sorted(city[g] for g in grids)
    assert body["area_id"] == (city[area] if area else None)
    assert "password_hash" not in body


def test_login_input_is_validated(app, client, city):
    resp = login(client, "w1", device_id="no spaces allowed")
    assert resp.status_code == 422
    assert resp.json["code"] == "invalid_input" and "device_id" in resp.json["errors"]
    resp = client.post(TOKEN, json={"username": "w1"})
    assert resp.status_code == 422
    assert {"password", "device_id"} <= set(resp.json["errors"])
    assert token_count(app) == 0
