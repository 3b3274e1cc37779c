"""A reviewer in real headless Chromium, on a phone and at a desk: log in, find the red cases
overdue and who holds them, open one, drill down from city to grid, and download a CSV."""
import csv
import io

from tests.browser.conftest import follow, shot


def log_in(page, base, who="bureau"):
    page.goto(base + "/review/")
    assert "/review/login" in page.url
    page.fill("input[name=username]", who)
    page.fill("input[name=password]", "pw-" + who)
    follow(page, "button[type=submit]")


def no_sideways_scroll(page):
    """The page itself fits the screen; only wide tables scroll inside their own box."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_red_overdue_cases_and_who_holds_them_in_three_clicks(live, page):
    base, city, ids = live
    log_in(page, base)                                   # click 1: log in
    assert page.locator("h1").first.inner_text().startswith("测试市")
    assert page.locator("#red-overdue b").inner_text() == "2"
    assert no_sideways_scroll(page)
    shot(page, "city")
    follow(page, "#red-overdue")                        # click 2: the red overdue tile
    assert "status=overdue" in page.url and "colour=red" in page.url
    where = page.locator("#where tr").all_inner_texts()
    assert [w.split("\t")[0].strip() for w in where] == ["一区"] and "2" in where[0]
    holders = page.locator("#cases .holder").all_inner_texts()
    assert holders == ["一街道", "一社区"]
    text = page.locator("#cases").inner_text()
    assert "street1" in text and "comm1" in text and "超时 2 天" in text and "超时 47 小时" in text
    assert "王h1伟" not in text and "王***" in text     # the bureau sees the family initialled
    assert no_sideways_scroll(page)
    shot(page, "red-overdue")
    follow(page, "#cases article >> nth=0 >> h3 a")     # click 3: the case
    events = page.locator("#events li").all_inner_texts()
    assert events[0].endswith("上报") and "上转" in events[1] and "系统" in events[1]
    assert "不能查看全部信息" in page.content()
    shot(page, "case")


def test_drill_down_from_city_to_grid(live, page):
    base, city, ids = live
    log_in(page, base, "bureau")
    expected = [("一区", 5), ("一街道", 5), ("一社区", 3), ("一网格", 2)]
    for name, households in expected:
        follow(page, f"#children a:text-is('{name}')")
        assert page.locator("h1").first.inner_text().startswith(name)
        tiles = page.locator(".tiles").inner_text()
        assert f"{households}\n户" in tiles.replace("\r", "")
    crumbs = page.locator("nav.crumbs a, nav.crumbs .here").all_inner_texts()
    assert crumbs == ["测试市", "一区", "一街道", "一社区", "一网格"]
    here = page.locator("nav.crumbs .here")            # where you are, in view on a phone too
    assert here.inner_text() == "一网格" and here.get_attribute("aria-current") == "page"
    box = here.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"]
    assert page.locator("#children").count() == 0        # a grid is the bottom
    assert no_sideways_scroll(page)
    shot(page, "grid")
    follow(page, "nav.crumbs a:text-is('一街道')")
    assert page.locator("h1").first.inner_text().startswith("一街道")


def test_download_a_csv(live, page):
    base, city, ids = live
    log_in(page, base, "street1")
    assert page.locator("h1").first.inner_text().startswith("一街道")
    with page.expect_download() as info:
        page.locator("section.card", has=page.locator("#children")).locator("a.csv").click()
    download = info.value
    assert download.suggested_filename.startswith("S1-areas-") and download.suggested_filename.endswith(".csv")
    with open(download.path(), "rb") as fh:
        raw = fh.read()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [(r["区域"], r["户数"], r["未办结"]) for r in rows] == [("一社区", "3", "2"), ("二社区", "2", "1")]


def test_log_out_ends_the_session(live, page):
    base, city, ids = live
    log_in(page, base, "comm1")
    assert page.locator("h1").first.inner_text().startswith("一社区")
    follow(page, "header form.who button")
    assert "/review/login" in page.url
    page.goto(base + f"/review/area/{city['C1']}")
    assert "/review/login" in page.url


def test_the_monthly_report_prints_without_navigation(live, page):
    base, city, ids = live
    log_in(page, base, "bureau")
    page.goto(base + f"/review/area/{city['X']}/report?month=2026-11")
    assert page.locator("h1").first.inner_text() == "测试市 2026-11 月度报告"
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible() and not page.locator("form.noprint").is_visible()
    assert page.locator("article.report table").first.is_visible()
    shot(page, "report-print")
