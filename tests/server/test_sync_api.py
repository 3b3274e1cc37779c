"""Sync stories told through the HTTP API: conflicts kept and resolved, append-only visits,
flag events, clear rejections, and the resync signal."""
import datetime as dt
import gzip
import json
import time
import uuid

import brotli
import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import ChangeLog, Conflict, Household
from sync.checklist import CHECK_KEYS
from tests.helpers import change, pull_all, push, stamp

NOW = int(time.time() * 1000)


def checks(**over):
    out = {k: {"status": "ok", "answers": {}, "note": ""} for k in CHECK_KEYS}
    out.update(over)
    return out


def _iso(ms):
    """A visit time (after the household was registered, as a worker at the door dates it)."""
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).isoformat().replace("+00:00", "Z")


def make_household(client, h, city, device="dev-w1", ms=NOW - 60_000):
    hid = str(uuid.uuid4())
    resp = push(client, h, device, [change("household", hid, {"grid_id": city["G1"], "address": "和平路1号"},
                                           stamp(ms, device))])
    assert resp.json["results"][0]["status"] == "applied"
    return hid


def test_two_devices_set_the_same_field_the_loser_is_kept_and_can_be_restored(client, auth, city, app):
    a, b = auth.headers("w1", "tab-a"), auth.headers("w12", "tab-b")
    hid = make_household(client, a, city, device="tab-a")
    base = {"head_name": None}
    r1 = push(client, a, "tab-a", [change("household", hid, {"head_name": "王伟"}, stamp(NOW - 5000, "tab-a"), base)])
    r2 = push(client, b, "tab-b", [change("household", hid, {"head_name": "王玮"}, stamp(NOW - 4000, "tab-b"), base)])
    assert r1.json["results"][0]["status"] == "applied"
    assert r2.json["results"][0] == {**r2.json["results"][0], "status": "merged_with_conflict",
                                     "conflicts": ["head_name"]}
    assert client.get(f"/api/v1/households/{hid}", headers=a).json["head_name"] == "王玮"
    (conflict,) = client.get("/api/v1/conflicts", headers=auth.headers("comm1")).json
    assert (conflict["field"], conflict["kept_value"], conflict["lost_value"]) == ("head_name", "王玮", "王伟")
    resp = client.post(f"/api/v1/conflicts/{conflict['id']}/resolve", headers=auth.headers("comm1"),
                       json={"choice": "restore"})
    assert resp.status_code == 200 and resp.json["status"] == "resolved"
    assert client.get(f"/api/v1/households/{hid}", headers=a).json["head_name"] == "王伟"
    # the restore is an ordinary change: the devices pull it
    changes, _ = pull_all(client, b)
    assert changes[-1]["fields"] == {"head_name": "王伟"}
    again = client.post(f"/api/v1/conflicts/{conflict['id']}/resolve", headers=auth.headers("comm1"),
                        json={"choice": "keep"})
    assert again.status_code == 409


def test_conflicts_are_listed_only_in_ones_area(client, auth, city):
    a, b = auth.headers("w1", "tab-a"), auth.headers("w12", "tab-b")
    hid = make_household(client, a, city, device="tab-a")
    push(client, a, "tab-a", [change("household", hid, {"note": "x"}, stamp(NOW - 5000, "tab-a"), {"note": None})])
    push(client, b, "tab-b", [change("household", hid, {"note": "y"}, stamp(NOW - 4000, "tab-b"), {"note": None})])
    assert len(client.get("/api/v1/conflicts", headers=auth.headers("w1")).json) == 1
    assert client.get("/api/v1/conflicts", headers=auth.headers("w3")).json == []


def test_visits_are_append_only_and_corrected_by_amendments(client, auth, city):
    h = auth.headers("w1")
    hid = make_household(client, h, city)
    vid = str(uuid.uuid4())
    visit = {"household_id": hid, "visited_at": _iso(NOW - 30_000), "checklist_version": 1,
             "checks": checks()}
    assert push(client, h, "dev-w1", [change("visit", vid, visit, stamp(NOW - 3000))]).json["results"][0][
        "status"] == "applied"
    edit = push(client, h, "dev-w1", [change("visit", vid, {**visit, "note": "changed"}, stamp(NOW - 2000))])
    assert edit.json["results"][0]["reason"]["code"] == "append_only"
    amend = push(client, h, "dev-w1", [change("visit", uuid.uuid4(), {
        **visit, "amends_id": vid, "checks": checks(children={"status": "urgent", "answers": {}, "note": "no carer"})},
        stamp(NOW - 1000))])
    assert amend.json["results"][0]["status"] == "applied"
    listed = client.get(f"/api/v1/visits?household_id={hid}", headers=h).json
    assert sorted(v["amends_id"] or "" for v in listed) == ["", vid]
    bad = push(client, h, "dev-w1", [change("visit", uuid.uuid4(), {**visit, "amends_id": str(uuid.uuid4())},
                                            stamp(NOW - 500))])
    assert bad.json["results"][0]["reason"]["code"] == "unknown_reference"


def test_a_flag_moves_through_its_loop_by_pushed_events(client, auth, city):
    h, staff = auth.headers("w1"), auth.headers("comm1")
    hid = make_household(client, h, city)
    fid, vid = str(uuid.uuid4()), str(uuid.uuid4())
    t = NOW - 50_000
    raised = push(client, h, "dev-w1", [change("flag", fid, {
        "household_id": hid, "category": "de_facto_unsupported_child", "colour": "red"}, stamp(t))])
    assert raised.json["results"][0]["status"] == "applied"
    refused = push(client, h, "dev-w1", [change("flag_event", uuid.uuid4(), {
        "flag_id": fid, "action": "confirm", "from_state": "reported"}, stamp(t + 1))])
    assert refused.json["results"][0]["reason"]["code"] == "not_allowed"
    steps = [change("flag_event", uuid.uuid4(), {"flag_id": fid, "action": action, "from_state": frm},
                    stamp(t + 10 + i, "dev-comm1"))
             for i, (action, frm) in enumerate([("confirm", "reported"), ("start", "confirmed"),
                                                ("resolve", "in_progress")])]
    assert {r["status"] for r in push(client, staff, "dev-comm1", steps).json["results"]} == {"applied"}
    verify = [change("visit", vid, {"household_id": hid, "visited_at": _iso(NOW),
                                    "checklist_version": 1, "checks": checks()}, stamp(t + 20)),
              change("flag_event", uuid.uuid4(), {"flag_id": fid, "action": "verify", "from_state": "resolved",
                                                  "visit_id": vid}, stamp(t + 21))]
    assert {r["status"] for r in push(client, h, "dev-w1", verify).json["results"]} == {"applied"}
    flag = client.get(f"/api/v1/flags/{fid}", headers=h).json
    assert flag["state"] == "verified" and len(flag["events"]) == 4
    # a stale reject, made offline before "start", arrives late: it cannot undo the later steps
    stale = push(client, staff, "dev-comm1", [change("flag_event", uuid.uuid4(), {
        "flag_id": fid, "action": "reject", "from_state": "confirmed"}, stamp(t + 11, "dev-comm1", counter=5))])
    assert stale.json["results"][0]["status"] == "applied"
    flag = client.get(f"/api/v1/flags/{fid}", headers=h).json
    assert flag["state"] == "verified"
    assert len(flag["concurrent_event_ids"]) == 1
    illegal = push(client, staff, "dev-comm1", [change("flag_event", uuid.uuid4(), {
        "flag_id": fid, "action": "close", "from_state": "reported"}, stamp(t + 30, "dev-comm1"))])
    assert illegal.json["results"][0]["reason"]["field"] == "action"


def test_rejections_say_why_and_write_nothing(client, auth, city, app):
    h = auth.headers("w1")
    with app.app_context():
        before = db.session.execute(select(func.count()).select_from(ChangeLog)).scalar_one()
    far = int(time.time() * 1000) + 3 * 3600 * 1000
    resp = push(client, h, "dev-w1", [
        change("household", uuid.uuid4(), {"grid_id": city["G1"], "address": "a"}, stamp(far)),
        change("household", uuid.uuid4(), {"grid_id": city["G1"], "address": "a"}, stamp(NOW, "someone-else")),
        change("household", uuid.uuid4(), {"grid_id": city["G2"], "address": "a"}, stamp(NOW)),
        {**change("household", uuid.uuid4(), {"address": "a"}, stamp(NOW)), "entity": "spaceship"},
        change("person", uuid.uuid4(), {"household_id": str(uuid.uuid4()), "name": "王伟"}, stamp(NOW)),
        change("household", uuid.uuid4(), {"grid_id": city["G1"], "address": "a", "colour": "red"}, stamp(NOW)),
    ])
    codes = [r["reason"]["code"] for r in resp.json["results"]]
    # a household the server does not have answers like one outside the worker's grids
    assert codes == ["clock_ahead", "stamp_node_mismatch", "out_of_scope", "unknown_entity", "out_of_scope",
                     "invalid_change"]
    assert all(r["status"] == "rejected" for r in resp.json["results"])
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(ChangeLog)).scalar_one() == before
        assert db.session.execute(select(func.count()).select_from(Household)).scalar_one() == 0


def test_a_change_rejected_once_is_not_acknowledged_when_resent_fixed(client, auth, city):
    h = auth.headers("w1")
    cid = str(uuid.uuid4())
    hid = str(uuid.uuid4())
    bad = change("household", hid, {"grid_id": city["G1"]}, stamp(NOW), change_id=cid)
    good = change("household", hid, {"grid_id": city["G1"], "address": "和平路2号"}, stamp(NOW), change_id=cid)
    resp = push(client, h, "dev-w1", [bad, good])
    assert [r["status"] for r in resp.json["results"]] == ["rejected", "applied"]


def test_unknown_cursors_and_untrusted_devices_are_told_to_resync(client, auth, city, app):
    h = auth.headers("w1")
    make_household(client, h, city)
    changes, cursor = pull_all(client, h)
    assert len(changes) == 1
    epoch, position = cursor.split(".")
    grid, seq = position.split(":")
    for bad in (f"{epoch}.{grid}:{int(seq) + 10}", f"deadbeef.{position}", "garbage", f"{epoch}.{seq}",
                f"{epoch}.{grid}:{seq}\u00b2", f"{epoch}.{grid}:\u0661", f"{epoch}.{position},{position}"):
        resp = client.get(f"/api/v1/sync/pull?cursor={bad}", headers=h)
        assert resp.status_code == 410 and resp.json["code"] == "resync_required"
    runner = app.test_cli_runner()
    assert runner.invoke(args=["reset-sync-epoch"]).exit_code == 0
    assert client.get(f"/api/v1/sync/pull?cursor={cursor}", headers=h).status_code == 410
    again, fresh = pull_all(client, h)
    assert [c["change_id"] for c in again] == [c["change_id"] for c in changes]
    assert client.get(f"/api/v1/sync/pull?cursor={fresh}", headers=h).status_code == 200
    # a tablet handed to another worker must start over before its cursor is trusted
    auth.login("w12", "dev-w1")
    h12 = {"Authorization": "Bearer " + auth.login("w12", "dev-w1")["token"]}
    assert client.get(f"/api/v1/sync/pull?cursor={fresh}", headers=h12).status_code == 410
    assert client.get("/api/v1/sync/pull", headers=h12).status_code == 200
    assert client.get(f"/api/v1/sync/pull?cursor={fresh}", headers=h12).status_code == 200


def test_pull_pages_in_order_and_compresses(client, auth, city):
    h = auth.headers("w1")
    hids = [str(uuid.uuid4()) for _ in range(30)]
    push(client, h, "dev-w1", [change("household", hid, {"grid_id": city["G1"], "address": f"路{i}号"},
                                      stamp(NOW - 1000, counter=i)) for i, hid in enumerate(hids)])
    paged, _ = pull_all(client, h, limit=7)
    assert [c["entity_id"] for c in paged] == hids
    resp = client.get("/api/v1/sync/pull?limit=30", headers={**h, "Accept-Encoding": "gzip"})
    assert resp.headers["Content-Encoding"] == "gzip"
    assert len(json.loads(gzip.decompress(resp.data))["changes"]) == 30


def test_conflict_values_of_personal_fields_are_encrypted_and_masked(client, auth, city, app):
    a, b = auth.headers("w1", "tab-a"), auth.headers("w12", "tab-b")
    hid = make_household(client, a, city, device="tab-a")
    push(client, a, "tab-a", [change("household", hid, {"phone": "13800138000"}, stamp(NOW - 5000, "tab-a"),
                                     {"phone": None})])
    push(client, b, "tab-b", [change("household", hid, {"phone": "13900139000"}, stamp(NOW - 4000, "tab-b"),
                                     {"phone": None})])
    with app.app_context():
        (row,) = db.session.execute(select(Conflict)).scalars()
        assert b"13800138000" not in bytes(row.values_enc)
    (full,) = client.get("/api/v1/conflicts", headers=a).json
    assert full["lost_value"] == "13800138000"
    (masked,) = client.get("/api/v1/conflicts", headers=auth.headers("street1")).json
    assert masked["lost_value"] == "138****8000"


def test_a_flags_colour_and_level_move_only_by_events(client, auth, city):
    h = auth.headers("w1")
    hid, fid = make_household(client, h, city), str(uuid.uuid4())
    push(client, h, "dev-w1", [change("flag", fid, {"household_id": hid, "category": "elderly_alone",
                                                    "colour": "green"}, stamp(NOW - 9000))])
    for fields in ({"colour": "red"}, {"level": "bureau"}):
        resp = push(client, h, "dev-w1", [change("flag", fid, fields, stamp(NOW - 8000))])
        assert resp.json["results"][0]["reason"]["code"] == "immutable_field"
    flag = client.get(f"/api/v1/flags/{fid}", headers=h).json
    assert (flag["current_colour"], flag["current_level"]) == ("green", "community")
    note = push(client, h, "dev-w1", [change("flag", fid, {"note": "独居"}, stamp(NOW - 7000))])
    assert note.json["results"][0]["status"] == "applied"


def test_a_pull_does_not_echo_what_the_device_pushed_since_its_replica_began(client, auth, city):
    """After its first pull, a tablet's own pushes do not come back (it holds them): the cursor
    moves past them. Another tablet's change, and an edit made online with the same tablet's
    token (stamped by the server's clock), do come; so does everything after a pull from the
    start, for a tablet that may have lost its store."""
    a, b = auth.headers("w1", "tab-a"), auth.headers("w12", "tab-b")
    mine = make_household(client, a, city, device="tab-a")
    _, cursor = pull_all(client, a)                                    # the replica begins
    pushed = [change("household", str(uuid.uuid4()), {"grid_id": city["G1"], "address": f"路{i}号"},
                     stamp(NOW - 900 + i, "tab-a")) for i in range(5)]
    assert {r["status"] for r in push(client, a, "tab-a", pushed).json["results"]} == {"applied"}
    theirs = make_household(client, b, city, device="tab-b", ms=NOW - 800)
    assert client.patch(f"/api/v1/households/{mine}", headers=a, json={"note": "网上修改"}).status_code == 200
    got, head = pull_all(client, a, cursor, limit=2)
    assert [(c["entity_id"], c["device_id"]) for c in got] == [(theirs, "tab-b"), (mine, "tab-a")]
    assert got[1]["fields"] == {"note": "网上修改"}
    assert pull_all(client, a, head)[0] == []
    everything, _ = pull_all(client, a)                                # from the start again
    assert {c["entity_id"] for c in everything} >= {c["entity_id"] for c in pushed} | {mine, theirs}


def test_a_no_op_exchange_says_only_what_the_device_lacks(client, auth, city):
    """A no-op on a cheap link is a few bytes: no results without changes, no empty page, no
    versions the device already holds; the token names the device."""
    h = auth.headers("w1")
    first = client.post("/api/v1/sync/exchange", headers=h, json={"schema_version": 1})
    assert first.status_code == 200, first.json
    assert {"versions", "worker", "config", "cursor"} <= set(first.json)
    assert "results" not in first.json
    have, cursor = first.json["versions"], first.json["cursor"]
    again = client.post("/api/v1/sync/exchange", headers=h,
                        json={"schema_version": 1, "cursor": cursor, "have": have})
    # nothing sent, nothing new, nothing changed: nothing said
    assert again.status_code == 200 and again.json == {}
    # a change pushed by another tablet comes as a page; results only for what was sent
    hid = str(uuid.uuid4())
    other = client.post("/api/v1/sync/exchange", headers=auth.headers("w1", "dev-w1b"), json={
        "schema_version": 1, "changes": [change("household", hid, {"grid_id": city["G1"], "address": "路1号"},
                                                stamp(NOW - 1000, "dev-w1b"))]})
    assert [r["status"] for r in other.json["results"]] == ["applied"]
    news = client.post("/api/v1/sync/exchange", headers=h, json={"schema_version": 1, "cursor": cursor, "have": have})
    assert [c["entity_id"] for c in news.json["changes"]] == [hid] and "versions" not in news.json
    assert news.json["cursor"] != cursor and "more" not in news.json and news.json["server_stamp"]
    # a stale version held: the current ones come back
    stale = client.post("/api/v1/sync/exchange", headers=h,
                        json={"schema_version": 1, "cursor": cursor, "have": dict(have, config="0")})
    assert stale.json["versions"] == have and "config" in stale.json and "worker" not in stale.json


def test_an_exchange_naming_another_device_is_refused(client, auth, city):
    resp = client.post("/api/v1/sync/exchange", headers=auth.headers("w1"),
                       json={"schema_version": 1, "device_id": "someone-else"})
    assert resp.status_code == 403 and resp.json["code"] == "wrong_device"


@pytest.mark.parametrize("accept, coding", [("br, gzip", "br"), ("gzip", "gzip"), ("gzip, br;q=0", "gzip"),
                                            ("identity", None)])
def test_answers_are_compressed_as_the_client_accepts(client, auth, city, accept, coding):
    h = auth.headers("w1")
    push(client, h, "dev-w1", [change("household", str(uuid.uuid4()), {"grid_id": city["G1"], "address": f"路{i}号"},
                                      stamp(NOW - 1000, counter=i)) for i in range(30)])
    resp = client.get("/api/v1/sync/pull?limit=30", headers={**h, "Accept-Encoding": accept})
    assert resp.headers.get("Content-Encoding") == coding
    raw = {"br": brotli.decompress, "gzip": gzip.decompress, None: lambda b: b}[coding](resp.data)
    assert len(json.loads(raw)["changes"]) == 30
