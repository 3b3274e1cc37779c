"""The server refuses bad typed values per change (push) and per request (REST), with a code
naming the field, and saves nothing of them (rules in sync/inputs.py)."""
import datetime as dt
import json
import time
import uuid

import pytest

from sync.checklist import CHECK_KEYS
from sync.entities import ENTITIES
from tests.helpers import change, push, stamp


def _checks():
    return {k: {"status": "ok", "answers": {}, "note": ""} for k in CHECK_KEYS}


@pytest.fixture
def home(client, auth, city):
    h = auth.headers("w1")
    resp = client.post("/api/v1/households", headers=h, json={"grid_id": city["G1"], "address": "和平路1号"})
    assert resp.status_code == 201
    return resp.json["id"]


BAD = [
    ("household", {"phone": "abc"}, "phone", "invalid_phone"),
    ("person", {"name": "王伟", "id_number": "12345"}, "id_number", "invalid_id_number"),
    ("person", {"name": "王伟", "id_number": "110105194912310020"}, "id_number", "invalid_id_number"),
    ("person", {"name": "王伟", "birth_date": "2090-01-01"}, "birth_date", "date_in_future"),
    ("flag", {"category": "bogus", "colour": "red"}, "category", "unknown_category"),
    ("visit", {"visited_at": "2030-01-01T00:00:00Z", "checklist_version": 1, "checks": _checks()},
     "visited_at", "date_in_future"),
]


@pytest.mark.parametrize("entity,fields,field,code", BAD)
def test_a_pushed_change_with_a_bad_value_is_refused_with_its_code(client, auth, home, entity, fields, field, code):
    h = auth.headers("w1")
    eid = home if entity == "household" else str(uuid.uuid4())
    if entity != "household":
        fields = dict(fields, household_id=home)
    now = int(time.time() * 1000)
    resp = push(client, h, "dev-w1", [change(entity, eid, fields, stamp(now))])
    (result,) = resp.json["results"]
    assert result["status"] == "rejected"
    assert (result["reason"]["code"], result["reason"]["field"]) == (code, field)
    if entity == "household":
        assert client.get(f"/api/v1/households/{home}", headers=h).json.get("phone") is None


@pytest.mark.parametrize("entity,fields,field,code", BAD)
def test_a_rest_write_with_a_bad_value_is_422_naming_the_field(client, auth, home, entity, fields, field, code):
    h = auth.headers("w1")
    if entity == "household":
        resp = client.patch(f"/api/v1/households/{home}", headers=h, json=fields)
    else:
        resp = client.post(f"/api/v1/{entity}s", headers=h, json=dict(fields, household_id=home))
    assert resp.status_code == 422, resp.json
    assert resp.json["code"] == code
    assert field in resp.json["errors"]


def test_good_values_in_any_spelling_are_saved(client, auth, home):
    h = auth.headers("w1")
    assert client.patch(f"/api/v1/households/{home}", headers=h, json={"phone": "010-12345678"}).status_code == 200
    resp = client.post("/api/v1/persons", headers=h, json={"household_id": home, "name": "王伟",
                                                           "id_number": "110105491231002", "phone": "+86 13800138000"})
    assert resp.status_code == 201, resp.json
    assert client.get(f"/api/v1/persons/{resp.json['id']}", headers=h).json["id_number"] == "11010519491231002X"


def test_the_message_is_chinese_by_default_and_english_on_request(client, auth, home):
    h = auth.headers("w1")
    zh = client.patch(f"/api/v1/households/{home}", headers=h, json={"phone": "abc"})
    assert zh.json["code"] == "invalid_phone"
    assert zh.json["message"].startswith("电话不是有效的电话号码") and "phone is not" in zh.json["detail"]
    en = client.patch(f"/api/v1/households/{home}", headers=dict(h, **{"Accept-Language": "en-US,en;q=0.8"}),
                      json={"phone": "abc"})
    assert en.json["code"] == "invalid_phone" and en.json["message"].startswith("phone is not a phone number")
    assert "detail" not in en.json
    assert client.get("/api/v1/households?lang=en").json["message"].startswith("send a bearer token")
    assert client.get("/api/v1/households").json["message"] == "请先登录"


TYPED = {"households": ("address", "building", "head_name", "phone", "note"),
         "persons": ("name", "birth_date", "id_number", "phone", "relation", "gender")}


def test_random_values_in_every_typed_field_never_fail_the_server_or_save_an_invalid_value(client, auth, home):
    from hypothesis import HealthCheck, given, settings, strategies as st

    from sync import inputs
    h = auth.headers("w1")
    pid = client.post("/api/v1/persons", headers=h, json={"household_id": home, "name": "王伟"}).json["id"]

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(kind=st.sampled_from(sorted(TYPED)), data=st.data(),
           value=st.one_of(st.text(max_size=40), st.from_regex(r"\A[0-9xX+ -]{5,20}\Z"), st.integers(), st.none()))
    def check(kind, data, value):
        field = data.draw(st.sampled_from(TYPED[kind]))
        rid = home if kind == "households" else pid
        # sent as any client would (the test client's own encoder stops at 64-bit integers)
        resp = client.patch(f"/api/v1/{kind}/{rid}", headers=h, data=json.dumps({field: value}),
                            content_type="application/json")
        assert resp.status_code < 500, resp.get_data(as_text=True)
        if resp.status_code != 200:
            assert resp.json["code"] and resp.json["message"]
            return
        kept = client.get(f"/api/v1/{kind}/{rid}", headers=h).json.get(field)
        if not kept:
            return
        if field == "id_number":
            assert inputs.id_number(kept) == kept
        elif field == "phone":
            inputs.phone(kept)
        elif field == "birth_date":
            inputs.birth_date("birth_date", kept, inputs.now_ms())
    check()


def test_a_device_may_not_write_an_escalation_reason(client, auth, home):
    h = auth.headers("w1")
    fid = str(uuid.uuid4())
    now = int(time.time() * 1000)
    resp = push(client, h, "dev-w1", [
        change("flag", fid, {"household_id": home, "category": "elderly_alone", "colour": "green"}, stamp(now)),
        change("flag_event", uuid.uuid4(), {"flag_id": fid, "action": "note", "reason": {"code": "overdue"}},
               stamp(now, counter=1))])
    assert [r["status"] for r in resp.json["results"]] == ["applied", "rejected"]
    assert resp.json["results"][1]["reason"]["code"] == "server_only"
    assert resp.json["results"][1]["reason"]["field"] == "reason"


def _iso(ms):
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).isoformat().replace("+00:00", "Z")


def test_a_visit_dated_before_its_household_was_registered_is_refused_per_change(client, auth, city):
    """Made offline in one batch: the household, a visit at the door, one typed a day too early;
    and one a few minutes early, as a tablet whose clock lags may date it, taken."""
    h = auth.headers("w1")
    now = int(time.time() * 1000)
    hid = str(uuid.uuid4())
    visit = lambda at, n: change("visit", uuid.uuid4(), {"household_id": hid, "visited_at": _iso(at),
                                                         "checklist_version": 1, "checks": _checks()},
                                 stamp(now, counter=n))
    resp = push(client, h, "dev-w1", [
        change("household", hid, {"grid_id": city["G1"], "address": "和平路2号"}, stamp(now)),
        visit(now - 86_400_000, 1), visit(now - 5 * 60_000, 2)])
    statuses = [r["status"] for r in resp.json["results"]]
    assert statuses == ["applied", "rejected", "applied"], resp.json
    reason = resp.json["results"][1]["reason"]
    assert (reason["code"], reason["field"]) == ("before_household", "visited_at")
    # a tablet words it by its code, in its reader's language (client_sdk/i18n.py describe)


def test_a_rest_visit_before_its_household_is_422_naming_the_field(client, auth, home):
    h = auth.headers("w1")
    body = {"household_id": home, "visited_at": "2020-01-01T00:00:00Z", "checklist_version": 1, "checks": _checks()}
    resp = client.post("/api/v1/visits", headers=h, json=body)
    assert resp.status_code == 422 and resp.json["code"] == "before_household"
    assert "visited_at" in resp.json["errors"]
    en = client.post("/api/v1/visits?lang=en", headers=h, json=body)
    assert en.json["message"].startswith("visited_at is before the household was registered")


def test_random_values_pushed_in_every_typed_field_never_fail_the_server_or_save_an_invalid_value(
        client, auth, home, city):
    """Every field of every entity (sync/entities.py), pushed as a device would: no 500, each
    change applied or refused naming its field, and what the server kept valid by its rules."""
    from hypothesis import HealthCheck, given, settings, strategies as st

    from tests.sync.test_typed_fields import BASE, FIELDS, VALUES, assert_valid
    h = auth.headers("w1")
    now = int(time.time() * 1000)
    pid = client.post("/api/v1/persons", headers=h, json={"household_id": home, "name": "王伟"}).json["id"]
    fid = str(uuid.uuid4())
    assert push(client, h, "dev-w1", [change("flag", fid, {"household_id": home, "category": "elderly_alone",
                                                           "colour": "green"}, stamp(now))]).status_code == 200
    ids = {"household": home, "person": pid, "flag": fid}
    refs = {"grid_id": city["G1"], "household_id": home, "flag_id": fid}
    tick = iter(range(1, 10**6))

    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
    @given(which=st.sampled_from(FIELDS), value=VALUES, new=st.booleans())
    def check(which, value, new):
        entity, name = which
        base = {k: refs.get(k, v) for k, v in BASE[entity].items()}
        base = dict(base, visited_at=_iso(now)) if entity == "visit" else base
        eid = str(uuid.uuid4()) if new or entity not in ids else ids[entity]
        fields = dict(base, **{name: value}) if new or entity not in ids else {name: value}
        resp = client.post("/api/v1/sync/push", headers=h, data=json.dumps({
            "device_id": "dev-w1", "schema_version": 1,
            "changes": [change(entity, eid, fields, stamp(now, counter=next(tick) % 9999))]}),
            content_type="application/json")
        assert resp.status_code < 500, resp.get_data(as_text=True)
        if resp.status_code != 200:
            assert resp.json["code"] and resp.json["message"]
            return
        (result,) = resp.json["results"]
        if result["status"] == "rejected":
            assert result["reason"]["code"] and result["reason"].get("field"), (which, value, new, result)
            return
        if entity in ("household", "person") and name in ENTITIES[entity].fields:
            kept = client.get(f"/api/v1/{entity}s/{eid}", headers=h).json
            if name in kept:
                assert_valid(entity, name, kept[name])
        elif entity == "visit":
            at = dt.datetime.fromisoformat(fields["visited_at"].replace("Z", "+00:00")).timestamp() * 1000 \
                if name == "visited_at" else now
            assert at <= time.time() * 1000 + 3_600_000
    check()
