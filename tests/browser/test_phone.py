"""The review pages on a 390 x 844 phone: every tap target at least 44 px each way, no text
spilling out of its box, chart text at least 12 px on screen, and the words in the reader's
language (Chinese by default, English when the browser asks). Screenshots are kept."""
import pytest

from tests.browser.conftest import CHROMIUM_ARGS, VIEWPORTS, follow, shot  # noqa: F401
from tests.browser.test_review_pages import log_in

#: what a finger must hit: links, buttons, fields (hidden ones excepted)
SMALL_TARGETS = """() => [...document.querySelectorAll('a, button, input:not([type=hidden])')]
  .filter(e => e.offsetParent !== null && !e.closest('svg'))
  .map(e => [e.getBoundingClientRect(), (e.innerText || e.name || e.outerHTML).trim().slice(0, 40)])
  .filter(([r]) => r.height < 43.5 || r.width < 43.5)
  .map(([r, t]) => `${t} ${Math.round(r.width)}x${Math.round(r.height)}`)"""

#: boxes whose own text is wider or taller than they are (a scrolling box is meant to be)
OVERFLOWING = """() => [...document.querySelectorAll('main *, header *, nav *')]
  .filter(e => e.offsetParent !== null && !e.closest('svg') && getComputedStyle(e).display !== 'inline')
  .filter(e => !['auto', 'scroll'].includes(getComputedStyle(e).overflowX))
  .filter(e => e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1)
  .filter(e => !['TABLE', 'TBODY', 'THEAD', 'TR'].includes(e.tagName))
  .map(e => `${e.tagName}.${e.className} ${e.scrollWidth}>${e.clientWidth}`)"""

#: chart text as drawn: its font size scaled from the view box to the screen
SMALL_CHART_TEXT = """() => [...document.querySelectorAll('svg.chart text')].map(t => {
    const svg = t.closest('svg');
    return [t.textContent, parseFloat(t.getAttribute('font-size')) * svg.getBoundingClientRect().width
            / svg.viewBox.baseVal.width];
  }).filter(([, px]) => px < 11.95).map(([s, px]) => `${s} ${px.toFixed(1)}px`)"""

#: a header cell stacked one character per line is much taller than its text is wide
STACKED_HEADERS = """() => [...document.querySelectorAll('th')].filter(e => e.offsetParent !== null)
  .filter(e => e.getBoundingClientRect().height > 2.2 * parseFloat(getComputedStyle(e).lineHeight || 20))
  .map(e => e.innerText)"""


@pytest.fixture
def phone(browser):
    def open_(lang="zh-CN"):
        context = browser.new_context(viewport=VIEWPORTS["phone"], is_mobile=True, has_touch=True, locale=lang,
                                      extra_http_headers={"Accept-Language": lang})
        pg = context.new_page()
        pg.set_default_timeout(15_000)
        pg.viewport_name = "phone" if lang.startswith("zh") else "phone-en"
        opened.append(context)
        return pg
    opened = []
    yield open_
    for context in opened:
        context.close()


def _check(page, name):
    page.wait_for_load_state("load")          # a click's page has its stylesheet before we measure
    assert page.evaluate(SMALL_TARGETS) == [], f"{name}: tap targets under 44 px"
    assert page.evaluate(OVERFLOWING) == [], f"{name}: text overflows its box"
    assert page.evaluate(SMALL_CHART_TEXT) == [], f"{name}: chart text under 12 px"
    assert page.evaluate(STACKED_HEADERS) == [], f"{name}: table headers wrap"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), name
    shot(page, name)


def test_every_page_fits_a_phone(live, phone):
    base, city, ids = live
    page = phone()
    log_in(page, base)
    _check(page, "p-city")
    tick_labels = page.locator("svg.chart text").all_text_contents()
    assert "0.5" not in tick_labels and "8/17" in tick_labels and not any(t.startswith("W") for t in tick_labels)
    follow(page, "#red-overdue")
    _check(page, "p-cases")
    assert "超时 2 天" in page.locator("#cases").inner_text()
    follow(page, "#cases article >> nth=0 >> h3 a")
    _check(page, "p-case")
    page.goto(base + f"/review/area/{city['G1']}")
    _check(page, "p-grid")
    page.goto(base + f"/review/area/{city['X']}/workers")
    _check(page, "p-workers")
    page.goto(base + f"/review/area/{city['X']}/report?month=2026-11")
    _check(page, "p-report")
    # the monthly report draws visits and warnings on scales of their own
    titles = page.locator("svg.chart > title").all_text_contents()
    assert titles[:2] == ["每周走访", "每周新增与关闭预警"]


def test_the_escalation_reason_reads_in_chinese_local_time_and_english_on_request(live, phone):
    base, city, ids = live
    page = phone()
    log_in(page, base)
    follow(page, "#red-overdue")
    follow(page, "#cases article >> nth=0 >> h3 a")
    reason = page.locator("#events q.reason").first.inner_text()
    assert reason.startswith("超时：红色预警的办理期限") and "社区层级" in reason and "已上转至街道" in reason
    assert "UTC" not in reason and "overdue" not in reason
    en = phone("en-US")
    log_in(en, base)
    assert en.locator("h1").first.inner_text().startswith("测试市")          # data stays as it is
    assert "red warnings overdue" in en.locator("#red-overdue").inner_text()
    follow(en, "#red-overdue")
    follow(en, "#cases article >> nth=0 >> h3 a")
    reason = en.locator("#events q.reason").first.inner_text()
    assert reason.startswith("overdue: the red deadline") and "escalated to street" in reason
    _check(en, "p-case")


def test_the_admin_pages_fit_a_phone(live, phone):
    """Devices (with the revoke confirmation), accounts and the audit log at 390 px, in Chinese
    and in English: tap targets of 44 px, nothing spilling out, no sideways scroll."""
    base, city, ids = live
    page = phone()
    log_in(page, base, "street1")                          # the street's staff: its own area
    follow(page, "#red-overdue")
    follow(page, "#cases article >> nth=0 >> h3 a")         # an opening in full: the audit log has a row for it
    follow(page, "#to-admin")
    _check(page, "p-admin")
    follow(page, "#to-devices")
    _check(page, "p-admin-devices")
    assert page.locator("#devices article").count() >= 1
    before = page.locator("#devices form.admin-act").count()
    with page.expect_navigation():
        page.locator("#devices form.admin-act button").first.click()
    _check(page, "p-admin-revoke")
    follow(page, "#confirm-revoke")
    assert "设备已吊销" in page.locator("main").inner_text()
    assert page.locator("#devices form.admin-act").count() == before - 1
    _check(page, "p-admin-revoked")
    page.goto(base + "/admin/accounts?area=S1")
    _check(page, "p-admin-accounts")
    assert "一街道" in page.locator("#accounts").inner_text()
    page.goto(base + "/admin/audit")
    _check(page, "p-admin-audit")
    assert "打开案件" in page.locator("#audit").inner_text()
    page.fill("input[name=who]", "street1")
    follow(page, "form.search button")
    _check(page, "p-admin-audit-search")
    assert "who=street1" in page.url and page.locator("#audit article").count() >= 1
    en = phone("en-US")
    log_in(en, base)
    for path, name in (("/admin/devices", "p-admin-devices"), ("/admin/accounts", "p-admin-accounts"),
                       ("/admin/audit", "p-admin-audit")):
        en.goto(base + path)
        _check(en, name)
    assert "Audit log" in en.locator("h1").inner_text()
