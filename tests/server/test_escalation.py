"""Deadlines and escalation (限时办结, 分级流转), driven by a fake clock: a red flag nobody acts on
climbs one level per deadline, each step an event saying why, and exactly once."""
import datetime as dt
import threading
import time
import uuid

from sqlalchemy import func, select

from server.extensions import db
from server.jobs import escalate_overdue
from server.models import Flag, FlagEvent
from server import create_app
from tests.city import make_city
from tests.conftest import Auth, _config
from tests.helpers import change, push, stamp

T0 = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.timezone.utc)


class FakeClock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def _use_clock(app, start=T0):
    clock = FakeClock(start)
    app.extensions["wall_clock"] = clock
    return clock


def _raise_red_flag(client, auth, city, colour="red"):
    h = auth.headers("w1")
    hid, fid = str(uuid.uuid4()), str(uuid.uuid4())
    ms = int(time.time() * 1000) - 60_000
    resp = push(client, h, "dev-w1", [
        change("household", hid, {"grid_id": city["G1"], "address": "和平路3号"}, stamp(ms)),
        change("flag", fid, {"household_id": hid, "category": "de_facto_unsupported_child", "colour": colour},
               stamp(ms + 1))])
    assert {r["status"] for r in resp.json["results"]} == {"applied"}
    return fid


def _flag(app, fid):
    with app.app_context():
        flag = db.session.get(Flag, uuid.UUID(fid))
        events = db.session.execute(select(FlagEvent).where(FlagEvent.flag_id == flag.id)
                                    .order_by(FlagEvent.stamp)).scalars().all()
        return flag.current_level, flag.state, flag.deadline_at, [(e.action, e.level, e.reason) for e in events]


def test_an_ignored_red_flag_climbs_a_level_per_deadline(app, client, auth, city):
    clock = _use_clock(app)
    fid = _raise_red_flag(client, auth, city)
    level, state, deadline, events = _flag(app, fid)
    assert (level, state, events) == ("community", "reported", [])
    assert deadline.replace(tzinfo=dt.timezone.utc) == T0 + dt.timedelta(hours=24)

    assert escalate_overdue(app, now=T0 + dt.timedelta(hours=23, minutes=59)) == 0
    clock.now = T0 + dt.timedelta(hours=24, minutes=1)
    assert escalate_overdue(app) == 1
    level, _, deadline, events = _flag(app, fid)
    assert level == "street"
    assert deadline.replace(tzinfo=dt.timezone.utc) == clock.now + dt.timedelta(hours=24)
    (action, to, reason), = events
    assert (action, to) == ("escalate", "street")
    # facts, not prose: the deadline (UTC), where and in which state it was missed
    assert reason == {"code": "overdue", "colour": "red", "deadline": "2026-11-03T08:00Z", "level": "community",
                      "state": "reported", "to": "street"}

    # running again at the same moment does nothing: the street's clock has just started
    assert escalate_overdue(app) == 0
    for expected in ("district", "bureau"):
        clock.now += dt.timedelta(hours=25)
        assert escalate_overdue(app) == 1
        assert _flag(app, fid)[0] == expected
    clock.now += dt.timedelta(days=30)
    assert escalate_overdue(app) == 0          # nowhere above the bureau
    assert [e[1] for e in _flag(app, fid)[3]] == ["street", "district", "bureau"]


def test_a_flag_being_handled_on_time_does_not_escalate_and_a_resolved_one_stops_its_clock(app, client, auth,
                                                                                           city):
    clock = _use_clock(app)
    fid = _raise_red_flag(client, auth, city)
    staff = auth.headers("comm1")
    ms = int(time.time() * 1000)
    steps = [change("flag_event", uuid.uuid4(), {"flag_id": fid, "action": a, "from_state": f},
                    stamp(ms + i, "dev-comm1")) for i, (a, f) in
             enumerate([("confirm", "reported"), ("start", "confirmed"), ("resolve", "in_progress")])]
    clock.now = T0 + dt.timedelta(hours=20)
    assert {r["status"] for r in push(client, staff, "dev-comm1", steps).json["results"]} == {"applied"}
    level, state, deadline, _ = _flag(app, fid)
    assert (level, state, deadline) == ("community", "resolved", None)
    clock.now = T0 + dt.timedelta(days=10)
    assert escalate_overdue(app) == 0
    # a resolved flag waits for its verifying visit instead: it is on the worker's due list
    due = client.get("/api/v1/visits/due", headers=auth.headers("w1")).json
    assert [(d["flag_id"], d["why"]) for d in due] == [(fid, "verify")]


def test_green_flags_get_a_week(app, client, auth, city):
    _use_clock(app)
    fid = _raise_red_flag(client, auth, city, colour="green")
    assert escalate_overdue(app, now=T0 + dt.timedelta(days=6, hours=23)) == 0
    assert escalate_overdue(app, now=T0 + dt.timedelta(days=7, hours=1)) == 1
    assert _flag(app, fid)[0] == "street"


def test_an_escalated_flag_moves_from_the_community_queue_to_the_streets(app, client, auth, city):
    clock = _use_clock(app)
    fid = _raise_red_flag(client, auth, city)
    queue = client.get("/api/v1/flags/queue", headers=auth.headers("comm1")).json
    assert [f["id"] for f in queue] == [fid]
    assert client.get("/api/v1/flags/queue", headers=auth.headers("street1")).json == []
    clock.now = T0 + dt.timedelta(hours=25)
    escalate_overdue(app)
    assert client.get("/api/v1/flags/queue", headers=auth.headers("comm1")).json == []
    (item,) = client.get("/api/v1/flags/queue", headers=auth.headers("street1")).json
    assert item["id"] == fid and item["current_level"] == "street" and item["overdue"] is False
    assert "confirm" in item.get("allowed_actions", []) or "confirm" in client.get(
        f"/api/v1/flags/{fid}", headers=auth.headers("street1")).json["allowed_actions"]


def test_two_schedulers_on_postgresql_escalate_each_flag_exactly_once(pg_app):
    with pg_app.app_context():
        city = make_city()
    client = pg_app.test_client()
    auth = Auth(client)
    _use_clock(pg_app)
    fids = [_raise_red_flag(client, auth, city) for _ in range(12)]
    # a second server process: another app object on the same database
    second = create_app(_config(str(pg_app.config["SQLALCHEMY_DATABASE_URI"])))
    _use_clock(second)
    when = T0 + dt.timedelta(hours=25)
    barrier = threading.Barrier(2)
    done = []

    def run(app):
        barrier.wait()
        for _ in range(3):
            done.append(escalate_overdue(app, now=when))

    threads = [threading.Thread(target=run, args=(a,)) for a in (pg_app, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sum(done) == len(fids)
    with pg_app.app_context():
        counts = dict(db.session.execute(select(FlagEvent.flag_id, func.count()).group_by(FlagEvent.flag_id)).all())
        assert sorted(str(k) for k in counts) == sorted(fids)
        assert set(counts.values()) == {1}
        assert {f.current_level for f in db.session.execute(select(Flag)).scalars()} == {"street"}
    with second.app_context():
        db.session.remove()
        db.engine.dispose()


def test_an_escalation_written_as_english_prose_before_0008_is_read_into_a_reason(app, client, auth, city):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import Uuid, bindparam, text
    clock = _use_clock(app)
    fid = _raise_red_flag(client, auth, city)
    clock.now = T0 + dt.timedelta(hours=25)
    assert escalate_overdue(app) == 1
    old = ("overdue: the red deadline 2026-11-03 08:00 UTC passed at community level with the flag in_progress; "
           "escalated to street")
    with app.app_context():
        downgrade(revision="0007")
        db.session.execute(text("UPDATE flag_event SET note = :n"), {"n": old})
        db.session.execute(text("INSERT INTO flag_event (id, flag_id, action, note, stamp, device_id, created_at) "
                                "SELECT :id, flag_id, 'note', 'overdue: said by a person', stamp || 'x', device_id, "
                                "created_at FROM flag_event").bindparams(bindparam("id", type_=Uuid())),
                           {"id": uuid.uuid4()})
        db.session.commit()
        upgrade()
        db.session.remove()
        rows = db.session.execute(select(FlagEvent.action, FlagEvent.reason, FlagEvent.note)
                                  .where(FlagEvent.flag_id == uuid.UUID(fid)).order_by(FlagEvent.action)).all()
    assert rows == [("escalate", {"code": "overdue", "colour": "red", "deadline": "2026-11-03T08:00Z",
                                  "level": "community", "state": "in_progress", "to": "street"}, None),
                    ("note", None, "overdue: said by a person")]


def test_a_reason_reads_in_each_language_and_the_citys_time():
    from sync.messages import overdue_reason, reason_text
    reason = overdue_reason("red", dt.datetime(2026, 11, 3, 8, 0), "community", "in_progress", "street")
    assert reason_text(reason, lambda s: s) == ("overdue: the red deadline 2026-11-03 16:00 passed at community "
                                               "level with the flag in progress; escalated to street")
    assert reason_text({"code": "unknown"}, lambda s: s) is None
