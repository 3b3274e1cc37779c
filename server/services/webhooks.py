"""The city's webhook (``GRIDSYNC_WEBHOOK_URL``): cases summoned to a department, escalated by a
person, or overdue (moved up by the deadline job), departments late to report in or to answer,
and cases overdue at the bureau leave the system as signed JSON events.

``enqueue`` runs inside the write of the flag events that cause them (server/services/ingest.py),
so an event is queued exactly when its change is committed; ``deliver`` runs only in the
scheduler (server/jobs.py), so a receiver that is slow or down never holds up a push or a page.
Each event's id is its flag event's id: it is queued once, and a receiver that saw it already
(a reply lost after it was taken) can drop it by that id.
"""
import datetime as dt
import hashlib
import hmac
import json
import uuid

from flask import current_app
from sqlalchemy import and_, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from sync.casework import OPEN_STATES
from sync.flags import OPEN_SUMMONS

from ..extensions import db
from ..models import Department, Flag, Summons, WebhookOutbox
from .bulk import insert_rows

#: the flag event actions that leave the system, and their kind
ACTIONS = ("summon", "escalate")
#: events sent per round; the rest wait for the next
BATCH = 50
#: seconds before the second attempt; each failure doubles it, up to MAX_BACKOFF_S
FIRST_BACKOFF_S = 30
MAX_BACKOFF_S = 3600
#: seconds to connect, and to wait for the reply
TIMEOUT = (3, 10)
SIGNATURE_HEADER = "X-Gridsync-Signature"
EVENT_HEADER = "X-Gridsync-Event"


def _iso(when):
    return when.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def enqueue(events, now):
    """Queue the webhook events among ``events`` (flag event rows as written); the caller's
    transaction commits them. Nothing is queued when no webhook is configured."""
    if not current_app.config.get("WEBHOOK_URL"):
        return
    wanted = [e for e in events if e["action"] in ACTIONS]
    if not wanted:
        return
    dept_ids = {e["department_id"] for e in wanted if e.get("department_id")}
    codes = dict(db.session.execute(select(Department.id, Department.code)
                                    .where(Department.id.in_(dept_ids))).all()) if dept_ids else {}
    rows = []
    for e in wanted:
        reason = e.get("reason") or {}
        if e["action"] == "summon":
            kind = "summoned"
        else:
            kind = "overdue" if reason.get("code") == "overdue" else "escalated"
        payload = {"id": str(e["id"]), "kind": kind, "at": _iso(now), "case_id": str(e["flag_id"]),
                   "level": e.get("level") or e.get("at_level")}
        if kind == "overdue":
            payload.update({"from_level": reason.get("level"), "deadline": reason.get("deadline"),
                            "colour": reason.get("colour")})
        if e.get("department_id"):
            payload["department"] = {"id": str(e["department_id"]), "code": codes.get(e["department_id"])}
        rows.append({"id": e["id"], "kind": kind, "payload": payload, "created_at": now, "attempts": 0,
                     "next_at": now, "sent_at": None, "last_error": None})
    insert_rows(WebhookOutbox.__table__, rows)


#: the namespace of the ids of the events no flag event causes (late departments, overdue at the
#: bureau): derived from what they are about, so a round that runs twice queues each once
_LATE_NS = uuid.UUID("0c9a3a8e-1f7d-4f0e-8a44-6b7e2f1d5c39")


def late_events(now):
    """Queue the events that a deadline passing causes, with nothing written to cause them: a
    summoned department late to report in (``late_report``) or to answer (``late_answer``),
    and an open case overdue at the bureau, where no level is left to escalate it to
    (``overdue_top``). Each id comes from the case, the department (if any) and the deadline,
    so however often this runs, each is queued once; a new deadline (a department summoned
    again, a case recoloured) is a new event. Returns how many were queued; the caller commits."""
    if not current_app.config.get("WEBHOOK_URL"):
        return 0
    candidates = []
    summons = db.session.execute(
        select(Summons, Department.code).outerjoin(Department, Department.id == Summons.department_id)
        .join(Flag, Flag.id == Summons.flag_id)
        .where(Flag.state.in_(OPEN_STATES), Summons.state.in_(OPEN_SUMMONS),
               or_(and_(Summons.state == "summoned", Summons.report_due_at < now),
                   and_(Summons.state != "summoned", Summons.answer_due_at < now)))).all()
    for s, code in summons:
        kind, due = ("late_report", s.report_due_at) if s.state == "summoned" else ("late_answer", s.answer_due_at)
        event_id = uuid.uuid5(_LATE_NS, f"{kind}:{s.flag_id}:{s.department_id}:{_iso(due)}")
        candidates.append((event_id, kind, {
            "id": str(event_id), "kind": kind, "at": _iso(now), "case_id": str(s.flag_id), "deadline": _iso(due),
            "department": {"id": str(s.department_id), "code": code}}))
    for flag in db.session.execute(select(Flag).where(Flag.state.in_(OPEN_STATES), Flag.current_level == "bureau",
                                                      Flag.deadline_at < now)).scalars():
        event_id = uuid.uuid5(_LATE_NS, f"overdue_top:{flag.id}:{_iso(flag.deadline_at)}")
        candidates.append((event_id, "overdue_top", {
            "id": str(event_id), "kind": "overdue_top", "at": _iso(now), "case_id": str(flag.id), "level": "bureau",
            "deadline": _iso(flag.deadline_at), "colour": flag.current_colour}))
    if not candidates:
        return 0
    known = set()
    ids = [c[0] for c in candidates]
    for i in range(0, len(ids), 500):
        known.update(db.session.execute(select(WebhookOutbox.id).where(WebhookOutbox.id.in_(ids[i:i + 500]))).scalars())
    rows = [{"id": event_id, "kind": kind, "payload": payload, "created_at": now, "attempts": 0, "next_at": now,
             "sent_at": None, "last_error": None} for event_id, kind, payload in candidates if event_id not in known]
    if rows:
        # a round racing this one (SQLite has no lock for it) may have queued some: those are kept
        insert = (pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert)(WebhookOutbox.__table__)
        db.session.execute(insert.on_conflict_do_nothing(index_elements=["id"]), rows)
    return len(rows)


def body_of(payload):
    """The exact bytes sent (and signed)."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def signature(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff(attempts):
    """Seconds to wait after the ``attempts``-th failure."""
    return min(FIRST_BACKOFF_S * 2 ** (attempts - 1), MAX_BACKOFF_S)


def deliver(now):
    """Send the events due at ``now``, oldest first; returns (sent, failed). Runs in the
    scheduler only; the caller holds the round's lock and commits."""
    import requests
    url, secret = current_app.config.get("WEBHOOK_URL"), current_app.config.get("WEBHOOK_SECRET")
    if not url:
        return 0, 0
    due = db.session.execute(
        select(WebhookOutbox.id, WebhookOutbox.payload).where(WebhookOutbox.next_at <= now)
        .order_by(WebhookOutbox.created_at, WebhookOutbox.id).limit(BATCH)).all()
    if db.engine.dialect.name == "sqlite":
        # hold no read transaction on SQLite while waiting for the receiver
        db.session.rollback()
    outcome = {}
    for event_id, payload in due:
        body = body_of(payload)
        try:
            resp = requests.post(url, data=body, timeout=TIMEOUT, allow_redirects=False, headers={
                "Content-Type": "application/json", EVENT_HEADER: str(event_id),
                SIGNATURE_HEADER: signature(secret, body)})
            error = None if 200 <= resp.status_code < 300 else f"HTTP {resp.status_code}"
        except requests.RequestException as exc:
            outcome[event_id] = f"{type(exc).__name__}: {str(exc)[:200]}"
            if isinstance(exc, (requests.ConnectionError, requests.Timeout)):
                break       # the receiver is down or not answering: the rest wait for a later round
            continue
        outcome[event_id] = error
    for event_id, error in outcome.items():
        row = db.session.get(WebhookOutbox, event_id)
        row.attempts += 1
        if error is None:
            row.sent_at, row.next_at, row.last_error = now, None, None
        else:
            row.last_error = error
            row.next_at = now + dt.timedelta(seconds=backoff(row.attempts))
    sent = sum(e is None for e in outcome.values())
    return sent, len(outcome) - sent


def status(limit=100):
    """The deliveries not yet made, oldest first, with their attempts and last error."""
    return db.session.execute(
        select(WebhookOutbox).where(WebhookOutbox.sent_at.is_(None))
        .order_by(WebhookOutbox.created_at, WebhookOutbox.id).limit(limit)).scalars().all()
