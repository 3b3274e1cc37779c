"""The story issue 6 is done by: a red flag raised offline at a door shows its warning on the
device, reaches the community queue at sync, escalates on time when nobody acts, and closes only
after a verifying visit; every step is visible in its event log."""
import datetime as dt

import pytest
import requests

from client_sdk import Forbidden
from server.jobs import escalate_overdue
from tests.e2e.conftest import CHECKS_OK


class FakeClock:
    def __init__(self):
        self.now = dt.datetime.now(dt.timezone.utc)

    def __call__(self):
        return self.now


def _act(live, username, flag_id, action, from_state, **extra):
    resp = requests.post(f"{live.url}/api/v1/flags/{flag_id}/events", timeout=10,
                         headers={"Authorization": "Bearer " + live.token(username)},
                         json={"action": action, "from_state": from_state, **extra})
    return resp


def test_a_red_flag_from_the_door_to_closed(live, device):
    clock = FakeClock()
    live.app.extensions["wall_clock"] = clock
    tablet = device("tab-w1", "w1")
    tablet.sync()                                     # the city's checklist and rules, then offline

    # At the door, offline: a child no one looks after.
    hid = tablet.create_household(live.city["G1"], "光明巷7号", head_name="刘芳")
    child = tablet.add_person(hid, "刘小宝", relation="child", birth_date="2017-05-01")
    checks = dict(CHECKS_OK, children={"status": "urgent", "note": "父母外出务工，无人照看", "answers": {
        "children": [{"person_id": child, "age": 9, "in_school": True, "carer": "none", "left_behind": True}]}})
    warnings = tablet.suggestions(checks)
    assert warnings[0]["category"] == "de_facto_unsupported_child" and warnings[0]["colour"] == "red"
    visit = tablet.record_visit(hid, checks)
    fid = tablet.raise_flag(hid, warnings[0]["category"], warnings[0]["colour"], person_id=child,
                            note=warnings[0]["reason"])
    assert [f["id"] for f in tablet.flag_queue()] == [fid]
    with pytest.raises(Forbidden):
        tablet.move_flag(fid, "confirm")              # the community confirms, not the worker

    # Back in range: it reaches the community's queue, and the server saw the same warning.
    tablet.sync()
    queue = live.get("/flags/queue", "comm1")
    assert [(f["id"], f["current_colour"], f["current_level"]) for f in queue] == [(fid, "red", "community")]
    (server_visit,) = live.get("/visits", "w1", household_id=hid)
    assert server_visit["suggestions"][0]["category"] == "de_facto_unsupported_child"

    # Nobody acts for a day: the job moves it to the street, saying why.
    clock.now += dt.timedelta(hours=23)
    assert escalate_overdue(live.app) == 0
    clock.now += dt.timedelta(hours=2)
    assert escalate_overdue(live.app) == 1
    assert live.get("/flags/queue", "comm1") == []
    assert [f["id"] for f in live.get("/flags/queue", "street1")] == [fid]

    # The street confirms and handles it; it cannot close before a verifying visit.
    for action, frm in (("confirm", "reported"), ("start", "confirmed"), ("resolve", "in_progress")):
        assert _act(live, "street1", fid, action, frm).status_code == 201
    premature = _act(live, "street1", fid, "close", "resolved")
    assert premature.status_code == 422 and premature.json()["errors"]["action"]

    # The worker sees the verifying visit due, goes back, and verifies.
    tablet.sync()
    assert [(d["flag_id"], d["why"]) for d in tablet.due_visits()] == [(fid, "verify")]
    follow_up = tablet.record_visit(hid, dict(CHECKS_OK, children={"status": "ok", "answers": {
        "children": [{"person_id": child, "age": 9, "in_school": True, "carer": "relatives"}]}}))
    (again,) = [v for v in tablet.visits(hid) if v["id"] == follow_up]
    assert tablet.suggestions(again["checks"]) == []
    tablet.move_flag(fid, "verify", visit_id=follow_up)
    tablet.sync()
    assert _act(live, "street1", fid, "close", "verified").status_code == 201

    flag = live.get(f"/flags/{fid}", "street1")
    assert flag["state"] == "closed"
    log = [(e["action"], e["level"]) for e in flag["events"]]
    assert log == [("escalate", "street"), ("confirm", None), ("start", None), ("resolve", None),
                   ("verify", None), ("close", None)]
    assert all(e["stamp"] and e["created_at"] for e in flag["events"])
    assert flag["events"][0]["reason"]["code"] == "overdue" and flag["events"][0]["reason"]["to"] == "street"
    assert visit != follow_up
    tablet.sync()
    assert tablet.flag(fid)["state"] == "closed" and len(tablet.flag(fid)["events"]) == 6
