"""Inputs that once slipped through: each is refused with a reason, per change, and the rest of
the batch goes on; nothing half-written, no 500."""
import time
import uuid

import pytest

from tests.helpers import change, push, stamp

NOW = int(time.time() * 1000)


def household(city, grid="G1"):
    return {"grid_id": city[grid], "address": "和平路1号"}


@pytest.mark.parametrize("fields,field", [
    ({"address": "a\x00b"}, "address"),
    ({"note": "x\x00"}, "note"),
])
def test_nul_characters_are_refused(client, auth, city, fields, field):
    resp = push(client, auth.headers("w1"), "dev-w1", [
        change("household", uuid.uuid4(), {**household(city), **fields}, stamp(NOW))])
    assert resp.status_code == 200
    assert resp.json["results"][0]["reason"]["field"] == field


def test_absurd_dates_are_refused_not_crashed(client, auth, city):
    h = auth.headers("w1")
    hid = str(uuid.uuid4())
    checks = {k: {"status": "ok"} for k in ("income", "food", "clothing", "children", "health", "housing")}
    resp = push(client, h, "dev-w1", [
        change("household", hid, household(city), stamp(NOW)),
        change("visit", uuid.uuid4(), {"household_id": hid, "visited_at": "0001-01-01T00:00:00+01:00",
                                       "checklist_version": 1, "checks": checks}, stamp(NOW, counter=1)),
        change("person", uuid.uuid4(), {"household_id": hid, "name": "王伟", "birth_date": "0001-01-01"},
               stamp(NOW, counter=2)),
    ])
    assert [r["status"] for r in resp.json["results"]] == ["applied", "rejected", "rejected"]
    assert [r["reason"]["field"] for r in resp.json["results"][1:]] == ["visited_at", "birth_date"]


def test_a_login_with_control_characters_is_a_clean_4xx(client, city):
    resp = client.post("/api/v1/auth/token", json={"username": "w1\x00", "password": "x", "device_id": "d1"})
    assert resp.status_code == 422 and resp.json["errors"]["username"]


def test_a_stamp_with_a_trailing_newline_is_malformed(client, auth, city):
    resp = push(client, auth.headers("w1"), "dev-w1", [
        change("household", uuid.uuid4(), household(city), stamp(NOW) + "\n")])
    assert resp.json["results"][0]["reason"]["code"] == "bad_stamp"


def test_a_flag_cannot_skip_its_loop_by_claiming_a_state(client, auth, city):
    h = auth.headers("comm1")
    hid, fid = str(uuid.uuid4()), str(uuid.uuid4())
    resp = push(client, h, "dev-comm1", [
        change("household", hid, household(city), stamp(NOW, "dev-comm1")),
        change("flag", fid, {"household_id": hid, "category": "elderly_alone", "colour": "red"},
               stamp(NOW, "dev-comm1", 1)),
        change("flag_event", uuid.uuid4(), {"flag_id": fid, "action": "close", "from_state": "verified"},
               stamp(NOW, "dev-comm1", 2)),
    ])
    assert [r["status"] for r in resp.json["results"]] == ["applied", "applied", "rejected"]
    assert resp.json["results"][2]["reason"]["code"] == "unknown_state"
    assert client.get(f"/api/v1/flags/{fid}", headers=h).json["state"] == "reported"


def test_a_refused_escalation_leaves_the_flag_where_it_was(client, auth, city):
    h = auth.headers("comm1")
    hid, fid = str(uuid.uuid4()), str(uuid.uuid4())
    resp = push(client, h, "dev-comm1", [
        change("household", hid, household(city), stamp(NOW, "dev-comm1")),
        change("flag", fid, {"household_id": hid, "category": "elderly_alone", "colour": "red"},
               stamp(NOW, "dev-comm1", 1)),
        change("flag_event", uuid.uuid4(), {"flag_id": fid, "action": "escalate", "level": "street",
                                            "visit_id": str(uuid.uuid4())}, stamp(NOW, "dev-comm1", 2)),
        change("flag_event", uuid.uuid4(), {"flag_id": fid, "action": "escalate", "level": "street"},
               stamp(NOW, "dev-comm1", 3)),
    ])
    assert [r["status"] for r in resp.json["results"]] == ["applied", "applied", "rejected", "applied"]
    assert client.get(f"/api/v1/flags/{fid}", headers=h).json["current_level"] == "street"


def test_a_create_with_an_existing_id_is_409_not_an_overwrite(client, auth, city):
    h = auth.headers("w1")
    first = client.post("/api/v1/households", headers=h, json=household(city))
    assert first.status_code == 201
    again = client.post("/api/v1/households", headers=h,
                        json={"id": first.json["id"], "grid_id": city["G1"], "address": "改了"})
    assert again.status_code == 409
    assert client.get(f"/api/v1/households/{first.json['id']}", headers=h).json["address"] == "和平路1号"


def test_a_record_in_another_grid_is_not_acknowledged_by_a_move(client, auth, city):
    theirs = client.post("/api/v1/households", headers=auth.headers("w2"), json=household(city, "G2")).json["id"]
    resp = push(client, auth.headers("w1"), "dev-w1", [
        change("household", theirs, household(city, "G1"), stamp(NOW))])
    assert resp.json["results"][0]["reason"]["code"] == "out_of_scope"


@pytest.mark.parametrize("path", ["/api/v1/households", "/api/v1/flags", "/api/v1/conflicts",
                                  "/api/v1/duplicates/reviews", "/api/v1/duplicates/merges"])
def test_an_absurd_page_number_is_a_422_not_a_500(client, auth, city, path):
    resp = client.get(f"{path}?page=36893488147419103233", headers=auth.headers("comm1"))
    assert resp.status_code == 422 and "page" in resp.json["errors"]
