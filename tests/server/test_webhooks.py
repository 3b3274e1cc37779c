"""The city's webhook (leaving the system): a case summoned to a department, escalated or overdue
is queued in the transaction that causes it and sent by the scheduler only, signed, retried with
backoff until the receiver takes it, each event once by its id; on SQLite and PostgreSQL."""
import datetime as dt
import hashlib
import hmac
import http.server
import json
import socket
import threading
import uuid

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.jobs import escalate_overdue, send_webhooks
from server.models import WebhookOutbox
from server.services import webhooks
from tests.server.test_casework_api import H, T0, household, raise_flag, use_clock
from tests.server.test_departments_web import depts  # noqa: F401 (fixture)
from tests.server.test_review_web import csrf, login
from tests.server.test_workspace_web import page, post

SECRET = "city-shared-secret-0123"


class Receiver:
    """An HTTP receiver on a loopback port that answers 500 to its first ``fail`` requests."""

    def __init__(self, fail=0):
        self.fail, self.requests, self.taken = fail, [], {}
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append((self.headers.get("X-Gridsync-Event"), self.headers.get("X-Gridsync-Signature"),
                                       body))
                if len(outer.requests) <= outer.fail:
                    self.send_response(500)
                else:
                    # a receiver keeps the first of each id (a retry after a lost reply is dropped)
                    outer.taken.setdefault(self.headers.get("X-Gridsync-Event"), []).append(body)
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/gridsync"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver(fail=3)
    yield r
    r.close()


def _hook(app, url):
    app.config.update(WEBHOOK_URL=url, WEBHOOK_SECRET=SECRET)


def _outbox(app):
    with app.app_context():
        return {str(r.id): (r.kind, r.attempts, r.sent_at is not None, r.last_error)
                for r in db.session.execute(select(WebhookOutbox)).scalars()}


def _street_case_summoned(app, client, auth, city, depts):
    """A red case left alone until it is overdue and moves to the street, where the street
    summons 卫健 and 民政: three webhook events."""
    clock = use_clock(app)
    fid = raise_flag(client, auth, household(client, auth, city))
    clock.now = T0 + 25 * H
    assert escalate_overdue(app) == 1
    login(client, "street1")
    html = page(client, f"/work/case/{fid}")
    resp = post(client, fid, html, "summon", department_id=[depts["WJ"], depts["MZ"]], note="请协助核实")
    assert resp.status_code == 302
    return clock, fid


def test_every_event_is_delivered_once_by_id_after_the_receiver_fails(app, client, auth, city, depts, receiver):
    _hook(app, receiver.url)
    clock, fid = _street_case_summoned(app, client, auth, city, depts)
    # queued with the changes, nothing sent yet: the push and the page never call out
    queued = _outbox(app)
    assert sorted(k for k, *_ in queued.values()) == ["overdue", "summoned", "summoned"]
    assert receiver.requests == []

    # the first round: the receiver fails all three; each waits 30 s, and is listed for admins
    assert send_webhooks(app) == (0, 3)
    assert {v[1:] for v in _outbox(app).values()} == {(1, False, "HTTP 500")}
    result = app.test_cli_runner().invoke(args=["webhook-status"])
    assert result.exit_code == 0, result.output
    assert "0 delivered, 3 waiting" in result.output and result.output.count("HTTP 500") == 3
    assert send_webhooks(app) == (0, 0)               # not due again yet
    clock.now += dt.timedelta(seconds=29)
    assert send_webhooks(app) == (0, 0)
    clock.now += dt.timedelta(seconds=2)
    assert send_webhooks(app) == (3, 0)
    for _ in range(3):
        clock.now += dt.timedelta(minutes=30)         # (卫健 is late to report in only after 4 h)
        assert send_webhooks(app) == (0, 0)

    assert len(receiver.requests) == 6
    assert sorted(receiver.taken) == sorted(queued)
    assert all(len(bodies) == 1 for bodies in receiver.taken.values())
    for event_id, sig, body in receiver.requests:
        assert sig == "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert json.loads(body)["id"] == event_id
    assert not hmac.compare_digest(receiver.requests[0][1], webhooks.signature("another-secret-000", receiver.requests[0][2]))

    got = {json.loads(b[0])["kind"] + ":" + str(json.loads(b[0]).get("department", {}).get("code")): json.loads(b[0])
           for b in receiver.taken.values()}
    overdue = got["overdue:None"]
    assert {k: overdue[k] for k in ("kind", "case_id", "level", "from_level", "colour")} == \
        {"kind": "overdue", "case_id": fid, "level": "street", "from_level": "community", "colour": "red"}
    assert got["summoned:WJ"]["department"] == {"id": depts["WJ"], "code": "WJ"}
    assert got["summoned:MZ"]["case_id"] == fid
    for event in got.values():
        # what leaves the system: ids, kinds, levels and times; no names, addresses, phones or notes
        assert set(event) <= {"id", "kind", "at", "case_id", "level", "from_level", "deadline", "colour", "department"}
        assert "和平路" not in json.dumps(event, ensure_ascii=False) and "请协助" not in json.dumps(event, ensure_ascii=False)
    result = app.test_cli_runner().invoke(args=["webhook-status"])
    assert "3 delivered, 0 waiting" in result.output


def test_admins_see_the_undelivered_events_over_the_api(app, client, auth, city, depts):
    _hook(app, _dead_url())
    _street_case_summoned(app, client, auth, city, depts)
    send_webhooks(app)
    for who in ("street1", "bureau", "w1"):
        resp = client.get("/api/v1/webhook/outbox", headers=auth.headers(who))
        assert resp.status_code == 403 and resp.json["code"] == "forbidden"
    resp = client.get("/api/v1/webhook/outbox", headers=auth.headers("admin"))
    assert resp.status_code == 200
    assert (resp.json["configured"], resp.json["delivered"], len(resp.json["waiting"])) == (True, 0, 3)
    first = resp.json["waiting"][0]
    assert first["attempts"] == 1 and first["last_error"].startswith("ConnectionError")
    assert sorted(w["kind"] for w in resp.json["waiting"]) == ["overdue", "summoned", "summoned"]


def _dead_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/gridsync"


def test_a_receiver_that_is_down_is_called_only_by_the_job(app, client, auth, city, depts):
    _hook(app, _dead_url())
    clock, fid = _street_case_summoned(app, client, auth, city, depts)   # push, escalation, page, summons
    assert page(client, f"/work/case/{fid}")
    assert len(_outbox(app)) == 3
    # a receiver that does not answer ends the round at its first event: the rest wait
    assert send_webhooks(app) == (0, 1)
    assert sorted(v[1] for v in _outbox(app).values()) == [0, 0, 1]
    waits = []
    for _ in range(10):                     # down all day: waits double, up to an hour
        with app.app_context():
            row = db.session.execute(select(WebhookOutbox).order_by(WebhookOutbox.id)).scalars().first()
            waits.append(round((row.next_at - clock.now).total_seconds()))
            assert "ConnectionError" in row.last_error and row.sent_at is None
        clock.now = row.next_at
        send_webhooks(app)
    assert waits == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]


def test_nothing_is_queued_or_sent_without_a_webhook(app, client, auth, city, depts, receiver):
    clock, fid = _street_case_summoned(app, client, auth, city, depts)
    assert _outbox(app) == {}
    app.config["WEBHOOK_SECRET"] = SECRET
    assert send_webhooks(app) == (0, 0)
    assert receiver.requests == []
    result = app.test_cli_runner().invoke(args=["webhook-status"])
    assert "webhook: not configured; 0 delivered, 0 waiting" in result.output


def test_a_person_escalating_is_an_escalated_event(app, client, auth, city, receiver):
    _hook(app, receiver.url)
    receiver.fail = 0
    use_clock(app)
    fid = raise_flag(client, auth, household(client, auth, city))
    login(client, "comm1")
    html = page(client, f"/work/case/{fid}")
    assert post(client, fid, html, "route", level="street").status_code == 302
    assert sorted(k for k, *_ in _outbox(app).values()) == ["escalated"]
    assert send_webhooks(app) == (1, 0)
    (body,), = receiver.taken.values()
    event = json.loads(body)
    assert (event["kind"], event["case_id"], event["level"]) == ("escalated", fid, "street")


def test_the_scheduler_sends_the_outbox_only_when_a_webhook_is_configured(sqlite_app):
    from server.jobs import start_scheduler
    for url, expected in ((None, False), ("http://127.0.0.1:9/gridsync", True)):
        sqlite_app.config.update(WEBHOOK_URL=url, WEBHOOK_SECRET=SECRET, WEBHOOK_INTERVAL_S=3600)
        scheduler = start_scheduler(sqlite_app)
        try:
            job = scheduler.get_job("send_webhooks")
            assert (job is not None) == expected
            if job:
                assert job.trigger.interval.total_seconds() == 3600
        finally:
            scheduler.shutdown(wait=False)


def _kinds(app):
    with app.app_context():
        return sorted((r.kind, r.payload.get("department", {}).get("code")) for r in
                      db.session.execute(select(WebhookOutbox).where(WebhookOutbox.kind.in_(
                          ("late_report", "late_answer", "overdue_top")))).scalars())


def test_late_departments_are_events_once_however_often_the_job_runs(app, client, auth, city, depts, receiver):
    _hook(app, receiver.url)
    receiver.fail = 0
    clock, fid = _street_case_summoned(app, client, auth, city, depts)   # 卫健 4 h / 48 h, 民政 24 h / 72 h
    assert send_webhooks(app) == (3, 0)
    clock.now += 3 * H
    assert send_webhooks(app) == (0, 0) and _kinds(app) == []           # nobody late yet
    clock.now += 2 * H                                                  # 卫健 is an hour late to report in
    assert send_webhooks(app) == (1, 0)
    assert send_webhooks(app) == (0, 0)                                 # a second round: nothing new
    assert _kinds(app) == [("late_report", "WJ")]
    # 民政 reports in on time; 卫健 reports in late (its lateness is not sent again)
    for who in ("mz1", "wj1"):
        client.post("/review/logout", data={"csrf_token": csrf(page(client, "/work/"))})
        login(client, who)
        html = page(client, f"/work/case/{fid}")
        assert post(client, fid, html, "report_in").status_code == 302
    clock.now = T0 + 25 * H + 49 * H                                    # 卫健's answer is an hour late
    assert send_webhooks(app) == (1, 0)
    clock.now = T0 + 25 * H + 73 * H                                    # 民政's too
    assert send_webhooks(app) == (1, 0)
    for _ in range(3):
        clock.now += H
        assert send_webhooks(app) == (0, 0)
    assert _kinds(app) == [("late_answer", "MZ"), ("late_answer", "WJ"), ("late_report", "WJ")]
    late = [json.loads(b[0]) for b in receiver.taken.values() if json.loads(b[0])["kind"].startswith("late")]
    assert len(late) == 3 and all(len(b) == 1 for b in receiver.taken.values())
    for event in late:
        assert set(event) == {"id", "kind", "at", "case_id", "deadline", "department"} and event["case_id"] == fid
    wj = next(e for e in late if e["kind"] == "late_report")
    assert wj["deadline"] == "2026-11-03T13:00:00Z" and wj["department"] == {"id": depts["WJ"], "code": "WJ"}


def test_a_case_overdue_at_the_bureau_is_an_event_once(app, client, auth, city, receiver):
    _hook(app, receiver.url)
    receiver.fail = 0
    clock = use_clock(app)
    fid = raise_flag(client, auth, household(client, auth, city))
    from server.models import Flag
    for level in ("street", "district", "bureau"):                      # each deadline missed in turn
        with app.app_context():
            clock.now = db.session.get(Flag, uuid.UUID(fid)).deadline_at + dt.timedelta(minutes=1)
        assert escalate_overdue(app) == 1
        with app.app_context():
            flag = db.session.get(Flag, uuid.UUID(fid))
            assert flag.current_level == level
            due = flag.deadline_at
    assert due > clock.now
    send_webhooks(app)
    assert _kinds(app) == []
    clock.now = due + H
    assert send_webhooks(app)[0] >= 1
    for _ in range(3):
        clock.now += 24 * H
        send_webhooks(app)
    assert _kinds(app) == [("overdue_top", None)]
    (top,) = [json.loads(b[0]) for b in receiver.taken.values() if json.loads(b[0])["kind"] == "overdue_top"]
    assert (top["case_id"], top["level"], top["colour"]) == (fid, "bureau", "red")
    assert escalate_overdue(app) == 0                                   # nowhere above the bureau


def test_late_events_are_not_queued_without_a_webhook(app, client, auth, city, depts):
    clock, fid = _street_case_summoned(app, client, auth, city, depts)
    clock.now += 100 * H
    with app.app_context():
        assert webhooks.late_events(clock.now) == 0
    assert _outbox(app) == {}
