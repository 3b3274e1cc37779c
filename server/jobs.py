"""Scheduled jobs. They run inside an app context they push themselves, and are started by the
process entry point (``gridsync run-scheduler`` or ``gridsync demo``), never by create_app.

Several server processes may run the scheduler against one PostgreSQL database: the escalation
job takes a transaction-level advisory lock, so only one acts in a round, and each escalation
event has an id derived from the flag and the level it leaves, so even two rounds that raced
could not escalate a flag twice.
"""
import logging
import uuid

from sqlalchemy import select, text

from sync.casework import OPEN_STATES, next_level
from sync.messages import overdue_reason

from .extensions import db
from .models import Flag
from .services.server_changes import apply_as_server, server_change

log = logging.getLogger(__name__)

_LOCK_KEY = 0x67726964  # "grid": one advisory lock for the escalation round
_NS = uuid.UUID("6d1f6c2e-5a4b-4e1e-9a57-0c0e6f6b7a11")


#: flags escalated per transaction: a round over many overdue flags (a first start after a
#: long stop) commits every batch, so on SQLite no request waits long for the write lock
ESCALATION_BATCH = 50


def escalate_overdue(app, now=None):
    """Move every overdue open flag one level up, with an event saying why. Returns how many."""
    with app.app_context():
        now = now or app.extensions["wall_clock"]()
        done = 0
        while True:
            if db.engine.dialect.name == "postgresql":
                got = db.session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _LOCK_KEY}).scalar()
                if not got:
                    db.session.rollback()
                    return done
            overdue = db.session.execute(
                select(Flag).where(Flag.state.in_(OPEN_STATES), Flag.deadline_at < now,
                                   Flag.current_level != "bureau")
                .order_by(Flag.deadline_at, Flag.id).limit(ESCALATION_BATCH)).scalars().all()
            if not overdue:
                db.session.rollback()
                break
            changes = []
            for flag in overdue:
                up = next_level(flag.current_level)
                since = flag.level_since.isoformat() if flag.level_since else ""
                event_id = uuid.uuid5(_NS, f"{flag.id}:{flag.current_level}:{since}")
                # facts, not words: each reader sees them in their language and time zone
                reason = overdue_reason(flag.current_colour, flag.deadline_at, flag.current_level, flag.state, up)
                changes.append(server_change("flag_event", event_id,
                                             {"flag_id": str(flag.id), "action": "escalate", "level": up,
                                              "reason": reason},
                                             change_id=uuid.uuid5(_NS, f"change:{event_id}")))
            out = apply_as_server(changes, device_id="scheduler", now=now)
            db.session.commit()
            applied = sum(r["status"] == "applied" for r in out.results)
            done += applied
            if applied == 0 or len(overdue) < ESCALATION_BATCH:
                # nothing moved (each was escalated already by a racing round): do not spin
                break
        if done:
            log.info("escalated %d overdue flag(s)", done)
        return done


#: the longest a linker round goes on before the next interval
LINK_ROUND_S = 300


def link_duplicates(app):
    """Find and merge duplicates entered on different devices (server/services/linker.py)."""
    from .services.linker import link_pending
    with app.app_context():
        # Until caught up: every page commits (on SQLite every chunk), so a long first pass
        # holds nothing for long, and waiting a whole interval between its pages would only
        # leave duplicates unfound for longer.
        stats = link_pending(max_seconds=LINK_ROUND_S)
        if stats["merged"] or stats["queued"]:
            log.info("duplicates: %d merged, %d queued for review", stats["merged"], stats["queued"])
        return stats


def refresh_review(app):
    """Rebuild the review roll-ups (server/services/review.py); one process at a time."""
    from .models import ReviewState
    from .services.review import refresh
    with app.app_context():
        # Every server process runs the scheduler: a round another process has just done is
        # not repeated (and one under way is skipped by its lock).
        state = db.session.get(ReviewState, 1)
        now = app.extensions["wall_clock"]()
        if state and state.refreshed_at and (now - state.refreshed_at).total_seconds() < \
                app.config["REVIEW_REFRESH_INTERVAL_S"] / 2:
            db.session.rollback()
            return None
        took = refresh(now)
        if took is not None:
            log.info("review roll-ups rebuilt in %.1f s", took)
        return took


_WEBHOOK_LOCK_KEY = 0x686f6f6b  # "hook": one process sends the outbox at a time


def send_webhooks(app, now=None):
    """Send the city's webhook events that are due (server/services/webhooks.py); returns
    (sent, failed). Only here, never in a request: a receiver that is down slows no one."""
    from .services.webhooks import deliver, late_events
    with app.app_context():
        if not app.config.get("WEBHOOK_URL"):
            return 0, 0
        now = now or app.extensions["wall_clock"]()
        if db.engine.dialect.name == "postgresql":
            # held through the sends, so two processes never send the same event at once
            got = db.session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _WEBHOOK_LOCK_KEY}).scalar()
            if not got:
                db.session.rollback()
                return 0, 0
        # the deadlines that passed since the last round: queued (once each) and sent in this one
        # (on PostgreSQL in the transaction holding the lock; SQLite commits them before the sends,
        # which hold no transaction there)
        late_events(now)
        if db.engine.dialect.name != "postgresql":
            db.session.commit()
        sent, failed = deliver(now)
        db.session.commit()
        if sent or failed:
            log.info("webhook: %d event(s) sent, %d failed (will be retried)", sent, failed)
        return sent, failed


def start_scheduler(app, blocking=False):
    """Start APScheduler with the escalation job (every ESCALATION_INTERVAL_S seconds), the
    duplicate linker (every LINK_INTERVAL_S seconds), the review roll-ups (every
    REVIEW_REFRESH_INTERVAL_S seconds) and, when a webhook is configured, its outbox (every
    WEBHOOK_INTERVAL_S seconds)."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler
    scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone="UTC")
    scheduler.add_job(escalate_overdue, "interval", args=[app], seconds=app.config["ESCALATION_INTERVAL_S"],
                      id="escalate_overdue", max_instances=1, coalesce=True)
    scheduler.add_job(link_duplicates, "interval", args=[app], seconds=app.config["LINK_INTERVAL_S"],
                      id="link_duplicates", max_instances=1, coalesce=True)
    scheduler.add_job(refresh_review, "interval", args=[app], seconds=app.config["REVIEW_REFRESH_INTERVAL_S"],
                      id="refresh_review", max_instances=1, coalesce=True)
    if app.config.get("WEBHOOK_URL"):
        scheduler.add_job(send_webhooks, "interval", args=[app], seconds=app.config["WEBHOOK_INTERVAL_S"],
                          id="send_webhooks", max_instances=1, coalesce=True)
    scheduler.start()
    return scheduler
