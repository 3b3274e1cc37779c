"""The casework workspace (/work) through the Flask test client, on SQLite and PostgreSQL: log
in, CSRF, the queue (red overdue first), a case's forms for exactly the actions allowed now,
acting (the same flag events a device pulls), stale forms, the named holder (承办人)."""
import re
import uuid

from sqlalchemy import select

from server.extensions import db
from server.models import Flag, FlagEvent, Worker
from tests.helpers import pull_all
from tests.server.test_casework_api import H, T0, household, raise_flag, use_clock
from tests.server.test_review_web import csrf, login


def page(client, url):
    resp = client.get(url)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_data(as_text=True)


def actions_on(html):
    """The actions the case page offers (one form each)."""
    return re.findall(r'<input type="hidden" name="action" value="([a-z_]+)">', html)


def form_of(html, action):
    """The hidden fields of the form for ``action`` on a case page."""
    m = re.search(r'<form method="post" class="act act-%s">(.*?)</form>' % action, html, re.S)
    assert m, f"no {action} form"
    return dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', m.group(1)))


def post(client, fid, html, action, **extra):
    data = form_of(html, action)
    data.update(extra)
    return client.post(f"/work/case/{fid}", data=data)


def events(app, fid):
    with app.app_context():
        return [(e.action, e.worker_id is not None) for e in db.session.execute(
            select(FlagEvent).where(FlagEvent.flag_id == uuid.UUID(fid)).order_by(FlagEvent.stamp)).scalars()]


def test_the_workspace_needs_a_staff_login_and_sends_strict_headers(client, city):
    resp = client.get("/work/")
    assert resp.status_code == 302 and "/review/login?next=/work/" in resp.headers["Location"]
    assert login(client, "w1").status_code == 403
    login(client, "admin")          # admins manage accounts: no cases to act on
    assert client.get("/work/").status_code == 403


def test_the_queue_puts_red_overdue_first_with_days_and_deadline(app, client, auth, city):
    clock = use_clock(app)
    hid = household(client, auth, city)
    green = raise_flag(client, auth, hid, colour="green")
    red = raise_flag(client, auth, hid, colour="red")
    yellow = raise_flag(client, auth, hid, colour="yellow")
    clock.now = T0 + 50 * H      # red (24 h) is 26 h late; yellow (72 h) and green not yet
    login(client, "comm1")
    html = page(client, "/work/")
    order = re.findall(r'href="/work/case/([0-9a-f-]+)"', html)
    assert order == [red, yellow, green]
    first = html.split("<article")[1]
    assert "超时 1 天" in first and "期限 2026-11-03 16:00" in first   # deadline T0+24h, shown at UTC+8
    assert 'class="case red overdue"' in first
    assert "超时" not in html.split("<article")[2]
    # the street sees none of them: they are at community level
    client.post("/review/logout", data={"csrf_token": csrf(html)})
    login(client, "street1")
    assert "暂无待办案件" in page(client, "/work/")


def test_community_staff_carry_a_case_and_the_device_pulls_every_step(app, client, auth, city):
    use_clock(app)
    hid = household(client, auth, city)
    fid = raise_flag(client, auth, hid)
    _, cursor = pull_all(client, auth.headers("w1"))
    login(client, "comm1")
    html = page(client, f"/work/case/{fid}")
    assert set(actions_on(html)) == {"confirm", "reject", "assign", "route", "recolour", "note"}
    resp = post(client, fid, html, "confirm")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/work/case/{fid}?done=confirm")
    html = page(client, f"/work/case/{fid}?done=confirm")
    assert "已确认" in html and "已确认" in html.split('id="state"')[1][:40]
    assert "start" in actions_on(html) and "confirm" not in actions_on(html)
    post(client, fid, html, "start")
    html = page(client, f"/work/case/{fid}")
    # resolve needs a note: without one nothing is written
    resp = post(client, fid, html, "resolve")
    assert resp.status_code == 422 and "办理结果" in resp.get_data(as_text=True)
    assert [a for a, _ in events(app, fid)] == ["confirm", "start"]
    assert post(client, fid, html, "resolve", note="已申请临时救助").status_code == 302
    html = page(client, f"/work/case/{fid}")
    assert set(actions_on(html)) == {"reopen", "request_visit", "assign", "route", "recolour", "note"}
    assert post(client, fid, html, "request_visit").status_code == 302
    # the grid worker's tablet pulls every step, the way it pulls a device's
    pulled, _ = pull_all(client, auth.headers("w1"), cursor)
    got = [(c["fields"]["action"], c["fields"].get("note")) for c in pulled if c["entity"] == "flag_event"]
    assert got[:3] == [("confirm", None), ("start", None), ("resolve", "已申请临时救助")]
    assert got[3][0] == "note" and "回访核实" in got[3][1]
    with app.app_context():
        assert db.session.get(Flag, uuid.UUID(fid)).state == "resolved"


def test_a_stale_form_answers_with_a_message_and_writes_nothing(app, client, auth, city):
    use_clock(app)
    hid = household(client, auth, city)
    fid = raise_flag(client, auth, hid)
    login(client, "comm1")
    html = page(client, f"/work/case/{fid}")
    assert post(client, fid, html, "confirm").status_code == 302
    # the same page's reject form, sent after the confirm: the case moved on
    resp = post(client, fid, html, "reject", note="重复上报")
    assert resp.status_code == 409 and "已有变化" in resp.get_data(as_text=True)
    assert [a for a, _ in events(app, fid)] == ["confirm"]
    # the same form sent twice is one event
    html = page(client, f"/work/case/{fid}")
    assert post(client, fid, html, "note", note="已电话联系").status_code == 302
    assert post(client, fid, html, "note", note="已电话联系").status_code == 302
    assert [a for a, _ in events(app, fid)] == ["confirm", "note"]


def test_a_post_without_the_csrf_token_is_refused(app, client, auth, city):
    use_clock(app)
    fid = raise_flag(client, auth, household(client, auth, city))
    login(client, "comm1")
    html = page(client, f"/work/case/{fid}")
    data = form_of(html, "confirm")
    data.pop("csrf_token")
    assert client.post(f"/work/case/{fid}", data=data).status_code == 400
    data["csrf_token"] = "forged"
    assert client.post(f"/work/case/{fid}", data=data).status_code == 400
    assert events(app, fid) == []


def test_a_case_outside_the_area_is_not_there(app, client, auth, city):
    use_clock(app)
    fid = raise_flag(client, auth, household(client, auth, city, who="w3", grid="G3"), who="w3")
    login(client, "comm1")     # C1: G1 and G2 only
    assert client.get(f"/work/case/{fid}").status_code == 404
    assert client.get(f"/work/case/{uuid.uuid4()}").status_code == 404


def test_a_named_holder_is_shown_with_their_phone_and_on_the_review(app, client, auth, city):
    use_clock(app)
    with app.app_context():
        from server.services.accounts import create_worker
        from server.models import Area
        c1 = db.session.execute(select(Area).where(Area.code == "C1")).scalar_one()
        colleague = create_worker("comm2", "pw-comm2", "community", display_name="李社工", area=c1)
        colleague.work_phone = "0571-8888"
        db.session.commit()
        colleague_id = str(colleague.id)
        street1 = str(db.session.execute(select(Worker.id).where(Worker.username == "street1")).scalar_one())
    fid = raise_flag(client, auth, household(client, auth, city))
    login(client, "comm1")
    html = page(client, f"/work/case/{fid}")
    form = re.search(r'act-assign">(.*?)</form>', html, re.S).group(1)
    assert "李社工" in form and street1 not in form
    # someone who is not a colleague at the case's level is refused, nothing written
    resp = post(client, fid, html, "assign", assignee_id=street1)
    assert resp.status_code == 422 and "承办人须是本级" in resp.get_data(as_text=True)
    assert post(client, fid, html, "assign", assignee_id=colleague_id).status_code == 302
    html = page(client, f"/work/case/{fid}")
    holder = html.split('id="holder"')[1].split("</dd>")[0]
    assert "李社工" in holder and "0571-8888" in holder
    assert "指定承办人" in html and "· 李社工" in html.split('id="events"')[1]
    # "who holds it" on the review pages names the person; the bureau sees no phone
    assert "李社工" in page(client, f"/review/case/{fid}")
    login(client, "comm2")
    assert fid in page(client, "/work/?mine=1")
    client.post("/review/logout", data={"csrf_token": csrf(html)})
    with app.app_context():
        from server.services import review
        review.refresh(T0)
    login(client, "street1")        # the street's staff may open the case: the phone too
    cases = page(client, f"/review/area/{city['S1']}/cases")
    assert "李社工" in cases and "0571-8888" in cases
    client.post("/review/logout", data={"csrf_token": csrf(cases)})
    login(client, "bureau")         # the bureau sees a community case masked: the name, no phone
    cases = page(client, f"/review/area/{city['X']}/cases")
    assert "李社工" in cases and "0571-8888" not in cases
    # escalated to the street: the community's holder no longer holds it
    with app.app_context():
        from server.jobs import escalate_overdue
        app.extensions["wall_clock"].now = T0 + 30 * H
        escalate_overdue(app)
        assert db.session.get(Flag, uuid.UUID(fid)).holder_id is None


def test_bad_forms_get_a_clear_4xx_and_change_nothing(app, client, auth, city):
    use_clock(app)
    fid = raise_flag(client, auth, household(client, auth, city))
    login(client, "comm1")
    html = page(client, f"/work/case/{fid}")
    good = form_of(html, "confirm")
    for bad in ({"action": "fly"}, {"action": ""}, {"form_id": "not-a-uuid"}, {"at_level": "moon"},
                {"from_state": "dreaming"}, {"action": "note", "note": "x" * 2001},
                {"action": "note", "note": "a\x00b"}, {"action": "route", "level": "community"},
                {"action": "assign", "assignee_id": "nobody"}, {"action": "assign", "assignee_id": str(uuid.uuid4())},
                {"action": "recolour", "colour": "blue"}, {"action": "summon", "department_id": "x", "note": "y"},
                {"action": "verify"}):
        resp = client.post(f"/work/case/{fid}", data=dict(good, **bad))
        assert resp.status_code in (409, 422), (bad, resp.status_code)
        assert 'role="alert"' in resp.get_data(as_text=True)
    assert events(app, fid) == []
