"""The webhook outbox: each event a city's webhook should receive, written in the transaction of
the change that caused it and sent later by the scheduler (server/services/webhooks.py)."""
import datetime as dt
import uuid

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import TS, UUID


class WebhookOutbox(db.Model):
    __tablename__ = "webhook_outbox"

    # the event id: the flag event's id, so an event is queued (and sent) once
    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    # the JSON body as sent (no ID numbers, names or phones)
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(TS)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # when the next attempt is due; None once sent
    next_at: Mapped[dt.datetime | None] = mapped_column(TS, index=True)
    sent_at: Mapped[dt.datetime | None] = mapped_column(TS)
    last_error: Mapped[str | None] = mapped_column(Text)
