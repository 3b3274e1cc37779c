"""The admin pages (/admin) through the Flask test client, on SQLite and PostgreSQL: who may
open them, each reader's area (a district sees only its own devices, accounts and audit rows),
revoking a device (its token is refused after), disabling an account, the audit log's filters
and pages, CSRF, and bad input as a clear 4xx with nothing changed."""
import datetime as dt
import re
import uuid

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import Area, AuditLog, Device, Token, Worker
from server.services.accounts import create_worker
from tests.server.test_casework_api import household
from tests.server.test_review_web import csrf, login


def page(client, url, status=200):
    resp = client.get(url)
    assert resp.status_code == status, (url, resp.status_code, resp.get_data(as_text=True)[-600:])
    return resp.get_data(as_text=True)


def cards(html, section):
    """The cards of one list (devices, accounts, audit) as their text, tags stripped."""
    body = re.search(r'<section class="cases" id="%s">(.*?)</section>' % section, html, re.S).group(1)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", a)).strip()
            for a in re.findall(r"<article.*?</article>", body, re.S)]


def device_ids(html):
    return re.findall(r'<code class="id">([^<]+)</code>', html.split('id="devices"')[1])


def logout(client):
    html = client.get("/review/login").get_data(as_text=True)     # (the session's token is on every form)
    assert client.post("/review/logout", data={"csrf_token": csrf(html)}).status_code == 302


@pytest.fixture
def w4(app, city):
    """A grid worker in district D2 (grid G4)."""
    with app.app_context():
        area = {a.code: a for a in db.session.execute(select(Area)).scalars()}
        create_worker("w4", "pw-w4", "grid_worker", display_name="四号网格员", area=area["C3"], grids=[area["G4"]])
        db.session.commit()


def test_who_may_open_the_admin_pages(client, city):
    resp = client.get("/admin/devices")
    assert resp.status_code == 302 and "/review/login?next=/admin/devices" in resp.headers["Location"]
    for who, status in (("comm1", 403), ("admin", 200), ("bureau", 200), ("district2", 200), ("street1", 200)):
        login(client, who)
        for url in ("/admin/", "/admin/devices", "/admin/accounts", "/admin/audit"):
            resp = client.get(url)
            assert resp.status_code == status, (who, url)
            assert resp.headers["Content-Security-Policy"].startswith("default-src 'none'")
            assert resp.headers["Cache-Control"] == "no-store" and "<script" not in resp.get_data(as_text=True)
        if status == 403:
            assert "管理页面" in resp.get_data(as_text=True)
        logout(client)
    assert login(client, "w1").status_code == 403           # grid workers have no web session at all
    assert client.get("/admin/").status_code == 302


def test_a_district_sees_only_its_own_devices_before_and_after(app, client, auth, city, w4):
    auth.headers("w4")
    login(client, "district2")
    before = device_ids(page(client, "/admin/devices"))
    assert before == ["dev-w4"]
    auth.headers("w1")                                     # a device enrolled in district D1
    auth.headers("w3", "tablet-w3")
    assert device_ids(page(client, "/admin/devices")) == before
    auth.headers("w4", "second-w4")
    assert sorted(device_ids(page(client, "/admin/devices"))) == ["dev-w4", "second-w4"]
    # …and the bureau sees every one of them
    logout(client)
    login(client, "bureau")
    assert sorted(device_ids(page(client, "/admin/devices"))) == ["dev-w1", "dev-w4", "second-w4", "tablet-w3"]
    logout(client)
    login(client, "street1")                               # street S1: communities C1 and C2
    assert sorted(device_ids(page(client, "/admin/devices"))) == ["dev-w1", "tablet-w3"]
    assert device_ids(page(client, "/admin/devices?area=C2")) == ["tablet-w3"]
    assert device_ids(page(client, "/admin/devices?q=w1")) == ["dev-w1"]
    assert "没有符合条件的设备" in page(client, "/admin/devices?q=nobody")


def test_the_device_page_shows_last_seen_last_sync_and_the_unsent_changes_reported(app, client, auth, city):
    headers = auth.headers("w1")
    resp = client.post("/api/v1/sync/exchange", headers=headers, json={
        "device_id": "dev-w1", "schema_version": 1, "changes": [], "cursor": None, "have": {}, "pending": 7})
    assert resp.status_code == 200, resp.json
    with app.app_context():
        d = db.session.get(Device, "dev-w1")
        assert d.unsent_changes == 7 and d.last_sync_at is not None and d.last_seen_at is not None
    login(client, "street1")
    (card,) = cards(page(client, "/admin/devices"), "devices")
    assert "w1" in card and "报告的未发送更改" in card and re.search(r"\b7\b", card) and "使用中" in card
    assert "最近同步 20" in card and "最近在线 20" in card
    # a count that changes is written at once; without one the count stands
    client.post("/api/v1/sync/exchange", headers=headers, json={
        "device_id": "dev-w1", "schema_version": 1, "changes": [], "cursor": None, "have": {}, "pending": 0})
    client.post("/api/v1/sync/exchange", headers=headers, json={
        "device_id": "dev-w1", "schema_version": 1, "changes": [], "cursor": None, "have": {}})
    with app.app_context():
        assert db.session.get(Device, "dev-w1").unsent_changes == 0


@pytest.mark.parametrize("bad", [-1, "3", 1.5, 10_000_001, True])
def test_a_bad_pending_count_is_a_422(client, auth, city, bad):
    resp = client.post("/api/v1/sync/exchange", headers=auth.headers("w1"), json={
        "device_id": "dev-w1", "schema_version": 1, "changes": [], "cursor": None, "have": {}, "pending": bad})
    assert resp.status_code == 422 and "pending" in str(resp.json["errors"])
    resp = client.post("/api/v1/sync/push", headers=auth.headers("w1"), json={
        "device_id": "dev-w1", "schema_version": 1, "changes": [], "pending": bad})
    assert resp.status_code == 422


def test_revoking_a_device_ends_its_token_and_its_log_in(app, client, auth, city):
    headers = auth.headers("w1")
    other = auth.headers("w2")
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    login(client, "street1")
    html = page(client, "/admin/devices")
    token = csrf(html)
    # the first press asks to confirm: nothing is revoked yet
    resp = client.post("/admin/devices/revoke", data={"csrf_token": token, "device_id": "dev-w1"})
    assert resp.status_code == 200 and "确认吊销" in resp.get_data(as_text=True) or "吊销这台设备" in resp.get_data(
        as_text=True)
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    resp = client.post("/admin/devices/revoke", data={"csrf_token": token, "device_id": "dev-w1", "confirm": "1"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/devices?done=revoked")
    assert "设备已吊销" in page(client, "/admin/devices?done=revoked")
    resp = client.get("/api/v1/auth/me", headers=headers)
    assert resp.status_code == 401 and resp.json["code"] in ("device_revoked", "token_revoked")
    resp = client.post("/api/v1/sync/exchange", headers=headers, json={
        "device_id": "dev-w1", "schema_version": 1, "changes": [], "cursor": None, "have": {}})
    assert resp.status_code == 401
    resp = client.post("/api/v1/auth/token", json={"username": "w1", "password": "pw-w1", "device_id": "dev-w1"})
    assert resp.status_code == 403 and resp.json["code"] == "device_revoked"
    assert client.get("/api/v1/auth/me", headers=other).status_code == 200      # other tablets go on
    with app.app_context():
        assert db.session.execute(select(Token).where(Token.device_id == "dev-w1",
                                                      Token.revoked_at.is_(None))).first() is None
    # revoked devices are listed last, with no button; revoking again changes nothing
    html = page(client, "/admin/devices")
    assert device_ids(html) == ["dev-w2", "dev-w1"] and html.count('name="device_id"') == 1
    assert client.post("/admin/devices/revoke", data={"csrf_token": token, "device_id": "dev-w1",
                                                      "confirm": "1"}).status_code == 302


def test_a_district_cannot_revoke_or_disable_outside_its_area(app, client, auth, city):
    headers = auth.headers("w1")
    login(client, "district2")
    token = csrf(page(client, "/admin/devices"))
    resp = client.post("/admin/devices/revoke", data={"csrf_token": token, "device_id": "dev-w1", "confirm": "1"})
    assert resp.status_code == 404
    with app.app_context():
        w1 = db.session.execute(select(Worker).where(Worker.username == "w1")).scalar_one()
        wid = str(w1.id)
    resp = client.post("/admin/accounts/active", data={"csrf_token": token, "worker_id": wid, "active": "0"})
    assert resp.status_code == 404
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    with app.app_context():
        assert db.session.get(Device, "dev-w1").revoked_at is None


def test_forms_without_the_session_token_are_refused(app, client, auth, city):
    headers = auth.headers("w1")
    login(client, "bureau")
    with app.app_context():
        wid = str(db.session.execute(select(Worker.id).where(Worker.username == "w1")).scalar_one())
    for data in ({"device_id": "dev-w1", "confirm": "1"}, {"device_id": "dev-w1", "confirm": "1", "csrf_token": "x"}):
        resp = client.post("/admin/devices/revoke", data=data)
        assert resp.status_code == 400 and "表单已过期" in resp.get_data(as_text=True)
    resp = client.post("/admin/accounts/active", data={"worker_id": wid, "active": "0"})
    assert resp.status_code == 400
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200


def test_accounts_with_their_areas_filtered_and_disabled(app, client, auth, city, w4):
    headers = auth.headers("w1")
    login(client, "district2")
    html = page(client, "/admin/accounts")
    assert [c.split()[0] for c in cards(html, "accounts")] == ["district2", "四号网格员"]
    assert "四网格 (G4)" in html and "二区 (D2)" in html
    logout(client)
    login(client, "street1")
    names = [c.split()[1] for c in cards(page(client, "/admin/accounts"), "accounts")]
    assert sorted(names) == ["comm1", "street1", "w1", "w12", "w2", "w3"]
    names = [c.split()[1] for c in cards(page(client, "/admin/accounts?area=G2&role=grid_worker"), "accounts")]
    assert sorted(names) == ["w12", "w2"]
    html = page(client, "/admin/accounts?q=street1")
    assert 'name="worker_id"' not in html                 # no button on one's own account
    token = csrf(html)
    with app.app_context():
        ids = {w.username: str(w.id) for w in db.session.execute(select(Worker)).scalars()}
    resp = client.post("/admin/accounts/active", data={"csrf_token": token, "worker_id": ids["street1"], "active": "0"})
    assert resp.status_code == 403 and "不能停用自己的账号" in resp.get_data(as_text=True)
    resp = client.post("/admin/accounts/active", data={"csrf_token": token, "worker_id": ids["w1"], "active": "0"})
    assert resp.status_code == 302
    assert "账号已停用" in page(client, resp.headers["Location"])
    resp = client.get("/api/v1/auth/me", headers=headers)
    assert resp.status_code == 401 and resp.json["code"] == "account_disabled"
    resp = client.post("/admin/accounts/active", data={"csrf_token": token, "worker_id": ids["w1"], "active": "1"})
    assert resp.status_code == 302
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    logout(client)
    login(client, "bureau")
    token = csrf(page(client, "/admin/accounts"))
    for target in ("admin", "bureau"):
        resp = client.post("/admin/accounts/active", data={"csrf_token": token, "worker_id": ids[target],
                                                            "active": "0"})
        assert resp.status_code == 403
    with app.app_context():
        assert all(db.session.execute(select(Worker.active)).scalars())


def test_the_audit_log_by_area_before_and_after(app, client, auth, city, w4):
    hid = household(client, auth, city)                                     # w1, grid G1 (district D1)
    login(client, "district2")
    before = cards(page(client, "/admin/audit"), "audit")
    assert client.get(f"/api/v1/households/{hid}", headers=auth.headers("w1")).status_code == 200
    assert cards(page(client, "/admin/audit"), "audit") == before
    h4 = household(client, auth, city, who="w4", grid="G4")
    assert client.get(f"/api/v1/households/{h4}", headers=auth.headers("w4")).status_code == 200
    after = cards(page(client, "/admin/audit"), "audit")
    assert len(after) == len(before) + 1 and "四号网格员" in after[0] and h4 in after[0] and "查看完整记录" in after[0]
    logout(client)
    login(client, "bureau")
    html = page(client, "/admin/audit")
    assert hid in html and h4 in html
    assert [hid in c for c in cards(page(client, f"/admin/audit?record={hid.upper()}"), "audit")] == [True]
    assert all("w4" in c for c in cards(page(client, "/admin/audit?who=w4"), "audit"))


def test_the_audit_log_by_dates_and_pages(app, client, city):
    with app.app_context():
        wid = db.session.execute(select(Worker.id).where(Worker.username == "comm1")).scalar_one()
        rec = uuid.uuid4()
        base = dt.datetime(2026, 11, 20, 15, 30, tzinfo=dt.timezone.utc)       # 23:30 on the 20th in the city
        for i in range(60):
            db.session.add(AuditLog(worker_id=wid, action="read", entity="household",
                                    entity_id=rec if i == 0 else uuid.uuid4(), at=base + dt.timedelta(minutes=i)))
        db.session.commit()
    login(client, "bureau")
    html = page(client, "/admin/audit")
    assert len(cards(html, "audit")) == 50 and "第 1 / 2 页" in html
    assert len(cards(page(client, "/admin/audit?page=2"), "audit")) == 10
    # local days: 23:30 to 23:59 is the 20th, from 00:00 the 21st
    assert "30 条" in page(client, "/admin/audit?start=2026-11-20&end=2026-11-20")
    assert "30 条" in page(client, "/admin/audit?start=2026-11-21")
    assert "60 条" in page(client, "/admin/audit?end=2026-11-21&who=comm")
    (only,) = cards(page(client, f"/admin/audit?record={rec}"), "audit")
    assert "2026-11-20 23:30:00" in only


@pytest.mark.parametrize("url,status", [
    ("/admin/devices?page=abc", 400), ("/admin/devices?page=0", 400), ("/admin/devices?area=NOPE", 404),
    ("/admin/devices?area=D1", 404), ("/admin/accounts?role=king", 400), ("/admin/accounts?q=" + "x" * 65, 400),
    ("/admin/accounts?q=a%00b", 400), ("/admin/audit?record=zzz", 400),
    ("/admin/audit?record=%7B" + "1" * 32 + "%7D", 400),
    ("/admin/audit?start=2026-13-01", 400), ("/admin/audit?start=2026-11-2", 400),
    ("/admin/audit?start=2026-11-20&end=2026-11-19", 400), ("/admin/audit?start=２０２６-11-20", 400),
])
def test_bad_input_is_a_clear_4xx(client, city, url, status):
    login(client, "district2")
    html = page(client, url, status)
    assert re.search(r'<p role="alert">[^<]{6,}</p>', html)


def test_bad_forms_are_a_clear_4xx_and_change_nothing(app, client, auth, city):
    headers = auth.headers("w1")
    login(client, "bureau")
    token = csrf(page(client, "/admin/devices"))
    for url, data, status in (
            ("/admin/devices/revoke", {}, 404), ("/admin/devices/revoke", {"device_id": "x" * 65}, 404),
            ("/admin/devices/revoke", {"device_id": "no-such", "confirm": "1"}, 404),
            ("/admin/accounts/active", {"worker_id": "nope", "active": "0"}, 404),
            ("/admin/accounts/active", {"worker_id": str(uuid.uuid4()), "active": "0"}, 404),
            ("/admin/accounts/active", {"worker_id": str(uuid.uuid4()), "active": "2"}, 400)):
        resp = client.post(url, data=dict(data, csrf_token=token))
        assert resp.status_code == status, (url, data, resp.status_code)
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200


def test_the_pages_read_in_english_on_request(client, auth, city):
    auth.headers("w1")
    login(client, "bureau")
    html = page(client, "/admin/devices?lang=en")
    assert "Unsent changes reported" in html and "Revoke" in html and "未发送" not in html
    html = page(client, "/admin/audit", 200)
    assert "审计日志" in html
    resp = client.get("/admin/devices", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "Devices" in resp.get_data(as_text=True)


def test_the_admin_sees_the_webhook_deliveries_waiting(app, client, city):
    from server.models import WebhookOutbox
    now = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.timezone.utc)
    with app.app_context():
        db.session.add(WebhookOutbox(id=uuid.uuid4(), kind="late_report", payload={}, created_at=now, attempts=2,
                                     next_at=now, last_error="HTTP 503"))
        db.session.add(WebhookOutbox(id=uuid.uuid4(), kind="summoned", payload={}, created_at=now, attempts=1,
                                     sent_at=now))
        db.session.commit()
    login(client, "admin")
    (hook,) = re.findall(r'<section class="card" id="webhook">(.*?)</section>', page(client, "/admin/"), re.S)
    assert "没有配置" in hook and "已送达 1 个，等待 1 个" in hook and "部门报到超时" in hook and "HTTP 503" in hook
    logout(client)
    login(client, "bureau")                                # the API's rule: the admin role only
    assert 'id="webhook"' not in page(client, "/admin/")


def test_the_demo_city_has_tablets_to_administer(app, client):
    result = app.test_cli_runner().invoke(args=["seed-demo", "--households", "60"])
    assert result.exit_code == 0, result.output
    login(client, "street1", password="street-demo")
    html = page(client, "/admin/devices")
    ids = device_ids(html)
    assert ids and all(i.startswith("demo-tab-") for i in ids)
    assert "demo-tab-worker1" in ids and re.search(r'class="unsent">\d+<', html)
