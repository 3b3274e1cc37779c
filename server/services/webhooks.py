"""The city's webhook (``GRIDSYNC_WEBHOOK_URL``): cases summoned to a department, escalated by a
person, or overdue (moved up by the deadline job) leave the system as signed JSON events.

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

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..models import Department, WebhookOutbox
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
