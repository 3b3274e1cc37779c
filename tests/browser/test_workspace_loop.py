"""The whole loop in real headless Chromium at phone size (390 px), with the grid worker's tablet
(the SDK) against the same running server: a red case raised at the door escalates to the
street unhandled; the street opens it from its queue and summons 卫健 and 民政 (街乡吹哨); each
department's staff report in and answer (部门报到); the street resolves; the tablet gets the
verifying visit in ``due_visits()``, records it and syncs; the street closes. Every step is in
the event log once, and the tablet ends with the same log."""
import datetime as dt
import shutil
import threading

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from client_sdk import FieldClient, Transport
from server.jobs import escalate_overdue
from tests.browser.conftest import VIEWPORTS, _Quiet, follow, shot
from tests.conftest import _config, _dispose
from tests.e2e.conftest import CHECKS_OK
from tests.helpers import STORE_KEY


class FakeClock:
    def __init__(self):
        self.now = dt.datetime.now(dt.timezone.utc)

    def __call__(self):
        return self.now


@pytest.fixture
def town(tmp_path, sqlite_template):
    """The fixture city with 卫健 (district D1) and 民政 (street S1) and a staff account each,
    served on a loopback port with a clock the test moves."""
    from server import create_app
    from server.extensions import db
    from server.models import Area
    from server.services.accounts import create_department, create_worker
    from tests.city import make_city
    shutil.copy(sqlite_template, tmp_path / "server.db")
    app = create_app(_config(f"sqlite:///{tmp_path / 'server.db'}"))
    app.instance_path = str(tmp_path / "instance")
    clock = app.extensions["wall_clock"] = FakeClock()
    with app.app_context():
        city = make_city()
        area = {a.code: a for a in db.session.execute(select(Area)).scalars()}
        for code, name, level, where, user in (("WJ", "区卫健局", "district", "D1", "wj1"),
                                               ("MZ", "街道民政办", "street", "S1", "mz1")):
            d = create_department(code, name, level, area[where])
            db.session.flush()
            create_worker(user, "pw-" + user, "department", display_name=f"{name}值班", department=d)
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}", city, clock
    server.shutdown()
    _dispose(app)


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=VIEWPORTS["phone"], is_mobile=True, has_touch=True, locale="zh-CN")
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    pg.viewport_name = "phone"
    yield pg
    context.close()


def log_in(page, base, who):
    page.goto(base + "/work/")
    assert "/review/login" in page.url
    page.fill("input[name=username]", who)
    page.fill("input[name=password]", "pw-" + who)
    follow(page, "form button[type=submit]")
    assert page.url.endswith("/work/")


def log_out(page):
    follow(page, "form.who button")
    assert "/review/login" in page.url


def fits(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def press(page, action, note=None):
    form = page.locator(f"form.act-{action}")
    if note is not None:
        form.locator("[name=note]").fill(note)
    with page.expect_navigation():              # the answer is another page: wait for it
        form.locator("button").click()
    assert page.locator("#done").count() == 1, page.locator("main").inner_text()


def test_a_case_from_the_door_to_closed_through_every_level(town, phone, tmp_path):
    app, base, city, clock = town
    tablet = FieldClient(tmp_path / "tab.db", base, device_id="tab-w1", key=STORE_KEY,
                         transport=Transport(base, sleep=lambda s: None))
    tablet.login("w1", "pw-w1")
    tablet.sync()
    hid = tablet.create_household(city["G1"], "光明巷7号", head_name="刘芳")
    fid = tablet.raise_flag(hid, "de_facto_unsupported_child", "red", note="父母外出务工，无人照看")
    tablet.sync()
    clock.now += dt.timedelta(hours=25)
    assert escalate_overdue(app) == 1               # nobody at the community acted: to the street
    clock.now += dt.timedelta(hours=26)             # and the street is late too

    # the street: red overdue first, open it, summon two departments with one request
    log_in(phone, base, "street1")
    first = phone.locator("#queue article").first
    assert "超时 0 天（2 小时）" in first.inner_text()
    assert "overdue" in first.get_attribute("class") and fits(phone)
    shot(phone, "work-queue")
    with phone.expect_navigation():
        first.locator("h3 a").click()
    assert "光明巷7号" in phone.locator("#household").inner_text()
    summon = phone.locator("form.act-summon")
    summon.locator("label.check", has_text="区卫健局").locator("input").check()
    summon.locator("label.check", has_text="街道民政办").locator("input").check()
    press(phone, "summon", "请协助：儿童无人照看，核实就医与低保")
    assert phone.locator("#summons li").count() == 2 and fits(phone)
    assert phone.locator("form.act-close").count() == 0
    shot(phone, "work-case-summoned")
    log_out(phone)

    # each department reports in and answers, from its own queue
    for who, answer in (("wj1", "已安排家庭医生上门"), ("mz1", "已启动临时救助")):
        clock.now += dt.timedelta(hours=1)
        log_in(phone, base, who)
        with phone.expect_navigation():
            phone.locator("#queue article h3 a").first.click()
        press(phone, "report_in")
        press(phone, "answer", answer)
        shot(phone, f"work-department-{who}")
        log_out(phone)

    # the street handles it
    log_in(phone, base, "street1")
    phone.goto(f"{base}/work/case/{fid}")
    press(phone, "assign")                          # the street's one staff member holds it
    assert "承办人 street1" in phone.locator("#holder").inner_text()
    press(phone, "confirm")
    press(phone, "start")
    press(phone, "resolve", "已落实监护人并纳入临时救助")

    # the tablet: the verifying visit is due; recorded at the door, synced
    tablet.sync()
    assert [(d["flag_id"], d["why"]) for d in tablet.due_visits()] == [(fid, "verify")]
    assert tablet.flag(fid)["holder"] is not None   # the tablet knows who holds the case
    follow_up = tablet.record_visit(hid, CHECKS_OK)
    tablet.move_flag(fid, "verify", visit_id=follow_up)
    tablet.sync()

    # the street closes it
    phone.goto(f"{base}/work/case/{fid}")
    press(phone, "close")
    assert "已关闭" in phone.locator("#state").inner_text()
    log = [li.split("（")[0].split("\n")[0] for li in phone.locator("#events li").all_inner_texts()]
    steps = [" ".join(x.split()[2:3]) for x in log]
    assert steps == ["上报", "上转", "吹哨召集部门", "吹哨召集部门", "部门报到", "部门反馈", "部门报到", "部门反馈",
                     "指定承办人", "确认", "开始办理", "办结", "回访核实", "关闭"], log
    assert fits(phone)
    shot(phone, "work-case-closed")

    tablet.sync()
    flag = tablet.flag(fid)
    assert flag["state"] == "closed" and len(flag["summons"]) == 2
    assert set(flag["summons"].values()) == {"answered"}
    assert [e["action"] for e in flag["events"]] == ["escalate", "summon", "summon", "report_in", "answer",
                                                     "report_in", "answer", "assign", "confirm", "start", "resolve",
                                                     "verify", "close"]
    tablet.close()
