"""Bad input gets a clear 4xx JSON envelope that names what is wrong, and changes nothing."""
import contextlib
import gzip
import json
import os
import time
import uuid

import brotli
import pytest
from sqlalchemy import func, select

from server.extensions import db
from tests.city import make_city
from tests.conftest import _dispose, build_app
from tests.helpers import change, push, stamp


def counts(app):
    with app.app_context():
        return {t.name: db.session.execute(select(func.count()).select_from(t)).scalar_one()
                for t in db.metadata.sorted_tables}


@contextlib.contextmanager
def unchanged(app):
    before = counts(app)
    yield
    assert counts(app) == before


def assert_envelope(resp, status, code, field=None):
    assert resp.status_code < 500, resp.get_data(as_text=True)
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.is_json, resp.get_data(as_text=True)
    body = resp.json
    assert body["code"] == code
    assert body["status"] == status
    assert isinstance(body["message"], str) and body["message"]
    assert set(body) <= {"code", "status", "message", "errors", "detail"}
    if field is not None:
        assert field in body["errors"], body
        assert all(isinstance(m, str) for m in body["errors"][field])
    return body


def now_ms():
    return int(time.time() * 1000)


@pytest.mark.parametrize("body,field,code", [
    ({"address": "和平路1号", "colour": "red"}, "colour", "invalid_input"),
    ({"address": 12}, "address", "invalid_input"),
    ({"address": "和平路1号", "deleted": "maybe"}, "deleted", "invalid_input"),
    ({"address": "和平路1号", "id": "not-a-uuid"}, "id", "invalid_input"),
    ({"grid_id": "not-a-uuid", "address": "和平路1号"}, "grid_id", "invalid_input"),
    ({"grid_id": None, "address": "和平路1号"}, "grid_id", "invalid_input"),
    ({}, "address", "invalid_input"),
    ({"address": "长" * 201}, "address", "invalid_change"),
    ({"address": "   "}, "address", "invalid_change"),
])
def test_bad_household_body_names_the_field(app, client, auth, city, body, field, code):
    h = auth.headers("w1")
    body = {"grid_id": city["G1"], **body} if "grid_id" not in body and body else body
    with unchanged(app):
        resp = client.post("/api/v1/households", headers=h, json=body)
        assert_envelope(resp, 422, code, field)


def test_bad_person_and_visit_bodies(app, client, auth, city):
    h = auth.headers("w1")
    with unchanged(app):
        assert_envelope(client.post("/api/v1/persons", headers=h, json={"household_id": str(uuid.uuid4()),
                                                                        "name": "王伟"}),
                        404, "out_of_scope", "household_id")
        assert_envelope(client.post("/api/v1/persons", headers=h, json={"household_id": "x", "name": "王伟"}),
                        422, "invalid_input", "household_id")
        assert_envelope(client.post("/api/v1/persons", headers=h, json={
            "household_id": str(uuid.uuid4()), "name": "王伟", "birth_date": "1990-13-45"}),
            422, "invalid_input", "birth_date")
        assert_envelope(client.post("/api/v1/visits", headers=h, json={
            "household_id": str(uuid.uuid4()), "visited_at": "2024-05-01T10:00:00", "checklist_version": 1,
            "checks": {}}), 422, "invalid_input", "visited_at")


@pytest.mark.parametrize("data", ["{not json", '{"grid_id": ', "\xff\xfe", "[1, 2"])
def test_invalid_json_is_400(app, client, auth, city, data):
    h = auth.headers("w1")
    with unchanged(app):
        for url in ("/api/v1/households", "/api/v1/sync/push", "/api/v1/persons"):
            resp = client.post(url, headers=h, data=data, content_type="application/json")
            assert_envelope(resp, 400, "invalid_input")


@pytest.mark.parametrize("body", [[1, 2], "text", 42, None])
def test_json_that_is_not_an_object_is_422(app, client, auth, city, body):
    h = auth.headers("w1")
    with unchanged(app):
        for url in ("/api/v1/households", "/api/v1/sync/push", "/api/v1/auth/token"):
            resp = client.post(url, headers=h, data=json.dumps(body), content_type="application/json")
            assert_envelope(resp, 422, "invalid_input", "_schema")


def test_bad_query_arguments(app, client, auth, city):
    h = auth.headers("w1")
    with unchanged(app):
        assert_envelope(client.get("/api/v1/households?per_page=0", headers=h), 422, "invalid_input", "per_page")
        assert_envelope(client.get("/api/v1/households?grid_id=zzz", headers=h), 422, "invalid_input", "grid_id")
        assert_envelope(client.get("/api/v1/sync/pull?limit=100000", headers=h), 422, "invalid_input", "limit")
        assert_envelope(client.get("/api/v1/flags?colour=purple", headers=h), 422, "invalid_input", "colour")
        assert_envelope(client.get("/api/v1/visits", headers=h), 422, "invalid_input", "household_id")
        assert client.get("/api/v1/households/not-a-uuid", headers=h).status_code == 404


@pytest.fixture(params=["sqlite", "postgresql"])
def small_app(request, tmp_path):
    """An app whose body limits are small enough to cross in a test."""
    app = build_app(request.param, tmp_path, request, MAX_CONTENT_LENGTH=4096, MAX_DECOMPRESSED_LENGTH=16384)
    with app.app_context():
        city = make_city()
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "w1", "password": "pw-w1",
                                                    "device_id": "dev-w1"}).json["token"]
    yield app, client, {"Authorization": "Bearer " + token}, city
    _dispose(app)


def _push_body(city, n=1, address="和平路1号"):
    return {"device_id": "dev-w1", "schema_version": 1, "changes": [
        change("household", uuid.uuid4(), {"grid_id": city["G1"], "address": address}, stamp(now_ms(), counter=i))
        for i in range(n)]}


def test_body_over_max_content_length_is_413(small_app):
    app, client, h, city = small_app
    big = json.dumps(_push_body(city, address="长" * 199, n=20))
    assert len(big.encode()) > 4096
    with unchanged(app):
        resp = client.post("/api/v1/sync/push", headers=h, data=big, content_type="application/json")
        assert_envelope(resp, 413, "request_entity_too_large")
    # The same kind of body under the limit goes through.
    resp = client.post("/api/v1/sync/push", headers=h, json=_push_body(city))
    assert resp.status_code == 200 and resp.json["results"][0]["status"] == "applied"


def test_gzip_bodies(small_app):
    app, client, h, city = small_app
    gz = {**h, "Content-Encoding": "gzip"}
    with unchanged(app):
        resp = client.post("/api/v1/sync/push", headers=gz, data=b"this is not gzip", content_type="application/json")
        assert_envelope(resp, 400, "bad_gzip")
        truncated = gzip.compress(json.dumps(_push_body(city)).encode())[:-12]
        resp = client.post("/api/v1/sync/push", headers=gz, data=truncated, content_type="application/json")
        # A cut-off stream never yields a whole request (the cut JSON is refused as such).
        assert resp.status_code == 400 and resp.json["code"] in ("bad_gzip", "invalid_input")
        # A bomb: about a kilobyte on the wire, far beyond the limit once inflated.
        bomb = gzip.compress(b'{"device_id":"' + b"0" * 1_000_000 + b'"}')
        assert len(bomb) < 4096
        resp = client.post("/api/v1/sync/push", headers=gz, data=bomb, content_type="application/json")
        assert_envelope(resp, 413, "request_entity_too_large")
        # Over the compressed limit before inflating.
        noise = gzip.compress(os.urandom(6000))
        assert len(noise) > 4096
        resp = client.post("/api/v1/sync/push", headers=gz, data=noise, content_type="application/json")
        assert_envelope(resp, 413, "request_entity_too_large")
        resp = client.post("/api/v1/sync/push", headers={**h, "Content-Encoding": "compress"}, data=b"x",
                           content_type="application/json")
        assert_envelope(resp, 415, "unsupported_encoding")
    # A well-formed gzip push under both limits is applied.
    ok = gzip.compress(json.dumps(_push_body(city)).encode())
    resp = client.post("/api/v1/sync/push", headers=gz, data=ok, content_type="application/json")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.json["results"][0]["status"] == "applied"


def test_brotli_bodies(small_app):
    app, client, h, city = small_app
    br = {**h, "Content-Encoding": "br"}
    with unchanged(app):
        resp = client.post("/api/v1/sync/push", headers=br, data=b"this is not brotli", content_type="application/json")
        assert_envelope(resp, 400, "bad_br")
        whole = brotli.compress(json.dumps(_push_body(city)).encode())
        resp = client.post("/api/v1/sync/push", headers=br, data=whole[:len(whole) // 2], content_type="application/json")
        assert resp.status_code == 400 and resp.json["code"] in ("bad_br", "invalid_input")
        # a bomb: a few bytes on the wire, far beyond the limit once inflated; never inflated whole
        bomb = brotli.compress(b'{"device_id":"' + b"0" * 50_000_000 + b'"}', quality=11)
        assert len(bomb) < 4096
        resp = client.post("/api/v1/sync/push", headers=br, data=bomb, content_type="application/json")
        assert_envelope(resp, 413, "request_entity_too_large")
    resp = client.post("/api/v1/sync/push", headers=br, data=whole, content_type="application/json")
    assert resp.status_code == 200 and resp.json["results"][0]["status"] == "applied"


def test_push_envelope_errors(app, client, auth, city):
    h = auth.headers("w1")
    one = [change("household", uuid.uuid4(), {"grid_id": city["G1"], "address": "x"}, stamp(now_ms()))]
    with unchanged(app):
        body = assert_envelope(push(client, h, "dev-w1", one, schema_version=99), 426,
                               "schema_version_unsupported", "schema_version")
        assert "99" in body["detail"] and body["message"] == "应用版本过旧：请更新"
        many = [change("household", uuid.uuid4(), {"grid_id": city["G1"], "address": "x"}, stamp(now_ms()))
                for _ in range(1001)]
        assert_envelope(push(client, h, "dev-w1", many), 422, "invalid_input", "changes")
        assert_envelope(push(client, h, "dev-w2", one), 403, "wrong_device")
        assert_envelope(push(client, h, "dev-w1", one, schema_version="1"), 422, "invalid_input", "schema_version")
        resp = client.post("/api/v1/sync/push", headers=h, json={"device_id": "dev-w1", "schema_version": 1,
                                                                 "changes": one, "extra": True})
        assert_envelope(resp, 422, "invalid_input", "extra")
        resp = client.post("/api/v1/sync/push", headers=h, json={"device_id": "dev-w1", "schema_version": 1})
        assert_envelope(resp, 422, "invalid_input", "changes")
    # Exactly 1000 is allowed.
    ok = push(client, h, "dev-w1", many[:1000])
    assert ok.status_code == 200 and {r["status"] for r in ok.json["results"]} == {"applied"}


def test_bad_changes_are_rejected_one_by_one(app, client, auth, city):
    h = auth.headers("w1")
    hid = uuid.uuid4()
    bad = [
        {"entity": "household"},
        change("spaceship", uuid.uuid4(), {"x": 1}, stamp(now_ms())),
        change("household", uuid.uuid4(), {"grid_id": city["G1"], "address": "x"}, "yesterday"),
        change("household", uuid.uuid4(), {"grid_id": city["G1"], "address": "x", "wings": 2}, stamp(now_ms())),
        change("household", uuid.uuid4(), {"grid_id": city["G1"]}, stamp(now_ms())),
        change("household", uuid.uuid4(), {"grid_id": city["G1"], "address": "x"}, stamp(now_ms() + 86_400_000)),
        {**change("household", uuid.uuid4(), {"grid_id": city["G1"], "address": "x"}, stamp(now_ms())),
         "entity_id": "not-a-uuid"},
    ]
    with unchanged(app):
        resp = push(client, h, "dev-w1", bad)
        assert resp.status_code == 200, resp.json
        results = resp.json["results"]
        assert [r["status"] for r in results] == ["rejected"] * len(bad)
        assert all(r["reason"]["code"] and r["reason"]["message"] for r in results)
        assert results[5]["reason"]["code"] == "clock_ahead"
        assert results[3]["reason"]["field"] == "fields.wings"
        assert results[6]["reason"]["field"] == "entity_id"
    good = push(client, h, "dev-w1", bad[:1] + [change("household", hid, {"grid_id": city["G1"], "address": "x"},
                                                       stamp(now_ms()))])
    assert [r["status"] for r in good.json["results"]] == ["rejected", "applied"]


def test_pull_with_a_garbage_cursor_is_410(app, client, auth, city):
    h = auth.headers("w1")
    cursor = client.get("/api/v1/sync/pull", headers=h).json["cursor"]
    epoch = cursor.split(".")[0]
    with unchanged(app):
        grid = city["G1"].replace("-", "")[:12]
        for bad in ("garbage", "0.0", f"{epoch}.x", f"{epoch}.-1", f"{epoch}.999999", ".5", f"{epoch}.abc:1",
                    f"{epoch}.{grid}:99", f"{epoch}.{grid}:\u00b2", f"{epoch}.{grid}:1,", epoch):
            resp = client.get(f"/api/v1/sync/pull?cursor={bad}", headers=h)
            assert_envelope(resp, 410, "resync_required")
    assert client.get(f"/api/v1/sync/pull?cursor={cursor}", headers=h).status_code == 200


@pytest.mark.parametrize("method,url", [
    ("get", "/api/v1/households"), ("post", "/api/v1/households"), ("get", "/api/v1/sync/pull"),
    ("post", "/api/v1/sync/push"), ("get", "/api/v1/auth/me"), ("post", "/api/v1/auth/revoke"),
    ("get", "/api/v1/flags"), ("get", "/api/v1/conflicts"), ("get", "/api/v1/areas"),
])
def test_missing_auth_is_401(app, client, city, method, url):
    with unchanged(app):
        resp = getattr(client, method)(url, json={"device_id": "dev-w1", "schema_version": 1, "changes": []})
        assert_envelope(resp, 401, "auth_required")


def test_unknown_route_and_method_are_json(client, auth, city):
    h = auth.headers("w1")
    assert_envelope(client.get("/api/v1/nothing-here", headers=h), 404, "not_found")
    assert_envelope(client.delete("/api/v1/households", headers=h), 405, "method_not_allowed")
