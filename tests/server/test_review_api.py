"""The bureau's review API against figures worked out by hand (tests/server/review_city.py),
on SQLite and PostgreSQL: aggregates by area and period, scope by role, masking and audit."""
import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import AuditLog
from server.services import review
from tests.server.review_city import T0, build_and_refresh


@pytest.fixture
def data(app, client, auth, city):
    return build_and_refresh(app, client, auth, city)


def get(client, auth, who, url, status=200):
    resp = client.get("/api/v1/review" + url, headers=auth.headers(who))
    assert resp.status_code == status, resp.json
    return resp.json


def test_city_summary_matches_the_hand_count(client, auth, city, data):
    s = get(client, auth, "bureau", f"/areas/{city['X']}/summary")
    assert s["period"] == {"start": "2026-08-21", "end": "2026-11-18"}
    assert (s["households"], s["persons"], s["workers"]) == (6, 9, 4)
    assert s["coverage"] == {"visited_30d": 2, "visited_90d": 3, "rate_30d": round(2 / 6, 4),
                             "rate_90d": 0.5}
    assert s["open"]["total"] == 3
    assert s["open"]["by_colour"] == {"red": 2, "yellow": 1, "green": 0}
    assert s["open"]["by_state"] == {"reported": 3}
    assert s["open"]["by_category"] == {"困境儿童": {"red": 2, "yellow": 0, "green": 0},
                                        "因病致贫": {"red": 0, "yellow": 1, "green": 0}}
    assert s["overdue"] == {"total": 2, "by_colour": {"red": 2, "yellow": 0, "green": 0}}
    assert s["escalated"] == {"total": 1, "by_colour": {"red": 1, "yellow": 0, "green": 0}}
    p = s["in_period"]
    assert (p["visits"], p["visits_per_worker"]) == (5, 1.25)
    assert p["raised"] == 6
    assert p["raised_by_colour"] == {"red": 3, "yellow": 2, "green": 1}
    assert p["raised_by_category"] == {"因病致贫": 2, "困境儿童": 3, "独居老人": 1}
    assert (p["closed"], p["rejected"], p["escalations"]) == (2, 1, 1)
    assert p["hours_to_close"] == {"closed": 2, "median": 30, "p90": 50}


def test_weeks_count_by_local_day(client, auth, city, data):
    weeks = {w["week"]: w for w in get(client, auth, "bureau", f"/areas/{city['X']}/summary")["weeks"]}
    assert list(weeks)[0] == "2026-W34" and list(weeks)[-1] == "2026-W47" and len(weeks) == 14
    # h4's visit at 17:30 UTC on Sunday 11-15 is Monday 01:30 local: week 47, not 46
    assert weeks["2026-W47"] == {"week": "2026-W47", "starts": "2026-11-16", "visits": 2, "raised": 1,
                                 "closed": 0, "escalations": 0}
    assert weeks["2026-W46"] == {"week": "2026-W46", "starts": "2026-11-09", "visits": 0, "raised": 3,
                                 "closed": 1, "escalations": 1}
    assert weeks["2026-W45"]["visits"] == 1 and weeks["2026-W45"]["raised"] == 1
    assert sum(w["visits"] for w in weeks.values()) == 5


@pytest.mark.parametrize("query, visits, raised, closed, median, p90", [
    ("period=365d", 6, 7, 3, 30, 50),
    ("period=2026-11", 3, 5, 1, 30, 30),
    ("period=2026-W47", 2, 1, 0, None, None),
    ("start=2026-10-29&end=2026-10-31", 0, 1, 1, 50, 50),
])
def test_periods(client, auth, city, data, query, visits, raised, closed, median, p90):
    p = get(client, auth, "bureau", f"/areas/{city['X']}/summary?{query}")["in_period"]
    assert (p["visits"], p["raised"], p["closed"]) == (visits, raised, closed)
    assert (p["hours_to_close"]["median"], p["hours_to_close"]["p90"]) == (median, p90)


@pytest.mark.parametrize("query", ["period=2026-13", "period=soon", "start=2026-11-30&end=2026-11-01",
                                   "period=0d", "start=yesterday"])
def test_a_bad_period_is_a_422_naming_it(client, auth, city, data, query):
    body = get(client, auth, "bureau", f"/areas/{city['X']}/summary?{query}", status=422)
    assert body["code"] == "invalid_input" and "period" in body["errors"]


def test_each_level_sums_its_own_grids(client, auth, city, data):
    c1 = get(client, auth, "comm1", f"/areas/{city['C1']}/summary")
    assert (c1["households"], c1["persons"], c1["workers"]) == (3, 6, 3)
    assert c1["coverage"]["visited_30d"] == 2 and c1["coverage"]["visited_90d"] == 3
    assert c1["open"]["by_colour"] == {"red": 1, "yellow": 1, "green": 0}
    assert c1["overdue"]["total"] == 1 and c1["escalated"]["total"] == 0
    s1 = get(client, auth, "street1", f"/areas/{city['S1']}/summary")
    assert (s1["households"], s1["open"]["total"], s1["overdue"]["total"], s1["escalated"]["total"]) == (5, 3, 2, 1)
    g3 = get(client, auth, "street1", f"/areas/{city['G3']}/summary")
    assert (g3["households"], g3["persons"], g3["workers"], g3["coverage"]["visited_90d"]) == (2, 1, 1, 0)
    d2 = get(client, auth, "district2", f"/areas/{city['D2']}/summary")
    assert (d2["households"], d2["persons"], d2["workers"], d2["open"]["total"]) == (1, 2, 0, 0)
    kids = {k["area"]["code"]: k for k in get(client, auth, "bureau", f"/areas/{city['X']}/children")}
    assert set(kids) == {"D1", "D2"}
    assert {k: kids["D1"][k] for k in ("households", "open", "red", "yellow", "overdue", "red_overdue")} == \
        {"households": 5, "open": 3, "red": 2, "yellow": 1, "overdue": 2, "red_overdue": 2}
    assert kids["D2"]["households"] == 1 and kids["D2"]["open"] == 0


def test_visits_per_worker(client, auth, city, data):
    rows = get(client, auth, "bureau", f"/areas/{city['X']}/workers")
    assert [(r["name"], r["visits"]) for r in rows] == [("w1", 2), ("w12", 2), ("w2", 1), ("w3", 0)]
    rows = get(client, auth, "comm1", f"/areas/{city['C1']}/workers?period=365d")
    assert sorted((r["name"], r["visits"]) for r in rows) == [("w1", 2), ("w12", 2), ("w2", 1)]


@pytest.mark.parametrize("who, area, status", [
    ("w1", "G1", 403), ("comm1", "X", 404), ("comm1", "C2", 404), ("street1", "D2", 404),
    ("district2", "D1", 404), ("district2", "G4", 200), ("admin", "X", 200), ("street1", "G1", 200),
])
def test_scope_by_role(client, auth, city, data, who, area, status):
    get(client, auth, who, f"/areas/{city[area]}/summary", status=status)
    get(client, auth, who, f"/areas/{city[area]}/cases", status=status)


def test_red_overdue_cases_say_where_they_are_and_who_holds_them(client, auth, city, data):
    body = get(client, auth, "bureau", f"/areas/{city['X']}/cases?status=overdue&colour=red")
    assert body["total"] == 2
    assert body["by_area"] == [{"area_id": city["D1"], "name": "一区", "cases": 2}]
    f3, f1 = body["cases"]
    assert (f3["id"], f1["id"]) == (data["f3"], data["f1"])
    assert (f3["level"], f3["holder"], f3["holder_staff"], f3["grid"], f3["grid_workers"]) == \
        ("street", "一街道", ["street1"], "三网格", ["w3"])
    assert (f1["level"], f1["holder"], f1["holder_staff"], f1["grid"], sorted(f1["grid_workers"])) == \
        ("community", "一社区", ["comm1"], "一网格", ["w1", "w12"])
    assert f3["overdue_hours"] == 48 and f1["overdue_hours"] == 47
    # the bureau may not open a community's case: the family is named by initial only
    assert f1["household"] == "王***" and f1["full"] is False
    mine = get(client, auth, "comm1", f"/areas/{city['C1']}/cases?status=overdue")
    assert [c["id"] for c in mine["cases"]] == [data["f1"]]
    assert mine["cases"][0]["household"] == "王h1伟" and mine["cases"][0]["full"] is True
    assert mine["by_area"] == [{"area_id": city["G1"], "name": "一网格", "cases": 1}]


@pytest.mark.parametrize("status, expected", [
    ("open", {"f1", "f2", "f3"}), ("closed", {"f4", "f5", "f7"}), ("rejected", {"f6"}),
    ("escalated", {"f3"}), ("all", {"f1", "f2", "f3", "f4", "f5", "f6", "f7"}),
])
def test_case_filters(client, auth, city, data, status, expected):
    body = get(client, auth, "bureau", f"/areas/{city['X']}/cases?status={status}&per_page=500")
    assert {c["id"] for c in body["cases"]} == {data[k] for k in expected}
    assert body["total"] == len(expected)


def test_a_case_opens_in_full_only_for_those_who_may_and_is_audited(app, client, auth, city, data):
    masked = get(client, auth, "bureau", f"/cases/{data['f6']}")
    assert masked["full"] is False and masked["household"]["head_name"] == "王***"
    assert masked["household"]["address"] is None and masked["household"]["phone"] is None
    assert [e["action"] for e in masked["events"]] == ["reject"]
    assert masked["events"][0]["by"] == "comm1" and masked["events"][0]["note"] is None
    full = get(client, auth, "comm1", f"/cases/{data['f6']}")
    assert full["full"] is True and full["household"]["head_name"] == "王h4伟"
    assert full["household"]["address"].startswith("和平路") and full["events"][0]["note"] == "not in difficulty"
    escalated = get(client, auth, "street1", f"/cases/{data['f3']}")
    assert [(e["action"], e["level"], e["by"]) for e in escalated["events"]] == [("escalate", "street", "system")]
    assert escalated["events"][0]["reason"]["code"] == "overdue" and escalated["events"][0]["note"] is None
    assert escalated["events"][0]["reason_text"].startswith("超时：红色预警的办理期限")
    get(client, auth, "comm1", f"/cases/{data['f3']}", status=404)
    get(client, auth, "w1", f"/cases/{data['f1']}", status=403)
    with app.app_context():
        opened = db.session.execute(select(AuditLog.action, AuditLog.entity).where(
            AuditLog.action == "open_case")).all()
    # comm1's f6 and street1's f3; the bureau's masked look is not an opening
    assert sorted(opened) == [("open_case", "flag"), ("open_case", "flag")]


def test_refresh_is_repeatable_and_says_when(app, client, auth, city, data):
    first = get(client, auth, "bureau", f"/areas/{city['X']}/summary")
    with app.app_context():
        review.refresh(T0)
    again = get(client, auth, "bureau", f"/areas/{city['X']}/summary")
    assert first == again
    assert again["as_of"].startswith("2026-11-18T04:00")


def test_a_flag_routed_down_is_not_counted_as_escalated(app, client, auth, city, data):
    """Raised at the street (by the server: a worker raises only at the community) and routed
    down to the community: below where it was raised."""
    import uuid
    from server.services.server_changes import apply_as_server, server_change
    fid = str(uuid.uuid4())
    with app.app_context():
        from server.models import Flag
        h5 = db.session.get(Flag, uuid.UUID(data["f3"])).household_id
        apply_as_server([server_change("flag", fid, {"household_id": str(h5), "category": "独居老人",
                                                     "colour": "green", "level": "street"})])
        db.session.commit()
    resp = client.post(f"/api/v1/flags/{fid}/events", headers=auth.headers("street1"),
                       json={"action": "route", "level": "community"})
    assert resp.status_code == 201, resp.json
    with app.app_context():
        review.refresh(T0)
    s = get(client, auth, "bureau", f"/areas/{city['X']}/summary")
    assert s["open"]["total"] == 4 and s["escalated"]["total"] == 1
    body = get(client, auth, "bureau", f"/areas/{city['X']}/cases?status=escalated")
    assert [c["id"] for c in body["cases"]] == [data["f3"]]


def test_the_bureau_opens_its_own_cases_but_its_lists_stay_initialled(app, client, auth, city, data):
    from server.jobs import escalate_overdue
    import datetime as dt
    # f3 and f1 keep running out of time: street, district, then the bureau
    for k in range(1, 6):
        escalate_overdue(app, now=T0 + k * dt.timedelta(hours=30))
    body = get(client, auth, "bureau", f"/areas/{city['X']}/cases?status=open&level=bureau")
    assert {c["id"] for c in body["cases"]} == {data["f1"], data["f3"]}
    assert all(c["full"] is True and c["household"].endswith("*") for c in body["cases"])
    case = get(client, auth, "bureau", f"/cases/{data['f1']}")
    assert case["full"] is True and case["household"]["head_name"] == "王h1伟"
    with app.app_context():
        assert db.session.execute(select(AuditLog.entity_id).where(AuditLog.action == "open_case")).scalars().all() \
            == [__import__("uuid").UUID(data["f1"])]


@pytest.mark.parametrize("query", ["period=9999-12", "period=9999-W52", "start=9999-12-31&end=9999-12-31",
                                   "period=0001-01", "period=9999999999999-01", "period=2026-99999999999",
                                   "start=0001-01-01&end=0001-01-05", "period=1999-12"])
def test_dates_far_out_are_a_422_not_a_crash(client, auth, city, data, query):
    for what in ("summary", "workers"):
        body = get(client, auth, "bureau", f"/areas/{city['X']}/{what}?{query}", status=422)
        assert "period" in body["errors"]


def test_coverage_follows_a_merge_to_the_surviving_household(app, client, auth, city, data):
    import datetime as dt
    import uuid

    from server.models import ReviewSnapshot
    from server.services.linker import merge_households
    from tests.server.test_casework_api import checks, change, pushed
    (r,) = pushed(client, auth, "w3", [change("visit", uuid.uuid4(), {
        "household_id": data["h6"], "visited_at": "2026-11-17T04:00:00Z", "checklist_version": 1,
        "checks": checks()}, "")])
    assert r["status"] == "applied"
    with app.app_context():
        review.refresh(T0)
        before = db.session.get(ReviewSnapshot, uuid.UUID(city["G3"]))
        assert (before.households, before.visited_30d) == (2, 1)
        merge_households(uuid.UUID(data["h5"]), uuid.UUID(data["h6"]), 1.0, ["test"])
        db.session.commit()
        review.refresh(T0 + dt.timedelta(minutes=1))
        after = db.session.get(ReviewSnapshot, uuid.UUID(city["G3"]))
        # one family now, and it was visited yesterday (the visit was logged against its copy)
        assert (after.households, after.visited_30d) == (1, 1)
