"""The permission table through the workspace pages, on SQLite and PostgreSQL: each role × action ×
level × department membership, allowed (the event is written) or refused (a 4xx page, nothing
written). The expectations are written from the design (docs/casework.md §3, §9), not the code."""
import re
import uuid

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import Area, FlagEvent, Worker
from server.services.accounts import create_department, create_worker
from server.services.server_changes import apply_as_server, server_change
from tests.server.test_review_web import csrf, login

LEVELS = ("community", "street", "district", "bureau")
ACTIONS = ("confirm", "reject", "assign", "route", "recolour", "note", "summon", "release", "report_in", "answer")
STAFF = {"comm1": "community", "street1": "street", "district1": "district", "bureau": "bureau"}


def expected(who, action, level):
    """Whether ``who`` may take ``action`` on a reported case in G1 now at ``level``."""
    if who == "jy1":                     # a department not summoned to the case
        return False
    if who == "wj1":                     # the summoned department: its own two steps, and notes
        return level != "community" and action in ("report_in", "answer", "note")
    own = STAFF[who] == level
    if action in ("report_in", "answer"):
        return False
    if action in ("summon", "release"):
        return own and level != "community"
    if who == "comm1" and action == "note":
        return True                      # the community notes on its cases wherever they are
    return own


@pytest.fixture
def town(app, city):
    with app.app_context():
        area = {a.code: a for a in db.session.execute(select(Area)).scalars()}
        create_worker("district1", "pw-district1", "district", area=area["D1"])
        wj = create_department("WJ", "区卫健局", "district", area["D1"])
        jy = create_department("JY", "二区教育局", "district", area["D2"])
        db.session.flush()
        create_worker("wj1", "pw-wj1", "department", department=wj)
        create_worker("jy1", "pw-jy1", "department", department=jy)
        hid = uuid.uuid4()
        apply_as_server([server_change("household", str(hid), {"grid_id": city["G1"], "address": "和平路1号"})])
        db.session.commit()
        people = {w.username: str(w.id) for w in db.session.execute(select(Worker)).scalars()}
        return {"household": str(hid), "wj": str(wj.id), "jy": str(jy.id), "people": people}


def case_at(app, town, level, action):
    """A reported case in G1 at ``level``; 卫健 summoned to it (and reported in, for an answer)."""
    fid = str(uuid.uuid4())
    with app.app_context():
        changes = [server_change("flag", fid, {"household_id": town["household"], "category": "illness_poverty", "colour": "red",
                                               "level": level})]
        if level != "community":
            changes.append(server_change("flag_event", str(uuid.uuid4()), {
                "flag_id": fid, "action": "summon", "department_id": town["wj"], "note": "请协助"}))
            if action == "answer":
                changes.append(server_change("flag_event", str(uuid.uuid4()), {
                    "flag_id": fid, "action": "report_in", "department_id": town["wj"]}))
        apply_as_server(changes)
        db.session.commit()
    return fid


def written(app, fid):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(FlagEvent).where(
            FlagEvent.flag_id == uuid.UUID(fid))).scalar_one()


def form(token, level, action, town):
    colleague = {"community": "comm1", "street": "street1", "district": "district1", "bureau": "bureau"}[level]
    return {"csrf_token": token, "action": action, "from_state": "reported", "at_level": level,
            "form_id": str(uuid.uuid4()), "note": "说明", "assignee_id": town["people"][colleague],
            "level": "district" if level != "district" else "street", "colour": "yellow",
            "department_id": town["wj"] if action != "summon" else town["jy"] if level == "bureau" else town["wj"]}


@pytest.mark.parametrize("who", ["comm1", "street1", "district1", "bureau", "wj1", "jy1"])
def test_each_role_may_take_exactly_its_actions_at_each_level(app, client, city, town, who):
    resp = login(client, who)
    token = csrf(resp.get_data(as_text=True))
    for level in LEVELS:
        for action in ACTIONS:
            if level == "community" and action in ("release", "report_in", "answer"):
                continue                 # nobody is summoned at community level
            fid = case_at(app, town, level, action)
            before = written(app, fid)
            data = form(token, level, action, town)
            if action == "summon" and level != "community":
                data["department_id"] = town["jy"]       # 卫健 is summoned already: summon another
            resp = client.post(f"/work/case/{fid}", data=data)
            allowed = expected(who, action, level)
            after = written(app, fid)
            if allowed:
                assert resp.status_code == 302 and after == before + 1, (who, action, level, resp.status_code,
                                                                         _why(resp))
            else:
                assert resp.status_code in (403, 404, 422) and after == before, (who, action, level,
                                                                                resp.status_code)


def _why(resp):
    m = re.search(r'id="message">([^<]*)', resp.get_data(as_text=True))
    return m.group(1) if m else ""
