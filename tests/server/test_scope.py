"""Scope from the outside: each role sees and changes only its own area, whatever the endpoint."""
import datetime as dt
import time
import uuid

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import ChangeLog, Household, Person
from server.services.server_changes import apply_as_server, server_change
from sync.checklist import CHECK_KEYS
from tests.helpers import change, pull_all, push, stamp

GRIDS = ("G1", "G2", "G3", "G4")
VISIBLE = {
    "w1": {"G1"}, "w2": {"G2"}, "w3": {"G3"}, "w12": {"G1", "G2"}, "comm1": {"G1", "G2"},
    "street1": {"G1", "G2", "G3"}, "district2": {"G4"},
}


def _checks():
    return {k: {"status": "ok", "answers": {}, "note": ""} for k in CHECK_KEYS}


@pytest.fixture
def world(app, city):
    """One household with one person in each grid, a recent visit in G1, an old one in G3, and a
    red flag on G1's household; written by the server as the demo data is."""
    out = {"household": {}, "person": {}, "visit": {}, "flag": {}}
    now = dt.datetime.now(dt.timezone.utc)
    with app.app_context():
        changes = []

        def add(entity, code, fields):
            eid = uuid.uuid4()
            out[entity][code] = str(eid)
            changes.append(server_change(entity, eid, fields))

        for code in GRIDS:
            add("household", code, {"grid_id": city[code], "address": f"{code}路1号", "phone": "13800138000"})
            add("person", code, {"household_id": out["household"][code], "name": f"居民{code}",
                                 "id_number": "11010519491231002X"})
        for code, days in (("G1", 3), ("G3", 60)):
            when = (now - dt.timedelta(days=days)).isoformat().replace("+00:00", "Z")
            add("visit", code, {"household_id": out["household"][code], "visited_at": when,
                                "checklist_version": 1, "checks": _checks()})
        add("flag", "G1", {"household_id": out["household"]["G1"], "category": "illness_poverty", "colour": "red"})
        done = apply_as_server(changes)
        assert {r["status"] for r in done.results} == {"applied"}, done.results
        db.session.commit()
    return out


def household_state(app, hid):
    with app.app_context():
        row = db.session.get(Household, uuid.UUID(hid))
        logged = db.session.execute(select(func.count()).select_from(ChangeLog).where(
            ChangeLog.entity_id == uuid.UUID(hid))).scalar_one()
        return row.address, dict(row.stamps), logged


def test_worker_cannot_read_another_grids_household(client, auth, world):
    h = auth.headers("w1")
    assert client.get(f"/api/v1/households/{world['household']['G1']}", headers=h).status_code == 200
    for code in ("G2", "G3", "G4"):
        resp = client.get(f"/api/v1/households/{world['household'][code]}", headers=h)
        assert resp.status_code == 404
        assert resp.json["code"] == "not_found"
        assert client.get(f"/api/v1/persons/{world['person'][code]}", headers=h).status_code == 404
        assert client.get(f"/api/v1/households/{world['household'][code]}/persons", headers=h).status_code == 404
        assert client.get(f"/api/v1/visits?household_id={world['household'][code]}", headers=h).status_code == 404
    # An out-of-area record answers exactly like one that does not exist.
    missing = client.get(f"/api/v1/households/{uuid.uuid4()}", headers=h)
    assert missing.status_code == 404 and missing.json["code"] == "not_found"


def test_worker_cannot_patch_another_grids_household(app, client, auth, world):
    hid = world["household"]["G2"]
    before = household_state(app, hid)
    resp = client.patch(f"/api/v1/households/{hid}", headers=auth.headers("w1"), json={"address": "改了"})
    assert resp.status_code == 404
    assert household_state(app, hid) == before


@pytest.mark.parametrize("username", ["w1", "w12"])
def test_a_household_cannot_move_into_another_grid(app, client, auth, city, world, username):
    # not even by a worker holding both grids: devices pull by grid (see ingest._cross_grid)
    hid = world["household"]["G1"]
    before = household_state(app, hid)
    resp = client.patch(f"/api/v1/households/{hid}", headers=auth.headers(username), json={"grid_id": city["G2"]})
    assert resp.status_code == 422
    assert resp.json["code"] == "cross_grid_move"
    assert household_state(app, hid) == before


def test_push_for_another_grid_is_rejected_per_change_and_writes_nothing(app, client, auth, city, world):
    hid = world["household"]["G2"]
    before = household_state(app, hid)
    new_hid = uuid.uuid4()
    now = int(time.time() * 1000)
    ok_hid = uuid.uuid4()
    resp = push(client, auth.headers("w1"), "dev-w1", [
        change("household", hid, {"address": "偷改"}, stamp(now)),
        change("household", new_hid, {"grid_id": city["G2"], "address": "新户"}, stamp(now, counter=1)),
        change("person", uuid.uuid4(), {"household_id": hid, "name": "外人"}, stamp(now, counter=2)),
        change("household", ok_hid, {"grid_id": city["G1"], "address": "本网格"}, stamp(now, counter=3)),
    ])
    assert resp.status_code == 200, resp.json
    results = resp.json["results"]
    assert [r["status"] for r in results] == ["rejected", "rejected", "rejected", "applied"]
    assert [r["reason"]["code"] for r in results[:3]] == ["out_of_scope"] * 3
    assert household_state(app, hid) == before
    with app.app_context():
        assert db.session.get(Household, new_hid) is None
        assert db.session.execute(select(func.count()).select_from(ChangeLog).where(
            ChangeLog.entity_id == new_hid)).scalar_one() == 0
        assert db.session.execute(select(func.count()).select_from(Person).where(
            Person.household_id == uuid.UUID(hid))).scalar_one() == 1
        assert db.session.get(Household, ok_hid) is not None


def test_worker_cannot_create_a_person_in_another_grids_household(app, client, auth, city, world):
    hid = world["household"]["G2"]
    resp = client.post("/api/v1/persons", headers=auth.headers("w1"), json={"household_id": hid, "name": "外人"})
    assert resp.status_code == 404
    assert resp.json["code"] == "out_of_scope"
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Person).where(
            Person.household_id == uuid.UUID(hid))).scalar_one() == 1
        assert db.session.execute(select(func.count()).select_from(ChangeLog).where(
            ChangeLog.entity == "person", ChangeLog.grid_id == uuid.UUID(city["G2"]))).scalar_one() == 1
    # The same request in one's own grid works.
    own = client.post("/api/v1/persons", headers=auth.headers("w1"),
                      json={"household_id": world["household"]["G1"], "name": "新生"})
    assert own.status_code == 201, own.json


@pytest.mark.parametrize("username", sorted(VISIBLE))
def test_each_reader_sees_exactly_its_area(client, auth, world, username):
    h = auth.headers(username)
    expected = VISIBLE[username]
    listed = client.get("/api/v1/households", headers=h)
    assert listed.status_code == 200
    assert {r["id"] for r in listed.json} == {world["household"][c] for c in expected}
    for code in GRIDS:
        want = 200 if code in expected else 404
        assert client.get(f"/api/v1/households/{world['household'][code]}", headers=h).status_code == want
        assert client.get(f"/api/v1/persons/{world['person'][code]}", headers=h).status_code == want
    if "G1" in expected:
        flags = client.get("/api/v1/flags", headers=h)
        assert [f["id"] for f in flags.json] == [world["flag"]["G1"]]
        assert client.get(f"/api/v1/visits/{world['visit']['G1']}", headers=h).status_code == 200
    else:
        assert client.get("/api/v1/flags", headers=h).json == []
        assert client.get(f"/api/v1/visits/{world['visit']['G1']}", headers=h).status_code == 404


def test_list_filters_cannot_widen_scope(client, auth, city, world):
    h = auth.headers("w1")
    for url in (f"/api/v1/households?grid_id={city['G2']}", f"/api/v1/flags?grid_id={city['G2']}",
                f"/api/v1/households?grid_id={city['G2']}&include_deleted=true",
                f"/api/v1/flags?household_id={world['household']['G2']}"):
        resp = client.get(url, headers=h)
        assert resp.status_code == 200
        assert resp.json == []


@pytest.mark.parametrize("username", ["bureau", "admin"])
def test_bureau_and_admin_get_403_on_records(client, auth, city, world, username):
    h = auth.headers(username)
    hid, pid = world["household"]["G1"], world["person"]["G1"]
    for method, url, body in [
        ("get", "/api/v1/households", None), ("get", f"/api/v1/households/{hid}", None),
        ("get", f"/api/v1/households/{hid}/persons", None), ("get", f"/api/v1/persons/{pid}", None),
        ("get", f"/api/v1/visits?household_id={hid}", None),
        ("get", "/api/v1/conflicts", None),
        ("post", "/api/v1/households", {"grid_id": city["G1"], "address": "x"}),
        ("patch", f"/api/v1/households/{hid}", {"address": "x"}),
        ("post", "/api/v1/persons", {"household_id": hid, "name": "x"}),
        ("get", "/api/v1/sync/pull", None),
    ]:
        resp = getattr(client, method)(url, headers=h, json=body)
        assert resp.status_code == 403, (method, url, resp.json)
        assert resp.json["code"] == "forbidden"
    flags = client.get("/api/v1/flags", headers=h)
    if username == "admin":
        assert flags.status_code == 403
    else:
        # the bureau sees only flags escalated to the bureau: none in this world
        assert flags.status_code == 200 and flags.json == []


def test_bureau_summary_counts(client, auth, city, world):
    resp = client.get(f"/api/v1/areas/{city['X']}/summary", headers=auth.headers("bureau"))
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert body["area"]["code"] == "X"
    assert body["households"] == 4
    assert body["persons"] == 4
    assert body["visited_30d"] == 1
    assert body["visited_90d"] == 2
    assert body["flags_open"] == {"red": 1}
    assert body["flags_by_state"] == {"reported": 1}
    d2 = client.get(f"/api/v1/areas/{city['D2']}/summary", headers=auth.headers("bureau")).json
    assert (d2["households"], d2["persons"], d2["visited_90d"], d2["flags_open"]) == (1, 1, 0, {})
    areas = client.get("/api/v1/areas", headers=auth.headers("bureau"))
    assert len(areas.json) == 12


def test_summaries_follow_the_area_tree(client, auth, city, world):
    c1 = client.get(f"/api/v1/areas/{city['C1']}/summary", headers=auth.headers("comm1"))
    assert c1.status_code == 200 and c1.json["households"] == 2
    assert client.get(f"/api/v1/areas/{city['X']}/summary", headers=auth.headers("comm1")).status_code == 404
    assert client.get(f"/api/v1/areas/{city['G4']}/summary", headers=auth.headers("street1")).status_code == 404
    assert client.get(f"/api/v1/areas/{city['G1']}/summary", headers=auth.headers("w1")).status_code == 403
    listed = client.get("/api/v1/areas", headers=auth.headers("comm1")).json
    assert {a["code"] for a in listed} == {"C1", "G1", "G2"}


@pytest.mark.parametrize("username", ["w1", "w12", "comm1", "w3"])
def test_pull_returns_only_in_scope_changes(client, auth, world, username):
    changes, _ = pull_all(client, auth.headers(username))
    expected = set()
    for entity, by_grid in world.items():
        expected |= {eid for code, eid in by_grid.items() if code in VISIBLE[username]}
    assert {c["entity_id"] for c in changes} == expected
    assert expected  # every one of them holds something


def test_pull_sees_a_new_change_only_in_its_own_scope(client, auth, city, world):
    _, c1 = pull_all(client, auth.headers("w1"))
    _, c2 = pull_all(client, auth.headers("w2"))
    hid = uuid.uuid4()
    resp = push(client, auth.headers("w2"), "dev-w2",
                [change("household", hid, {"grid_id": city["G2"], "address": "二号"}, stamp(int(time.time() * 1000),
                                                                                           device="dev-w2"))])
    assert resp.json["results"][0]["status"] == "applied"
    assert pull_all(client, auth.headers("w1"), c1)[0] == []
    # the pushing tablet is not sent its own change back; the same worker's other tablet gets it
    assert pull_all(client, auth.headers("w2"), c2)[0] == []
    assert [c["entity_id"] for c in pull_all(client, auth.headers("w2", "dev-w2-spare"))[0]
            if c["entity_id"] == str(hid)] == [str(hid)]
    assert str(hid) in {c["entity_id"] for c in pull_all(client, auth.headers("w12"))[0]}


@pytest.mark.parametrize("username", ["street1", "district2"])
def test_read_only_staff_cannot_write_even_in_their_area(app, client, auth, city, world, username):
    code = "G1" if username == "street1" else "G4"
    hid = world["household"][code]
    before = household_state(app, hid)
    h = auth.headers(username)
    patch = client.patch(f"/api/v1/households/{hid}", headers=h, json={"address": "改了"})
    assert patch.status_code == 403 and patch.json["code"] == "forbidden"
    created = client.post("/api/v1/households", headers=h, json={"grid_id": city[code], "address": "新户"})
    assert created.status_code == 403
    assert push(client, h, f"dev-{username}", []).status_code == 403
    assert household_state(app, hid) == before


def test_visit_in_another_grid_is_refused(app, client, auth, world):
    hid = world["household"]["G2"]
    resp = client.post("/api/v1/visits", headers=auth.headers("w1"), json={
        "household_id": hid, "visited_at": "2024-05-01T10:00:00+08:00", "checklist_version": 1,
        "checks": _checks()})
    assert resp.status_code == 404
    assert resp.json["code"] == "out_of_scope"
    assert client.get(f"/api/v1/visits?household_id={hid}", headers=auth.headers("w2")).json == []


def test_moving_a_household_needs_write_rights_on_both_grids(app, client, auth, city, world):
    hid = world["household"]["G1"]
    before = household_state(app, hid)
    for user, grid, status in (("street1", city["G2"], 403), ("w1", city["G2"], 404), ("w2", city["G1"], 404),
                               ("comm1", city["G3"], 404), ("comm1", str(uuid.uuid4()), 404),
                               ("comm1", city["C1"], 404)):
        resp = client.post(f"/api/v1/households/{hid}/move", headers=auth.headers(user), json={"grid_id": grid})
        assert resp.status_code == status, (user, resp.json)
    bad = client.post(f"/api/v1/households/{hid}/move", headers=auth.headers("comm1"), json={"grid_id": "G2"})
    assert bad.status_code == 422 and "grid_id" in str(bad.json)
    assert household_state(app, hid) == before
    moved = client.post(f"/api/v1/households/{hid}/move", headers=auth.headers("w12"), json={"grid_id": city["G2"]})
    assert moved.status_code == 200 and moved.json["grid_id"] == city["G2"]
    assert client.get(f"/api/v1/households/{hid}", headers=auth.headers("w1")).status_code == 404
    assert client.get(f"/api/v1/households/{hid}", headers=auth.headers("w2")).status_code == 200
