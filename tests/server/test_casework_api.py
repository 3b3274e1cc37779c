"""Casework through the HTTP API, on SQLite and PostgreSQL: rule suggestions stored with a visit,
the configuration devices download, who may move a flag at which level, the queues, deadlines
on a fake clock, and each worker's list of households due a visit."""
import datetime as dt
import itertools
import uuid

from server.extensions import db
from server.models import Flag, Visit
from sync.casework import DEFAULT_DEADLINE_HOURS, DEFAULT_REVISIT_DAYS
from sync.checklist import CHECK_KEYS, load_checklists
from sync.rules import load_rules
from tests.helpers import change, push, stamp

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
H = dt.timedelta(hours=1)
# device stamps: always increasing, behind the server's clock (it refuses stamps ahead of it) and
# before every visit the tests date on their fake clock (a visit is not dated before its
# household was registered: sync/inputs.py)
_ms = itertools.count(int(dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc).timestamp() * 1000), 10)


class FakeClock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def use_clock(app, start=T0):
    clock = FakeClock(start)
    app.extensions["wall_clock"] = clock
    return clock


def checks(**over):
    out = {k: {"status": "ok", "answers": {}, "note": ""} for k in CHECK_KEYS}
    out.update(over)
    return out


def pushed(client, auth, who, changes):
    dev = f"dev-{who}"
    for c in changes:
        c["stamp"] = stamp(next(_ms), dev)
    return push(client, auth.headers(who), dev, changes).json["results"]


def household(client, auth, city, who="w1", grid="G1"):
    hid = str(uuid.uuid4())
    (r,) = pushed(client, auth, who, [change("household", hid, {"grid_id": city[grid], "address": "和平路5号"}, "")])
    assert r["status"] == "applied", r
    return hid


def raise_flag(client, auth, hid, colour="red", who="w1"):
    fid = str(uuid.uuid4())
    (r,) = pushed(client, auth, who, [change("flag", fid, {"household_id": hid, "category": "elderly_alone", "colour": colour}, "")])
    assert r["status"] == "applied", r
    return fid


def visit(client, auth, hid, who="w1", at="2026-11-02T09:00:00Z", c=None):
    vid = str(uuid.uuid4())
    (r,) = pushed(client, auth, who, [change("visit", vid, {"household_id": hid, "visited_at": at,
                                                            "checklist_version": 1, "checks": c or checks()}, "")])
    assert r["status"] == "applied", r
    return vid


def act(client, auth, who, fid, action, frm=None, **kw):
    """A flag event pushed from ``who``'s device; returns the per-change result."""
    fields = {"flag_id": fid, "action": action, **({"from_state": frm} if frm else {}), **kw}
    (r,) = pushed(client, auth, who, [change("flag_event", uuid.uuid4(), fields, "")])
    return r


def resolve(client, auth, fid):
    for action, frm in (("confirm", "reported"), ("start", "confirmed"), ("resolve", "in_progress")):
        assert act(client, auth, "comm1", fid, action, frm)["status"] == "applied"


def row(app, fid):
    with app.app_context():
        return db.session.get(Flag, uuid.UUID(fid))


def aware(ts):
    return ts if ts is None or ts.tzinfo else ts.replace(tzinfo=UTC)


def get(client, auth, who, url):
    resp = client.get("/api/v1" + url, headers=auth.headers(who))
    assert resp.status_code == 200, resp.json
    return resp.json


# --- suggestions and configuration ------------------------------------------------------------

def test_a_visit_with_urgent_children_answers_stores_its_suggestions(app, client, auth, city):
    hid = household(client, auth, city)
    urgent = checks(children={"status": "urgent", "note": "孩子无人照顾", "answers": {"children": [
        {"age": 8, "in_school": True, "carer": "none"}]}}, income={"status": "concern", "answers": {
            "income_per_person": 500}})
    vid = visit(client, auth, hid, c=urgent)
    calm = visit(client, auth, hid)
    with app.app_context():
        stored = db.session.get(Visit, uuid.UUID(vid)).suggestions
        assert db.session.get(Visit, uuid.UUID(calm)).suggestions == []
    assert [(s["rule_id"], s["category"], s["colour"]) for s in stored] == [
        ("unsupported_child", "de_facto_unsupported_child", "red"), ("urgent_check", "urgent_check", "red"),
        ("below_minimum_line", "low_income", "yellow")]
    assert stored[0]["reason"] == "a child has no one caring for them"
    assert get(client, auth, "w1", f"/visits/{vid}")["suggestions"] == stored


def test_config_gives_devices_the_checklists_rules_and_times(app, client, auth, city):
    body = get(client, auth, "w1", "/config")
    assert body["checklists"] == load_checklists().as_dict()
    assert body["checklists"]["latest"] == 1
    assert sorted(body["checklists"]["versions"][0]["items"]) == sorted(CHECK_KEYS)
    assert body["rules"] == load_rules().rules
    assert body["deadline_hours"] == DEFAULT_DEADLINE_HOURS and body["revisit_days"] == DEFAULT_REVISIT_DAYS
    assert client.get("/api/v1/config").status_code == 401


# --- who may move a flag ----------------------------------------------------------------------

def test_a_grid_worker_cannot_confirm_and_community_staff_can(app, client, auth, city):
    fid = raise_flag(client, auth, household(client, auth, city))
    refused = act(client, auth, "w1", fid, "confirm", "reported")
    assert refused["status"] == "rejected" and refused["reason"]["code"] == "not_allowed"
    resp = client.post(f"/api/v1/flags/{fid}/events", headers=auth.headers("w1"),
                       json={"action": "confirm", "from_state": "reported"})
    assert resp.status_code == 422 and resp.json["code"] == "not_allowed"
    assert row(app, fid).state == "reported"
    assert act(client, auth, "comm1", fid, "confirm", "reported")["status"] == "applied"
    assert row(app, fid).state == "confirmed"


def test_street_staff_act_on_a_flag_only_once_it_is_escalated_to_the_street(app, client, auth, city):
    fid = raise_flag(client, auth, household(client, auth, city))
    url = f"/api/v1/flags/{fid}/events"
    confirm = {"action": "confirm", "from_state": "reported"}
    early = client.post(url, headers=auth.headers("street1"), json=confirm)
    assert early.status_code == 422 and early.json["code"] == "not_allowed"
    assert act(client, auth, "comm1", fid, "escalate", level="street", note="needs the street")["status"] == "applied"
    assert row(app, fid).current_level == "street"
    # now it is the street's: community staff may no longer confirm it
    assert act(client, auth, "comm1", fid, "confirm", "reported")["reason"]["code"] == "not_allowed"
    done = client.post(url, headers=auth.headers("street1"), json=confirm)
    assert done.status_code == 201, done.json
    assert done.json["action"] == "confirm"
    flag = get(client, auth, "street1", f"/flags/{fid}")
    assert (flag["state"], flag["current_level"]) == ("confirmed", "street")
    assert [e["action"] for e in flag["events"]] == ["escalate", "confirm"]


def test_the_bureau_sees_and_acts_on_bureau_level_flags_only(app, client, auth, city):
    up = raise_flag(client, auth, household(client, auth, city))
    down = raise_flag(client, auth, household(client, auth, city))
    assert act(client, auth, "comm1", up, "escalate", level="bureau")["status"] == "applied"
    assert [f["id"] for f in get(client, auth, "bureau", "/flags")] == [up]
    assert [f["id"] for f in get(client, auth, "bureau", "/flags/queue")] == [up]
    assert get(client, auth, "bureau", f"/flags/{up}")["allowed_actions"] == ["confirm", "reject"]
    assert client.get(f"/api/v1/flags/{down}", headers=auth.headers("bureau")).status_code == 404
    confirm = {"action": "confirm", "from_state": "reported"}
    assert client.post(f"/api/v1/flags/{down}/events", headers=auth.headers("bureau"), json=confirm).status_code == 404
    resp = client.post(f"/api/v1/flags/{up}/events", headers=auth.headers("bureau"), json=confirm)
    assert resp.status_code == 201, resp.json
    assert row(app, up).state == "confirmed"


def test_each_role_is_offered_the_actions_it_may_take(app, client, auth, city):
    fid = raise_flag(client, auth, household(client, auth, city))

    def offered(who):
        return get(client, auth, who, f"/flags/{fid}")["allowed_actions"]
    assert (offered("w1"), offered("comm1"), offered("street1")) == ([], ["confirm", "reject"], [])
    resolve(client, auth, fid)
    assert (offered("w1"), offered("comm1"), offered("street1")) == (["verify"], ["verify", "reopen"], [])
    assert client.get(f"/api/v1/flags/{fid}", headers=auth.headers("w3")).status_code == 404


# --- queues and deadlines ---------------------------------------------------------------------

def test_the_community_queue_lists_its_open_flags_nearest_deadline_first(app, client, auth, city):
    clock = use_clock(app)
    yellow = raise_flag(client, auth, household(client, auth, city), "yellow")          # due T0 + 72 h
    street = raise_flag(client, auth, household(client, auth, city))
    act(client, auth, "comm1", street, "escalate", level="street")
    elsewhere = raise_flag(client, auth, household(client, auth, city, "w3", "G3"), who="w3")  # in C2
    clock.now = T0 + 60 * H
    red = raise_flag(client, auth, household(client, auth, city), "red")               # due T0 + 84 h
    green = raise_flag(client, auth, household(client, auth, city), "green")           # due T0 + 228 h
    done = raise_flag(client, auth, household(client, auth, city), "red")
    resolve(client, auth, done)
    clock.now = T0 + 80 * H
    queue = get(client, auth, "comm1", "/flags/queue")
    assert [f["id"] for f in queue] == [yellow, red, green]
    assert [f["overdue"] for f in queue] == [True, False, False]
    assert [f["id"] for f in get(client, auth, "street1", "/flags/queue")] == [street]
    assert [f["id"] for f in get(client, auth, "comm1", "/flags?level=street")] == [street]
    late = get(client, auth, "comm1", "/flags?overdue=true")     # the street one's 24 h ran out too
    assert {f["id"] for f in late} == {yellow, street} and all(f["overdue"] for f in late)
    assert elsewhere not in {f["id"] for f in get(client, auth, "comm1", "/flags?overdue=false")}


def test_the_flag_list_puts_red_first_then_yellow_then_green(app, client, auth, city):
    green = raise_flag(client, auth, household(client, auth, city), "green")
    yellow = raise_flag(client, auth, household(client, auth, city), "yellow")
    red = raise_flag(client, auth, household(client, auth, city), "red")
    listed = get(client, auth, "comm1", "/flags")
    assert [f["current_colour"] for f in listed] == ["red", "yellow", "green"]
    assert [f["id"] for f in listed] == [red, yellow, green]


def test_a_red_flag_gets_a_24_hour_deadline_that_stops_when_resolved(app, client, auth, city):
    clock = use_clock(app)
    fid = raise_flag(client, auth, household(client, auth, city))
    flag = row(app, fid)
    assert aware(flag.raised_at) == T0 and aware(flag.level_since) == T0
    assert aware(flag.deadline_at) == aware(flag.raised_at) + 24 * H
    clock.now = T0 + 23 * H
    assert get(client, auth, "comm1", f"/flags/{fid}")["overdue"] is False
    clock.now = T0 + 25 * H
    assert get(client, auth, "comm1", f"/flags/{fid}")["overdue"] is True
    resolve(client, auth, fid)
    assert row(app, fid).deadline_at is None
    assert get(client, auth, "comm1", f"/flags/{fid}")["overdue"] is False


def test_an_escalated_flag_gets_the_deadline_of_its_new_level_from_the_move(app, client, auth, city):
    clock = use_clock(app)
    fid = raise_flag(client, auth, household(client, auth, city), "yellow")
    clock.now = T0 + 10 * H
    act(client, auth, "comm1", fid, "escalate", level="street")
    flag = row(app, fid)
    assert aware(flag.level_since) == T0 + 10 * H and aware(flag.deadline_at) == T0 + 82 * H


def test_a_reopened_flag_starts_a_fresh_deadline(app, client, auth, city):
    clock = use_clock(app)
    hid = household(client, auth, city)
    fid = raise_flag(client, auth, hid)
    resolve(client, auth, fid)
    assert act(client, auth, "w1", fid, "verify", "resolved", visit_id=visit(client, auth, hid))["status"] == "applied"
    assert act(client, auth, "comm1", fid, "close", "verified")["status"] == "applied"
    clock.now = T0 + 240 * H
    assert act(client, auth, "comm1", fid, "reopen", "closed", note="back again")["status"] == "applied"
    flag = get(client, auth, "comm1", f"/flags/{fid}")
    assert flag["state"] == "reported"
    # the reopened case has a day from now, not a deadline that passed nine days ago
    assert aware(row(app, fid).deadline_at) == clock.now + 24 * H
    assert flag["overdue"] is False


# --- households due a visit -------------------------------------------------------------------

def test_the_due_list_has_revisits_and_verifications_soonest_first(app, client, auth, city):
    clock = use_clock(app)
    red_h, yellow_h, green_h, closed_h = (household(client, auth, city) for _ in range(4))
    red = raise_flag(client, auth, red_h, "red")
    yellow = raise_flag(client, auth, yellow_h, "yellow")
    green = raise_flag(client, auth, green_h, "green")
    closed = raise_flag(client, auth, closed_h, "red")
    theirs = raise_flag(client, auth, household(client, auth, city, "w3", "G3"), who="w3")
    visit(client, auth, red_h, at=(T0 + 24 * H).isoformat())
    clock.now = T0 + 2 * H
    resolve(client, auth, yellow)
    resolve(client, auth, closed)
    act(client, auth, "w1", closed, "verify", "resolved", visit_id=visit(client, auth, closed_h))
    act(client, auth, "comm1", closed, "close", "verified")
    clock.now = T0 + 3 * H
    due = get(client, auth, "w1", "/visits/due")
    assert [(d["flag_id"], d["why"], d["flag_state"]) for d in due] == [
        (yellow, "verify", "resolved"), (red, "revisit", "reported"), (green, "revisit", "reported")]
    times = [dt.datetime.fromisoformat(d["due_at"]) for d in due]
    assert times == [T0 + 2 * H, T0 + 96 * H, T0 + 30 * 24 * H]
    assert [d["overdue"] for d in due] == [True, False, False]
    assert due[1]["household_id"] == red_h and due[1]["address"] == "和平路5号"
    assert dt.datetime.fromisoformat(due[1]["last_visit_at"]) == T0 + 24 * H
    assert due[2]["last_visit_at"] is None
    assert closed_h not in {d["household_id"] for d in due} and theirs not in {d["flag_id"] for d in due}
    assert [d["flag_id"] for d in get(client, auth, "w3", "/visits/due")] == [theirs]
    assert client.get("/api/v1/visits/due", headers=auth.headers("bureau")).status_code == 403


def test_a_note_after_resolving_does_not_push_back_the_verifying_visit(app, client, auth, city):
    clock = use_clock(app)
    fid = raise_flag(client, auth, household(client, auth, city), "yellow")
    clock.now = T0 + 2 * H
    resolve(client, auth, fid)
    clock.now = T0 + 30 * H
    assert act(client, auth, "comm1", fid, "note", note="family called")["status"] == "applied"
    (due,) = get(client, auth, "w1", "/visits/due")
    assert due["why"] == "verify"
    assert dt.datetime.fromisoformat(due["due_at"]) == T0 + 2 * H
    assert due["overdue"] is True


# --- online, the server knows the state: a stale transition is refused -------------------------

def test_online_a_transition_on_a_state_that_is_gone_is_a_409_and_changes_nothing(app, client, auth, city):
    """Community staff, online, send a confirm made on the "reported" view of a case that has
    since been closed: the server knows the state, so it answers 409 with the current one and
    writes nothing (no event, no reopening, no fresh deadline to escalate)."""
    use_clock(app)
    hid = household(client, auth, city)
    fid = raise_flag(client, auth, hid)
    resolve(client, auth, fid)
    assert act(client, auth, "w1", fid, "verify", "resolved", visit_id=visit(client, auth, hid))["status"] == "applied"
    assert act(client, auth, "comm1", fid, "close", "verified")["status"] == "applied"
    before = get(client, auth, "comm1", f"/flags/{fid}")
    resp = client.post(f"/api/v1/flags/{fid}/events", headers=auth.headers("comm1"),
                       json={"action": "confirm", "from_state": "reported"})
    assert resp.status_code == 409 and resp.json["code"] == "stale_state"
    assert "closed" in resp.json["detail"] and resp.json["errors"] == {"from_state": [resp.json["message"]]}
    assert resp.json["message"] == "该预警在您查看后已有变化：请刷新后按当前状态处理"
    after = get(client, auth, "comm1", f"/flags/{fid}")
    assert (after["state"], len(after["events"]), after["deadline_at"]) == \
        ("closed", len(before["events"]), before["deadline_at"])
    ok = client.post(f"/api/v1/flags/{fid}/events", headers=auth.headers("comm1"),
                     json={"action": "reopen", "from_state": "closed", "note": "又出现困难"})
    assert ok.status_code == 201
    assert get(client, auth, "comm1", f"/flags/{fid}")["state"] == "reported"


def test_online_an_event_made_at_a_level_the_case_has_left_is_a_409(app, client, auth, city):
    use_clock(app)
    hid = household(client, auth, city)
    fid = raise_flag(client, auth, hid)
    assert act(client, auth, "comm1", fid, "escalate", level="street")["status"] == "applied"
    resp = client.post(f"/api/v1/flags/{fid}/events", headers=auth.headers("comm1"),
                       json={"action": "note", "at_level": "community", "note": "已上报"})
    assert resp.status_code == 409 and resp.json["code"] == "stale_state"
