"""Visits (append-only events) and flags with their event log."""
import datetime as dt
import uuid

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, case
from sqlalchemy.orm import Mapped, mapped_column

from sync.flags import DEFAULT_LEVEL

from ..extensions import db
from .types import TS, UUID, utcnow


class Visit(db.Model):
    """A visit as it happened. It is never edited: a correction is a new visit that ``amends`` it."""

    __tablename__ = "visit"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("household.id"), index=True)
    grid_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("area.id"), index=True)
    worker_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("worker.id"), index=True)
    device_id: Mapped[str] = mapped_column(String(64))
    visited_at: Mapped[dt.datetime] = mapped_column(TS, index=True)
    checklist_version: Mapped[int] = mapped_column(Integer)
    checks: Mapped[dict] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    amends_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("visit.id"), index=True)
    # flags the configured rules suggest from the answers (sync/rules.py), as the server saw them
    suggestions: Mapped[list | None] = mapped_column(JSON)
    stamp: Mapped[str] = mapped_column(String(96))
    created_at: Mapped[dt.datetime] = mapped_column(TS, default=utcnow)


class Flag(db.Model):
    """A family or person in difficulty. ``state``, ``level`` and ``colour`` are folded from
    the flag's events (sync/flags.py) and stored here only to be queried."""

    __tablename__ = "flag"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("household.id"), index=True)
    person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("person.id"), index=True)
    grid_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("area.id"), index=True)
    category: Mapped[str] = mapped_column(String(64))
    colour: Mapped[str] = mapped_column(String(8))
    level: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    stamps: Mapped[dict] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="reported", index=True)
    current_level: Mapped[str] = mapped_column(String(16), default=DEFAULT_LEVEL)
    current_colour: Mapped[str] = mapped_column(String(8))
    raised_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("worker.id"))
    # server time: a flag raised offline starts its clock when the server learns of it
    raised_at: Mapped[dt.datetime] = mapped_column(TS, default=utcnow)
    level_since: Mapped[dt.datetime | None] = mapped_column(TS)
    # when it must be handled at its level; None while its clock is not running (sync/casework.py)
    deadline_at: Mapped[dt.datetime | None] = mapped_column(TS, index=True)
    # the person at its level who holds it (承办人), folded from ``assign`` events; no foreign
    # key: an event names them, and a synced event is never refused for what the server lacks
    holder_id: Mapped[uuid.UUID | None] = mapped_column(UUID, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(TS, default=utcnow)


#: red, yellow, green: an ORDER BY by urgency, not by spelling
COLOUR_RANK = case({"red": 0, "yellow": 1, "green": 2}, value=Flag.current_colour, else_=3)


class FlagEvent(db.Model):
    __tablename__ = "flag_event"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    flag_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("flag.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    from_state: Mapped[str | None] = mapped_column(String(16))
    # the level the author saw the flag at (None: not said; judged where the flag was)
    at_level: Mapped[str | None] = mapped_column(String(16))
    level: Mapped[str | None] = mapped_column(String(16))
    colour: Mapped[str | None] = mapped_column(String(8))
    visit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("visit.id"))
    note: Mapped[str | None] = mapped_column(Text)
    # a server-made event's reason: {"code": ..., facts} (sync/messages.py renders it)
    reason: Mapped[dict | None] = mapped_column(JSON)
    # assign: who will hold the case; summon/report_in/answer/release: the department
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    department_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    stamp: Mapped[str] = mapped_column(String(96))
    worker_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("worker.id"))
    device_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(TS, default=utcnow)
