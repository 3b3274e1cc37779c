"""The reviewers' pages through the Flask test client: log-in with a session and CSRF, cookie
settings, security headers, the figures on the pages, masking and audit, and CSV exports."""
import csv
import io
import re

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditLog
from tests.server.review_city import T0, build_and_refresh


@pytest.fixture
def data(app, client, auth, city):
    return build_and_refresh(app, client, auth, city)


def csrf(html):
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client, who, password=None, follow=True):
    page = client.get("/review/login")
    token = csrf(page.get_data(as_text=True))
    return client.post("/review/login", data={"username": who, "password": password or "pw-" + who,
                                              "csrf_token": token}, follow_redirects=follow)


def test_pages_need_a_login_and_come_back_after_it(client, city, data):
    resp = client.get(f"/review/area/{city['D1']}/cases?status=overdue")
    assert resp.status_code == 302 and "/review/login?next=" in resp.headers["Location"]
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    nxt = re.search(r'name="next" value="([^"]+)"', page).group(1)
    resp = client.post("/review/login", data={"username": "bureau", "password": "pw-bureau", "next": nxt,
                                              "csrf_token": csrf(page)})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(
        f"/review/area/{city['D1']}/cases?status=overdue")


def test_a_wrong_password_or_a_grid_worker_gets_no_session(client, city, data):
    resp = login(client, "bureau", password="nope")
    assert resp.status_code == 401 and "用户名或密码错误" in resp.get_data(as_text=True)
    assert client.get("/review/").status_code == 302
    resp = login(client, "w1")
    assert resp.status_code == 403 and "平板" in resp.get_data(as_text=True)
    assert client.get("/review/").status_code == 302


def test_a_post_without_the_session_token_is_refused(client, city, data):
    resp = client.post("/review/login", data={"username": "bureau", "password": "pw-bureau"})
    assert resp.status_code == 400 and "表单已过期" in resp.get_data(as_text=True)
    login(client, "bureau")
    assert client.post("/review/logout", data={"csrf_token": "forged"}).status_code == 400
    assert client.get("/review/").status_code == 302 and client.get("/review/").headers["Location"].startswith(
        "/review/area/")
    page = client.get(f"/review/area/{city['X']}").get_data(as_text=True)
    assert client.post("/review/logout", data={"csrf_token": csrf(page)}).status_code == 302
    assert client.get(f"/review/area/{city['X']}").status_code == 302


def test_the_session_cookie_and_the_headers(app, client, city, data):
    app.config["SESSION_COOKIE_SECURE"] = True
    resp = login(client, "bureau", follow=False)
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    page = client.get("/review/login")
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["Cache-Control"] == "no-store"


def test_the_area_page_shows_the_hand_counted_figures(client, city, data):
    login(client, "bureau")
    html = client.get(f"/review/area/{city['X']}").get_data(as_text=True)
    tile = re.search(r'id="red-overdue"[^>]*>\s*<b>(\d+)</b>', html).group(1)
    assert tile == "2"
    rows = dict(re.findall(r'<a href="/review/area/[0-9a-f-]+">([^<]+)</a></td>.*?<td class="households">(\d+)</td>',
                           html, re.S))
    assert rows == {"一区": "5", "二区": "1"}
    assert "<title>每周走访</title>" in html and "11/16 2" in html  # the chart says what it shows
    assert "截至 2026-11-18 12:00" in html


def test_a_reviewer_sees_only_their_area(client, city, data):
    login(client, "comm1")
    assert client.get(f"/review/area/{city['X']}").status_code == 404
    assert client.get(f"/review/area/{city['C2']}/cases").status_code == 404
    assert client.get("/review/").headers["Location"].endswith(f"/review/area/{city['C1']}")
    assert client.get(f"/review/case/{data['f3']}").status_code == 404


def test_bad_query_values_get_a_clear_4xx_page(client, city, data):
    login(client, "bureau")
    resp = client.get(f"/review/area/{city['X']}?period=2026-13")
    assert resp.status_code == 422 and "统计期间" in resp.get_data(as_text=True)
    assert client.get(f"/review/area/{city['X']}/cases?colour=blue").status_code == 400
    assert client.get(f"/review/area/{city['X']}/cases?page=0").status_code == 400
    assert client.get(f"/review/area/{city['X']}/export/secrets.csv").status_code == 404


def test_the_case_page_masks_for_the_bureau_and_opens_for_the_community_with_audit(app, client, city, data):
    login(client, "bureau")
    html = client.get(f"/review/case/{data['f6']}").get_data(as_text=True)
    assert "王***" in html and "王h4伟" not in html and "not in difficulty" not in html
    assert "不能查看全部信息" in html
    client.post("/review/logout", data={"csrf_token": csrf(html)})
    login(client, "comm1")
    html = client.get(f"/review/case/{data['f6']}").get_data(as_text=True)
    assert "王h4伟" in html and "not in difficulty" in html and "和平路" in html
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "open_case")).scalar_one() == 1


def test_csv_has_a_bom_and_the_same_figures(client, city, data):
    login(client, "bureau")
    resp = client.get(f"/review/area/{city['X']}/export/areas.csv")
    assert resp.mimetype == "text/csv" and "attachment" in resp.headers["Content-Disposition"]
    raw = resp.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [(r["区域"], r["户数"], r["层级"], r["未办结"], r["红色超时"]) for r in rows] == \
        [("一区", "5", "区", "3", "2"), ("二区", "1", "区", "0", "0")]
    cases = list(csv.DictReader(io.StringIO(client.get(
        f"/review/area/{city['X']}/export/cases.csv?status=overdue&colour=red&keys=1").get_data().decode("utf-8-sig"))))
    assert [(c["held_by"], c["held_by_staff"], c["overdue_hours"], c["colour"]) for c in cases] == \
        [("一街道", "street1", "48", "red"), ("一社区", "comm1", "47", "red")]
    zh = client.get(f"/review/area/{city['X']}/export/cases.csv?status=overdue&colour=red").get_data().decode("utf-8-sig")
    assert zh.splitlines()[0].startswith("案件,类别,颜色,状态,层级,承办单位") and ",红," in zh
    assert client.get(f"/review/area/{city['X']}/export/cases.csv?status=overdue&lang=en").get_data().decode(
        "utf-8-sig").startswith("case,category,colour,state,level,held by")
    weeks = list(csv.DictReader(io.StringIO(client.get(
        f"/review/area/{city['X']}/export/weeks.csv?period=2026-11&keys=1").get_data().decode("utf-8-sig"))))
    assert sum(int(w["visits"]) for w in weeks) == 3 and sum(int(w["raised"]) for w in weeks) == 5


def test_a_cell_that_looks_like_a_formula_is_quoted(client, city, data, app):
    from server.web.views import _cell
    assert _cell("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")" and _cell("王伟") == "王伟" and _cell(None) == ""


def test_the_monthly_report_prints_the_month(client, city, data):
    login(client, "bureau")
    html = client.get(f"/review/area/{city['X']}/report?month=2026-11").get_data(as_text=True)
    assert "2026-11 月度报告" in html
    assert "<th>走访</th><td>3 次（网格员 4 人，人均 0.8 次）" in html
    assert "<th>关闭 / 不予受理</th><td>1 / 1</td>" in html
    assert client.get(f"/review/area/{city['X']}/report?month=November").status_code == 422


def test_nul_characters_are_refused_not_sent_to_the_database(client, auth, city, data):
    page = client.get("/review/login").get_data(as_text=True)
    resp = client.post("/review/login", data={"username": "bureau\x00", "password": "pw-bureau",
                                              "csrf_token": csrf(page)})
    assert resp.status_code == 401
    login(client, "bureau")
    assert client.get(f"/review/area/{city['X']}/cases?category=a%00b").status_code == 400
    resp = client.get(f"/api/v1/review/areas/{city['X']}/cases?category=a%00b", headers=auth.headers("bureau"))
    assert resp.status_code == 422 and "category" in resp.json["errors"]


def test_odd_query_values_are_4xx_not_500(app, client, city, data):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    login(client, "bureau")
    for url, status in [(f"/review/area/{city['X']}/cases?page=%C2%B2", 400),
                        (f"/review/area/{city['X']}/cases?page=" + "9" * 5000, 400),
                        (f"/review/area/{city['X']}?period=9999-W52", 422),
                        (f"/review/area/{city['X']}/report?month=0001-01", 422),
                        (f"/review/area/{city['X']}/report?month=2026-W4", 422),
                        (f"/review/area/{city['X']}/export/weeks.csv?period=9999-12", 422),
                        (f"/review/area/{city['X']}/workers?start=0001-01-01", 422),
                        ("/review/area/not-a-uuid", 404)]:
        assert client.get(url).status_code == status, url
    resp = client.get(f"/review/area/{city['X']}/cases?status=open&category=%E5%9B%B0&x=%FF%FE")
    assert resp.status_code == 200


def test_log_in_goes_back_only_to_a_review_page(client, city, data):
    for nxt, lands in [("/review/area/" + city["X"], "/review/area/" + city["X"]),
                       ("/review%0d%0aSet-Cookie:x=1", "/review/"), ("//evil.example/review", "/review/"),
                       ("https://evil.example/review", "/review/"), ("/review\\evil", "/review/")]:
        page = client.get("/review/login").get_data(as_text=True)
        resp = client.post("/review/login?next=" + nxt, data={"username": "bureau", "password": "pw-bureau",
                                                              "csrf_token": csrf(page)})
        assert resp.status_code == 302 and resp.headers["Location"] == lands, nxt
        assert "Set-Cookie: x" not in str(resp.headers)


def test_case_list_links_keep_the_filters(client, city, data):
    login(client, "bureau")
    html = client.get(f"/review/area/{city['X']}/cases?status=all&category=%E5%9B%B0%E5%A2%83%E5%84%BF%E7%AB%A5"
                      f"&level=community&page=1").get_data(as_text=True)
    links = re.findall(r'href="\?([^"]+)"', html)
    assert links and all("category=%E5%9B%B0%E5%A2%83%E5%84%BF%E7%AB%A5" in ln and "level=community" in ln
                         for ln in links)
    assert not any("page=" in ln for ln in links)   # a changed filter starts from the first page


def test_log_out_ends_every_copy_of_the_session(app, client, city, data):
    login(client, "bureau")
    copy = app.test_client()
    cookie = client.get_cookie("gridsync_session")
    copy.set_cookie("gridsync_session", cookie.value)
    assert copy.get(f"/review/area/{city['X']}").status_code == 200
    page = client.get(f"/review/area/{city['X']}").get_data(as_text=True)
    client.post("/review/logout", data={"csrf_token": csrf(page)})
    assert copy.get(f"/review/area/{city['X']}").status_code == 302


def test_the_scheduler_does_not_repeat_a_round_just_done(app, data):
    from server.jobs import refresh_review
    app.extensions["wall_clock"] = lambda: T0
    assert refresh_review(app) is None          # the fixture's round at T0 is fresh
    import datetime as dt
    app.extensions["wall_clock"] = lambda: T0 + dt.timedelta(seconds=app.config["REVIEW_REFRESH_INTERVAL_S"])
    assert refresh_review(app) is not None
