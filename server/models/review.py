"""Roll-ups the bureau's review reads (server/services/review.py keeps them current).

Every roll-up row belongs to one area node, grids and every area above them alike, so a summary
at any level reads a handful of rows by primary key instead of scanning the register. The rows
are rebuilt set-based from the records by the scheduler; ``review_state`` says when.
"""
import datetime as dt
import uuid

from sqlalchemy import BigInteger, Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import TS, UUID


class AreaClosure(db.Model):
    """Each grid with every area it lies in, itself included: a subtree is one indexed join."""

    __tablename__ = "area_closure"

    ancestor_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    grid_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, index=True)


class ReviewSnapshot(db.Model):
    """How an area stands at ``computed_at``: its register and visit coverage."""

    __tablename__ = "review_snapshot"

    area_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    households: Mapped[int] = mapped_column(Integer, default=0)
    persons: Mapped[int] = mapped_column(Integer, default=0)
    workers: Mapped[int] = mapped_column(Integer, default=0)
    visited_30d: Mapped[int] = mapped_column(Integer, default=0)
    visited_90d: Mapped[int] = mapped_column(Integer, default=0)


class ReviewOpen(db.Model):
    """Flags not yet closed or rejected, by category, colour and state; how many are overdue
    and how many sit above the level they were raised at (escalated)."""

    __tablename__ = "review_open"

    area_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    colour: Mapped[str] = mapped_column(String(8), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    overdue: Mapped[int] = mapped_column(Integer)
    escalated: Mapped[int] = mapped_column(Integer)


class ReviewDay(db.Model):
    """Visits made on a local day (corrections, which amend a visit, are not counted again)."""

    __tablename__ = "review_day"

    area_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    visits: Mapped[int] = mapped_column(Integer)


class ReviewFlagDay(db.Model):
    """Flags raised, closed, rejected and escalations made on a local day, by category and colour."""

    __tablename__ = "review_flag_day"

    area_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    colour: Mapped[str] = mapped_column(String(8), primary_key=True)
    raised: Mapped[int] = mapped_column(Integer)
    closed: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    escalations: Mapped[int] = mapped_column(Integer)


class ReviewClose(db.Model):
    """Flags closed on a local day by whole hours from report to close: percentiles over any
    period and area are read from this histogram exactly (to the hour)."""

    __tablename__ = "review_close"

    area_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    hours: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class ReviewState(db.Model):
    """One row: when the roll-ups were last rebuilt, and how long that took."""

    __tablename__ = "review_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    refreshed_at: Mapped[dt.datetime | None] = mapped_column(TS)
    took_ms: Mapped[int | None] = mapped_column(Integer)
    # when every roll-up was last rebuilt from scratch, and the change-log position up to which
    # visits are counted in ``review_day`` (the rounds between add only the visits after it)
    full_at: Mapped[dt.datetime | None] = mapped_column(TS)
    visit_seq: Mapped[int | None] = mapped_column(BigInteger)
