"""Departments summoned to a case (街乡吹哨、部门报到) through the workspace pages, on SQLite and
PostgreSQL: the street summons several departments with a request, each reports in and answers
within its own deadline or shows red, the case closes only when every summoned department has
answered or been released, a department sees only the cases it is summoned to, and the events
reach the grid worker's device like any other flag event."""
import re
import time
import uuid

import pytest
from sqlalchemy import select

from server.extensions import db
from server.jobs import escalate_overdue
from server.models import Area, Flag, FlagEvent, Summons, Worker
from server.services.accounts import create_department, create_worker
from sync.flags import fold_flag
from tests.helpers import change, pull_all, push, stamp
from tests.server.test_casework_api import H, T0, household, raise_flag, use_clock, visit
from tests.server.test_review_web import csrf, login
from tests.server.test_workspace_web import actions_on, events, form_of, page, post


@pytest.fixture
def depts(app, city):
    """卫健 at district D1 (report in 4 h, answer 48 h), 民政 at street S1 (24 h, 72 h), 教育 at
    district D2 (not for S1's cases); one staff account each."""
    with app.app_context():
        area = {a.code: a for a in db.session.execute(select(Area)).scalars()}
        out = {}
        for code, name, level, where, rh, ah, user in (("WJ", "区卫健局", "district", "D1", 4, 48, "wj1"),
                                                      ("MZ", "街道民政办", "street", "S1", 24, 72, "mz1"),
                                                      ("JY", "二区教育局", "district", "D2", 24, 72, "jy1")):
            d = create_department(code, name, level, area[where], rh, ah)
            db.session.flush()
            create_worker(user, "pw-" + user, "department", display_name=f"{name}值班", department=d)
            out[code] = str(d.id)
        db.session.commit()
        return out


def street_case(app, client, auth, city):
    """A red case raised in G1, left alone until the job moved it to the street."""
    clock = use_clock(app)
    hid = household(client, auth, city)
    fid = raise_flag(client, auth, hid)
    clock.now = T0 + 25 * H
    assert escalate_overdue(app) == 1
    return clock, hid, fid


def logout(client, html):
    client.post("/review/logout", data={"csrf_token": csrf(html)})


def test_the_street_summons_departments_who_report_in_and_answer(app, client, auth, city, depts):
    clock, hid, fid = street_case(app, client, auth, city)
    _, cursor = pull_all(client, auth.headers("w1"))
    login(client, "street1")
    html = page(client, f"/work/case/{fid}")
    summon = re.search(r'act-summon">(.*?)</form>', html, re.S).group(1)
    assert "区卫健局" in summon and "街道民政办" in summon and "二区教育局" not in summon
    # a summons needs a request: without one nothing is written
    resp = post(client, fid, html, "summon", department_id=[depts["WJ"], depts["MZ"]])
    assert resp.status_code == 422 and events(app, fid) == [("escalate", False)]
    resp = post(client, fid, html, "summon", department_id=[depts["WJ"], depts["MZ"]], note="请协助核实就医与低保")
    assert resp.status_code == 302
    html = page(client, f"/work/case/{fid}")
    assert "close" not in actions_on(html) and "release" in actions_on(html)
    assert html.count("待报到") == 2
    logout(client, html)

    # 卫健 reports in within its 4 hours and answers; its queue shows the request
    clock.now += 2 * H
    login(client, "wj1")
    queue = page(client, "/work/")
    assert fid in queue and "请协助核实就医与低保" in queue and "待报到" in queue
    html = page(client, f"/work/case/{fid}")
    assert actions_on(html) == ["report_in", "note"]
    assert "和平路5号" in html            # a summoned department opens the case to work it
    assert post(client, fid, html, "report_in").status_code == 302
    html = page(client, f"/work/case/{fid}")
    assert actions_on(html) == ["answer", "note"]
    assert post(client, fid, html, "answer", note="已安排家庭医生上门").status_code == 302
    assert fid not in page(client, "/work/")          # answered: nothing left to do
    logout(client, html)

    # 民政 is late: 30 hours after the summons it has not reported in
    clock.now += 28 * H
    login(client, "mz1")
    queue = page(client, "/work/")
    assert 'class="case red overdue"' in queue and "超时 0 天（6 小时）" in queue
    html = page(client, f"/work/case/{fid}")
    assert post(client, fid, html, "report_in").status_code == 302
    html = page(client, f"/work/case/{fid}")
    assert "报到超时 6 小时" in html
    logout(client, html)

    # the street handles the case; the grid worker verifies; it cannot close while 民政 owes an answer
    login(client, "street1")
    for action, extra in (("confirm", {}), ("start", {}), ("resolve", {"note": "已纳入临时救助"})):
        html = page(client, f"/work/case/{fid}")
        assert post(client, fid, html, action, **extra).status_code == 302
    vid = visit(client, auth, hid)
    assert verify_now(client, auth, fid, vid)["status"] == "applied"
    html = page(client, f"/work/case/{fid}")
    assert "close" not in actions_on(html)
    stale = form_of(html, "release")
    stale["action"] = "close"       # a hand-made close while 民政 owes its answer
    resp = client.post(f"/work/case/{fid}", data=stale)
    assert resp.status_code == 422 and "尚未反馈" in resp.get_data(as_text=True)
    assert post(client, fid, html, "release", department_id=depts["MZ"], note="已由街道直接办理").status_code == 302
    html = page(client, f"/work/case/{fid}")
    assert "close" in actions_on(html)
    assert post(client, fid, html, "close").status_code == 302
    with app.app_context():
        assert db.session.get(Flag, uuid.UUID(fid)).state == "closed"
        rows = {str(s.department_id): s for s in db.session.execute(select(Summons)).scalars()}
        assert rows[depts["WJ"]].state == "answered" and rows[depts["WJ"]].answer == "已安排家庭医生上门"
        assert rows[depts["MZ"]].state == "released" and rows[depts["MZ"]].reported_at is not None

    # every step is in the log once, and the grid worker's device pulls each one and folds it
    log = [a for a, _ in events(app, fid)]
    assert log == ["escalate", "summon", "summon", "report_in", "answer", "report_in", "confirm", "start",
                   "resolve", "verify", "release", "close"]
    pulled, _ = pull_all(client, auth.headers("w1"), cursor)
    got = [c for c in pulled if c["entity"] == "flag_event"]
    assert [c["fields"]["action"] for c in got] == log[1:9] + log[10:]
    with app.app_context():
        flag = db.session.get(Flag, uuid.UUID(fid))
        folded = fold_flag(flag.colour, flag.level, [dict(c["fields"], id=c["entity_id"], stamp=c["stamp"])
                                                     for c in got] + [_escalation(fid)])
    assert folded["state"] == "closed" and folded["summons"] == {depts["WJ"]: "answered", depts["MZ"]: "released"}


def verify_now(client, auth, fid, vid):
    """The worker's verify, stamped by a device clock in step with the server's (the shared test
    helpers stamp an hour behind, which would order it before the street's resolve)."""
    st = stamp(int(time.time() * 1000), "dev-w1")
    resp = push(client, auth.headers("w1"), "dev-w1", [change("flag_event", uuid.uuid4(), {
        "flag_id": fid, "action": "verify", "from_state": "resolved", "visit_id": vid, "at_level": "street"}, st)])
    return resp.json["results"][0]


def _escalation(fid):
    ev = db.session.execute(select(FlagEvent).where(FlagEvent.flag_id == uuid.UUID(fid),
                                                    FlagEvent.action == "escalate")).scalar_one()
    return {"id": str(ev.id), "stamp": ev.stamp, "action": "escalate", "level": ev.level}


def test_a_department_sees_only_the_cases_it_is_summoned_to(app, client, auth, city, depts):
    _, hid, fid = street_case(app, client, auth, city)
    other = raise_flag(client, auth, hid)
    login(client, "street1")
    html = page(client, f"/work/case/{fid}")
    post(client, fid, html, "summon", department_id=depts["WJ"], note="请协助")
    logout(client, html)
    login(client, "jy1")          # 教育: not summoned
    assert "暂无待办案件" in page(client, "/work/")
    assert client.get(f"/work/case/{fid}").status_code == 404
    logout(client, page(client, "/work/"))
    login(client, "wj1")
    assert client.get(f"/work/case/{other}").status_code == 404
    # no review figures for a department: the review sends them to their workspace
    resp = client.get("/review/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/work/")
    html = page(client, f"/work/case/{fid}")
    # a department may not move the case itself: refused, nothing written
    data = form_of(html, "report_in")
    for action in ("confirm", "summon", "release", "assign"):
        resp = client.post(f"/work/case/{fid}", data=dict(data, action=action, department_id=depts["WJ"],
                                                          assignee_id=str(uuid.uuid4()), note="x"))
        assert resp.status_code in (403, 422), (action, resp.status_code)
    assert [a for a, _ in events(app, fid)] == ["escalate", "summon"]
    # once released, the case leaves the department's reach
    logout(client, html)
    login(client, "street1")
    html = page(client, f"/work/case/{fid}")
    post(client, fid, html, "release", department_id=depts["WJ"])
    logout(client, html)
    login(client, "wj1")
    assert client.get(f"/work/case/{fid}").status_code == 404


def test_community_staff_cannot_summon_and_the_review_counts_summonses(app, client, auth, city, depts):
    clock = use_clock(app)
    fid = raise_flag(client, auth, household(client, auth, city))
    login(client, "comm1")
    html = page(client, f"/work/case/{fid}")
    assert "summon" not in actions_on(html)       # 街乡吹哨: the street and above
    resp = client.post(f"/work/case/{fid}", data=dict(form_of(html, "note"), action="summon",
                                                      department_id=depts["MZ"], note="请协助"))
    assert resp.status_code == 422 and events(app, fid) == []
    logout(client, html)
    clock.now = T0 + 25 * H
    escalate_overdue(app)
    login(client, "street1")
    html = page(client, f"/work/case/{fid}")
    post(client, fid, html, "summon", department_id=[depts["MZ"], depts["WJ"]], note="请协助")
    clock.now += 5 * H          # 卫健's 4 hours to report in have passed
    assert "部门超时 1" in page(client, "/work/")      # late like any deadline, in the street's queue
    html = page(client, f"/review/area/{city['S1']}/departments")
    rows = dict(re.findall(r'<td>([^<]+)</td><td class="open">(\d+)</td>', html))
    assert rows == {"区卫健局": "1", "街道民政办": "1"}
    late = dict(re.findall(r'<td>([^<]+)</td><td class="open">\d+</td><td class="late-count[^"]*">(\d+)</td>', html))
    assert late == {"区卫健局": "1", "街道民政办": "0"}


def test_the_same_events_through_the_rest_api(app, client, auth, city, depts):
    _, _, fid = street_case(app, client, auth, city)
    h = auth.headers("street1")
    resp = client.post(f"/api/v1/flags/{fid}/events", headers=h, json={
        "action": "summon", "department_id": depts["WJ"], "note": "请协助", "at_level": "street"})
    assert resp.status_code == 201 and resp.json["department_id"] == depts["WJ"]
    # a department no one configured is refused, nothing written
    resp = client.post(f"/api/v1/flags/{fid}/events", headers=h, json={
        "action": "summon", "department_id": str(uuid.uuid4()), "note": "请协助"})
    assert resp.status_code == 422 and resp.json["errors"]
    flag = client.get(f"/api/v1/flags/{fid}", headers=h).json
    assert [e["action"] for e in flag["events"]] == ["escalate", "summon"]
    with app.app_context():
        street1 = str(db.session.execute(select(Worker.id).where(Worker.username == "street1")).scalar_one())
        comm1 = str(db.session.execute(select(Worker.id).where(Worker.username == "comm1")).scalar_one())
    assert client.post(f"/api/v1/flags/{fid}/events", headers=h, json={
        "action": "assign", "assignee_id": comm1}).status_code == 422       # not at the street
    assert client.post(f"/api/v1/flags/{fid}/events", headers=h, json={
        "action": "assign", "assignee_id": street1}).status_code == 201
    assert client.get(f"/api/v1/flags/{fid}", headers=h).json["holder_id"] == street1
