"""Strict input at the edge: cursors, ids, stamps and page numbers are read by anchored ASCII
patterns, so a Unicode digit is refused as the docs say (410 for a cursor, 4xx for the rest),
never taken for an ASCII one and never a 500; invalid UTF-8 is a 4xx JSON answer (issue 11)."""
import time
import uuid
from urllib.parse import quote

import pytest

from tests.helpers import change, push, stamp

NOW = int(time.time() * 1000)
#: one of each kind of non-ASCII digit Python's int() or str.isdigit() would take
DIGITS = ["\u00b2", "\u0663", "\u06f3", "\uff13", "\u0e53", "\U0001d7d1"]   # ², ٣, ۳, ３, ๓, 𝟑


def _household(city, grid="G1"):
    return {"grid_id": city[grid], "address": "幸福街1号"}


@pytest.fixture
def cursor(client, auth, city):
    """A real cursor of w1 with a position in its grid: ``<epoch>.<key>:1``."""
    resp = push(client, auth.headers("w1"), "dev-w1", [change("household", uuid.uuid4(), _household(city),
                                                               stamp(NOW))])
    assert resp.status_code == 200
    got = client.get("/api/v1/sync/pull", headers=auth.headers("w1", "dev-w1b"))
    assert got.status_code == 200
    text = got.json["cursor"]
    assert text.endswith(":1"), text
    return text


def _assert_resync(resp):
    assert resp.status_code == 410, resp.data
    assert resp.json["code"] == "resync_required"


@pytest.mark.parametrize("digit", DIGITS)
def test_a_unicode_digit_in_a_cursor_position_is_410(client, auth, cursor, digit):
    headers = auth.headers("w1", "dev-w1b")
    bad = cursor[:-1] + digit
    _assert_resync(client.get("/api/v1/sync/pull?cursor=" + quote(bad), headers=headers))
    first = client.post("/api/v1/sync/exchange", headers=headers, json={"device_id": "dev-w1b", "schema_version": 1})
    assert first.status_code == 200
    # with the grids it holds named, the exchange continues from the cursor: a bad one is a 410
    _assert_resync(client.post("/api/v1/sync/exchange", headers=headers, json={
        "device_id": "dev-w1b", "schema_version": 1, "cursor": bad, "have": first.json["versions"]}))


@pytest.mark.parametrize("digit", DIGITS)
def test_a_unicode_digit_in_a_cursor_epoch_or_key_is_410(client, auth, cursor, digit):
    headers = auth.headers("w1", "dev-w1b")
    epoch, _, rest = cursor.partition(".")
    for bad in (digit + epoch[1:] + "." + rest, epoch + "." + digit + rest[1:], epoch + digit + "." + rest):
        _assert_resync(client.get("/api/v1/sync/pull?cursor=" + quote(bad), headers=headers))


@pytest.mark.parametrize("raw", ["%C2%B2", "%D9%A3%D9%A3", "%FF", "%C0%AF", "%ED%A0%80", "1%00", "%E2%80%8B"])
def test_a_cursor_of_odd_bytes_is_410(client, auth, cursor, raw):
    headers = auth.headers("w1", "dev-w1b")
    _assert_resync(client.get("/api/v1/sync/pull?cursor=" + raw, headers=headers))
    _assert_resync(client.get("/api/v1/sync/pull?cursor=" + cursor + raw, headers=headers))


@pytest.mark.parametrize("digit", DIGITS)
def test_a_uuid_query_parameter_with_unicode_digits_is_422(client, auth, city, digit):
    # int(x, 16) takes these digits, so uuid.UUID alone would read them as an id
    lookalike = city["G1"][:-1] + digit
    for path in (f"/api/v1/households?grid_id={quote(lookalike)}", f"/api/v1/flags?grid_id={quote(lookalike)}",
                 f"/api/v1/visits?household_id={quote(digit * 32)}"):
        resp = client.get(path, headers=auth.headers("w1"))
        assert resp.status_code == 422, (path, resp.data)
        assert resp.json["code"] == "invalid_input"


def test_a_uuid_query_parameter_in_ascii_upper_case_or_without_hyphens_is_read(client, auth, city):
    for spelled in (city["G1"].upper(), city["G1"].replace("-", "")):
        resp = client.get(f"/api/v1/households?grid_id={spelled}", headers=auth.headers("w1"))
        assert resp.status_code == 200, resp.data


@pytest.mark.parametrize("digit", DIGITS)
@pytest.mark.parametrize("param", ["page", "per_page"])
def test_a_page_number_in_unicode_digits_is_422(client, auth, city, digit, param):
    resp = client.get(f"/api/v1/households?{param}={quote(digit)}", headers=auth.headers("w1"))
    assert resp.status_code == 422, resp.data
    assert list(resp.json["errors"]) == [param]


@pytest.mark.parametrize("digit", DIGITS)
def test_a_pull_limit_in_unicode_digits_is_422(client, auth, city, digit):
    resp = client.get(f"/api/v1/sync/pull?limit=1{quote(digit)}", headers=auth.headers("w1"))
    assert resp.status_code == 422, resp.data


@pytest.mark.parametrize("digit", DIGITS)
@pytest.mark.parametrize("where", ["entity_id", "change_id", "grid_id"])
def test_a_pushed_id_with_unicode_digits_is_refused_and_nothing_is_stored(client, auth, city, digit, where):
    ch = change("household", uuid.uuid4(), _household(city), stamp(NOW))
    if where == "grid_id":
        ch["fields"]["grid_id"] = city["G1"][:-1] + digit
    else:
        ch[where] = digit * 32
    resp = push(client, auth.headers("w1"), "dev-w1", [ch])
    assert resp.status_code == 200
    result = resp.json["results"][0]
    assert result["status"] == "rejected", result
    assert result["reason"]["field"] == where
    assert client.get("/api/v1/households", headers=auth.headers("w1")).json == []


@pytest.mark.parametrize("digit", DIGITS)
def test_a_stamp_with_unicode_digits_is_bad_stamp(client, auth, city, digit):
    good = stamp(NOW)
    for bad in (digit + good[1:], good[:14] + digit + good[15:]):
        resp = push(client, auth.headers("w1"), "dev-w1", [change("household", uuid.uuid4(), _household(city), bad)])
        assert resp.json["results"][0]["reason"]["code"] == "bad_stamp", bad


@pytest.mark.parametrize("body", [b'{"username": "\xff", "password": "x", "device_id": "d"}', b"\xff\xfe{}",
                                  b'{"device_id": "\xc0\xaf", "schema_version": 1, "changes": []}',
                                  b'{"device_id": "\xed\xa0\x80", "schema_version": 1, "changes": []}'])
@pytest.mark.parametrize("path", ["/api/v1/auth/token", "/api/v1/sync/push", "/api/v1/sync/exchange",
                                  "/api/v1/households", "/api/v1/flags"])
def test_a_body_of_invalid_utf8_is_a_4xx_json_answer(client, auth, city, body, path):
    resp = client.post(path, data=body, headers={**auth.headers("w1"), "Content-Type": "application/json"})
    assert 400 <= resp.status_code < 500, resp.data
    assert resp.json["status"] == resp.status_code
    assert isinstance(resp.json["code"], str) and isinstance(resp.json["message"], str)


@pytest.mark.parametrize("shape", ["braces", "urn", "arabic_digit"])
def test_a_rest_create_takes_its_id_in_ascii_hex_only(client, auth, city, shape):
    """The id a client chooses for a new record is read like every other id."""
    good = str(uuid.uuid4())
    sent = {"braces": "{%s}" % good, "urn": "urn:uuid:" + good,
            "arabic_digit": good[:-1] + "\u0661"}[shape]
    resp = client.post("/api/v1/households", headers=auth.headers("w1"),
                       json={"id": sent, "grid_id": city["G1"], "address": "和平路1号"})
    assert resp.status_code == 422 and "id" in resp.json.get("errors", {}), resp.json
