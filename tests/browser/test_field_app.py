"""A grid worker's day in the field app (/field), in real headless Chromium at phone size against
the real server: log in online, go offline, register households and members, record visits
with all six checks (one answer raises the red warning and its flag), reload offline with
everything still there, sync in the evening; the server holds every record once, a second
tablet sees it all, the same field edited on both tablets ends with the later stamp and a
conflict for review, the worker verifies a resolved flag with a follow-up visit, a change the
server refuses is shown and undone, and an expired log-in keeps the work until the next one."""
import threading

import pytest
from werkzeug.serving import make_server

from tests.browser.conftest import CHROMIUM_ARGS, _Quiet, shot
from tests.conftest import _dispose, build_app

PHONE = {"width": 390, "height": 844}
TABLET = {"width": 800, "height": 1280}     # a 10" tablet, portrait


@pytest.fixture(params=["sqlite", "postgresql"])
def field_live(request, tmp_path):
    """The fixture city served on 127.0.0.1 (w12 holds grids G1 and G2), on either database."""
    from tests.city import make_city
    app = build_app(request.param, tmp_path, request)
    with app.app_context():
        city = make_city()
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app, city
    server.shutdown()
    _dispose(app)


def tablet(browser, errors, size=PHONE):
    context = browser.new_context(viewport=size, is_mobile=True, has_touch=True, locale="zh-CN",
                                  service_workers="allow", bypass_csp=True)  # page.evaluate needs eval
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.viewport_name = "phone" if size == PHONE else "tablet"
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return context, page


def no_sideways_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def log_in(page, base, who):
    page.goto(base + "/field/")
    page.fill("#f-username", who)
    page.fill("#f-password", "pw-" + who)
    page.click("#login button[type=submit]")
    page.wait_for_selector("#grids li")
    wait_synced(page)


def wait_synced(page):
    page.wait_for_function("window.fieldApp && !window.fieldApp.syncing && window.fieldApp.meta.last_sync")


def sync(page):
    page.wait_for_function("window.fieldApp && !window.fieldApp.syncing")
    before = page.evaluate("window.fieldApp.meta.last_sync || ''")
    page.click("#sync-now")
    page.wait_for_function("(b) => !window.fieldApp.syncing && (window.fieldApp.meta.last_sync || '') !== b", arg=before)


def pending(page):
    return page.evaluate("window.fieldApp.replica.outbox.size")


def new_household(page, grid, address, room, head, phone):
    page.goto(page.url.split("#")[0] + "#/new-household")
    page.select_option("#f-grid_id", grid)
    page.fill("#f-address", address)
    page.fill("#f-room", room)
    page.fill("#f-head_name", head)
    page.fill("#f-phone", phone)
    page.click("#new-household button[type=submit]")
    page.wait_for_selector("#household-title")
    return page.url.split("#/household/")[1]


def add_person(page, hid, name, relation, id_number=None):
    page.click("#add-person")
    page.fill("#f-name", name)
    page.select_option("#f-relation", relation)
    if id_number:
        page.fill("#f-id_number", id_number)
    page.click("#new-person button[type=submit]")
    page.wait_for_selector("#members")


def record_visit(page, statuses=None, child_without_carer=False, income=None):
    page.click("#start-visit")
    page.wait_for_selector("#visit")
    for key, status in (statuses or {}).items():
        page.check(f"input[name='{key}.status'][value={status}]")
    page.fill("input[name='food.meals_per_day']", "3")
    page.select_option("select[name='clothing.winter_clothing']", "true")
    page.select_option("select[name='housing.danger_grade']", "A")
    if income is not None:
        page.fill("input[name='income.income_per_person']", str(income))
    if child_without_carer:
        page.click("#add-row-children-children")
        page.fill("input[name='children.children.0.age']", "9")
        page.select_option("select[name='children.children.0.carer']", "none")
        page.wait_for_selector("#suggestions .badge.red")
    page.click("#save-visit")
    page.wait_for_selector("#visits")


def test_a_day_offline_synced_in_the_evening(field_live, browser):
    base, app, city = field_live
    errors = []
    ctx_a, a = tablet(browser, errors)
    log_in(a, base, "w12")
    assert a.locator("#grids li").count() == 2
    a.wait_for_function("navigator.serviceWorker.ready.then(() => !!navigator.serviceWorker.controller)")
    assert no_sideways_scroll(a)
    shot(a, "field-home")

    ctx_a.set_offline(True)
    h1 = new_household(a, city["G1"], "和平路12号", "401", "王建国", "13800138000")
    add_person(a, h1, "王建国", "head", "11010519491231002x")
    add_person(a, h1, "王小明", "child")
    h2 = new_household(a, city["G1"], "和平路14号", "102", "李秀英", "13900139000")
    add_person(a, h2, "李秀英", "head")
    add_person(a, h2, "张伟", "spouse")

    a.goto(f"{base}/field/#/household/{h1}")
    record_visit(a, {"children": "concern"}, child_without_carer=True, income=620)
    assert a.locator("#door-warning .badge.red").count() >= 1
    for _ in range(2):
        record_visit(a)
    a.goto(f"{base}/field/#/household/{h2}")
    a.wait_for_selector("#start-visit")
    record_visit(a, {"health": "concern"})
    record_visit(a)
    assert no_sideways_scroll(a)
    shot(a, "field-household-offline")
    made = pending(a)
    assert made == 2 + 4 + 5 + 1        # households, members, visits, the red flag
    assert a.locator("#pending").inner_text() == "待同步 12 条"

    # the page reloaded with no signal: the shell comes from the service worker, the data from IndexedDB
    a.reload()
    a.wait_for_selector("#visits li")
    assert a.locator("#visits li").count() == 2
    assert pending(a) == made
    a.goto(f"{base}/field/#/households")
    a.wait_for_selector("#households li")
    assert a.locator("#households li").count() == 2
    a.fill("#f-q", "wjg")                       # 王建国 by pinyin initials
    a.click("#search button")
    a.wait_for_function("document.querySelectorAll('#households li').length === 1")
    assert "和平路12号" in a.locator("#households").inner_text()

    # the evening: back in range, one sync (its request body gzipped by the browser)
    exchanges = []
    a.on("request", lambda r: exchanges.append(r) if r.url.endswith("/api/v1/sync/exchange") else None)
    ctx_a.set_offline(False)                    # the app syncs by itself once back online
    a.wait_for_function("window.fieldApp.replica.outbox.size === 0 && !window.fieldApp.syncing")
    sync(a)
    assert "gzip" in [r.all_headers().get("content-encoding") for r in exchanges]
    assert pending(a) == 0 and a.locator("#pending").inner_text() == "已全部同步"
    with app.app_context():
        from server.extensions import db
        from server.models import ChangeLog, Flag, Household, Person, Visit
        device = a.evaluate("window.fieldApp.deviceId")
        logged = db.session.execute(db.select(ChangeLog.change_id).where(ChangeLog.device_id == device)).scalars().all()
        assert len(logged) == made == len(set(logged))
        assert db.session.execute(db.select(db.func.count()).select_from(Household)).scalar() == 2
        assert db.session.execute(db.select(db.func.count()).select_from(Person)).scalar() == 4
        assert db.session.execute(db.select(db.func.count()).select_from(Visit)).scalar() == 5
        flags = db.session.execute(db.select(Flag)).scalars().all()
        assert [(f.category, f.colour) for f in flags] == [("de_facto_unsupported_child", "red")]
        # the app told the server what it still held (nothing), for the admin pages
        from server.models import Device
        row = db.session.get(Device, device)
        assert row.unsent_changes == 0 and row.last_sync_at is not None
    sync(a)                                     # a second sync sends and changes nothing
    assert pending(a) == 0
    with app.app_context():
        assert db.session.execute(db.select(db.func.count()).select_from(ChangeLog)
                                  .where(ChangeLog.device_id == device)).scalar() == made

    # another tablet on the same grids sees all of it after its sync
    ctx_b, b = tablet(browser, errors, TABLET)
    log_in(b, base, "w12")
    b.goto(f"{base}/field/#/household/{h1}")
    b.wait_for_selector("#visits li")
    assert b.locator("#visits li").count() == 3 and b.locator("#members li").count() == 2
    assert b.locator("#household-flags .badge.red").count() == 1
    assert no_sideways_scroll(b)
    shot(b, "field-second-tablet")

    b.goto(f"{base}/field/#/flags")
    b.wait_for_selector("#flag-queue li")
    assert b.locator("#flag-queue li").count() == 1 and "和平路12号" in b.locator("#flag-queue").inner_text()
    b.goto(f"{base}/field/#/due")
    b.wait_for_selector("#due li")
    assert "和平路12号" in b.locator("#due").inner_text() and "定期回访" in b.locator("#due").inner_text()
    # the same household typed again, another spelling of its phone: found on the device first
    b.goto(f"{base}/field/#/new-household")
    b.fill("#f-address", "和平路 12 号")
    b.fill("#f-phone", "+86 138-0013-8000")
    b.click("#new-household button[type=submit]")
    b.wait_for_selector("#matches .msg.warn")
    assert "和平路12号" in b.locator("#matches").inner_text()
    b.goto(f"{base}/field/#/household/{h1}/person")
    b.fill("#f-name", "王建國")
    b.fill("#f-id_number", "１１０１０５１９４９１２３１００２Ｘ")
    b.click("#new-person button[type=submit]")
    b.wait_for_selector("#matches .msg.warn")
    assert "王建国" in b.locator("#matches").inner_text()
    # an ID number with a wrong check character is refused at entry, in Chinese, and nothing is queued
    queued = b.evaluate("window.fieldApp.replica.outbox.size")
    b.goto(f"{base}/field/#/household/{h1}/person")
    b.fill("#f-name", "李四")
    b.fill("#f-id_number", "110105194912310021")
    b.click("#new-person button[type=submit]")
    b.wait_for_selector("#matches .msg.error")
    assert "身份证号不对" in b.locator("#matches").inner_text()
    assert b.evaluate("window.fieldApp.replica.outbox.size") == queued

    # the same field edited on both tablets, offline: the later stamp wins, the other is a conflict
    ctx_a.set_offline(True)
    ctx_b.set_offline(True)
    for page, note in ((a, "坡道在后门"), (b, "一楼，有坡道")):
        page.goto(f"{base}/field/#/household/{h1}/edit")
        page.fill("#f-note", note)
        page.click("#edit-household-form button[type=submit]")
        page.wait_for_selector("#household-title")
    ctx_a.set_offline(False)
    ctx_b.set_offline(False)
    sync(a)
    sync(b)
    sync(a)
    notes = [p.evaluate(f"window.fieldApp.replica.records.household.get('{h1}').values.note") for p in (a, b)]
    assert notes == ["一楼，有坡道", "一楼，有坡道"]     # b's edit was made later
    with app.app_context():
        from server.models import Conflict
        kept = db.session.get(Household, __import__("uuid").UUID(h1)).note
        conflicts = db.session.execute(db.select(Conflict).where(Conflict.field == "note")).scalars().all()
        assert kept == "一楼，有坡道" and len(conflicts) == 1

    # the community handles the case online; the worker's tablet hears of it, the household is
    # due its verifying visit, and the worker verifies the flag with that visit, offline
    from tests.conftest import Auth
    client = app.test_client()
    auth = Auth(client)
    fid = a.evaluate("window.fieldApp.replica.flags()[0].id")
    for action, state in (("confirm", "reported"), ("start", "confirmed"), ("resolve", "in_progress")):
        done = client.post(f"/api/v1/flags/{fid}/events", headers=auth.headers("comm1"),
                           json={"action": action, "from_state": state})
        assert done.status_code == 201, done.json
    sync(a)
    a.goto(f"{base}/field/#/due")
    a.wait_for_selector("#due li")
    assert "回访核实" in a.locator("#due").inner_text()
    ctx_a.set_offline(True)
    a.goto(f"{base}/field/#/household/{h1}")
    record_visit(a)
    a.goto(f"{base}/field/#/flag/{fid}")
    a.wait_for_selector("#flag")
    assert "已解决" in a.locator("#flag").inner_text()
    a.click("button[data-action=verify]")
    a.wait_for_function("document.querySelector('#flag').innerText.includes('已回访核实')")
    ctx_a.set_offline(False)
    a.wait_for_function("window.fieldApp.replica.outbox.size === 0 && !window.fieldApp.syncing")
    with app.app_context():
        assert db.session.get(Flag, __import__("uuid").UUID(fid)).state == "verified"

    # the worker loses grid G2 while tablet b is offline and registers a household there:
    # the server refuses it, the tablet shows why and undoes it (with its member)
    ctx_b.set_offline(True)
    g2 = city["G2"]
    b.goto(f"{base}/field/#/new-household?grid={g2}")
    b.select_option("#f-grid_id", g2)
    b.fill("#f-address", "解放路1号")
    b.click("#new-household button[type=submit]")
    b.wait_for_selector("#household-title")
    lost = b.url.split("#/household/")[1]
    add_person(b, lost, "赵六", "head")
    with app.app_context():
        from server.models import Worker, WorkerGrid
        w12 = db.session.execute(db.select(Worker).where(Worker.username == "w12")).scalar_one()
        db.session.execute(db.delete(WorkerGrid).where(WorkerGrid.worker_id == w12.id,
                                                       WorkerGrid.grid_id == __import__("uuid").UUID(g2)))
        db.session.commit()
    ctx_b.set_offline(False)
    sync(b)
    assert pending(b) == 0
    b.goto(f"{base}/field/#/sync")
    b.wait_for_selector("#refused li")
    text = b.locator("#refused").inner_text()
    assert b.locator("#refused li").count() == 2 and "不在您负责的网格内" in text and "依赖" in text
    assert b.evaluate(f"window.fieldApp.replica.records.household.has('{lost}')") is False
    assert b.locator("#refused-count").inner_text() == "2 条被退回"
    shot(b, "field-refused")
    with app.app_context():
        assert db.session.execute(db.select(db.func.count()).select_from(Household)
                                  .where(Household.address == "解放路1号")).scalar() == 0
    b.click("#refused li button")
    b.wait_for_function("document.querySelectorAll('#refused li').length === 0")

    # the log-in expires: the work waits, the worker logs in again, it goes up
    a.goto(f"{base}/field/#/household/{h2}/edit")
    a.fill("#f-room", "103")
    a.click("#edit-household-form button[type=submit]")
    a.wait_for_selector("#household-title")
    a.evaluate("window.fieldApp.replica.setMeta('expires_at', '2000-01-01T00:00:00+00:00')")
    a.click("#sync-now")
    a.wait_for_selector("#login")
    assert "登录已过期" in a.locator("#sync-error").inner_text() and pending(a) == 1
    a.fill("#f-username", "w12")
    a.fill("#f-password", "pw-w12")
    a.click("#login button[type=submit]")
    a.wait_for_function("window.fieldApp.replica.outbox.size === 0 && !window.fieldApp.syncing")
    with app.app_context():
        assert db.session.get(Household, __import__("uuid").UUID(h2)).room == "103"
    assert errors == []
    ctx_a.close()
    ctx_b.close()
