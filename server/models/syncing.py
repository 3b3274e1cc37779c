"""The change log devices pull from, conflicts kept for review, and the audit trail."""
import datetime as dt
import uuid

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import TS, UUID, BigId, new_id, utcnow


class ChangeLog(db.Model):
    """Every accepted change, once. ``seq`` orders the whole log; ``gseq`` numbers the changes of
    one grid, handed out under the grid's lock (``GridClock``), so within a grid they become
    visible in ``gseq`` order and a feed that reads each grid after its own position never skips
    a change, however many pushes to other grids commit at once (docs/protocol.md §7.3)."""

    __tablename__ = "change_log"
    __table_args__ = (Index("ix_change_log_grid_gseq", "grid_id", "gseq", unique=True),)

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    gseq: Mapped[int] = mapped_column(BigInteger)
    change_id: Mapped[uuid.UUID] = mapped_column(UUID, unique=True)
    entity: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[uuid.UUID] = mapped_column(UUID, index=True)
    grid_id: Mapped[uuid.UUID] = mapped_column(UUID)
    device_id: Mapped[str] = mapped_column(String(64))
    worker_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    stamp: Mapped[str] = mapped_column(String(96))
    # The change as JSON with personal fields taken out; those are in ``pii``, encrypted.
    payload: Mapped[str] = mapped_column(Text)
    pii: Mapped[bytes | None] = mapped_column(LargeBinary)
    received_at: Mapped[dt.datetime] = mapped_column(TS, default=utcnow)


class SyncState(db.Model):
    """One row. Every push updates it first, which serialises pushes on both databases."""

    __tablename__ = "sync_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Changes when the change log is reset or restored: older cursors then ask for a resync.
    epoch: Mapped[str] = mapped_column(String(16))
    pushes: Mapped[int] = mapped_column(BigInteger, default=0)


class Conflict(db.Model):
    """A value that lost a collision, kept for a person to review (and restore if right)."""

    __tablename__ = "conflict"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=new_id)
    entity: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[uuid.UUID] = mapped_column(UUID, index=True)
    grid_id: Mapped[uuid.UUID] = mapped_column(UUID, index=True)
    field: Mapped[str] = mapped_column(String(32))
    kept_stamp: Mapped[str] = mapped_column(String(96))
    lost_stamp: Mapped[str] = mapped_column(String(96))
    lost_side: Mapped[str] = mapped_column(String(8))
    change_id: Mapped[uuid.UUID] = mapped_column(UUID)
    # {"kept": value, "lost": value}, encrypted: either may be an ID or phone number.
    values_enc: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    resolution: Mapped[str | None] = mapped_column(String(16))
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("worker.id"))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(TS)
    created_at: Mapped[dt.datetime] = mapped_column(TS, default=utcnow)


class AuditLog(db.Model):
    """Who opened which full record, and when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    worker_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("worker.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[uuid.UUID] = mapped_column(UUID, index=True)
    at: Mapped[dt.datetime] = mapped_column(TS, default=utcnow, index=True)


class GridClock(db.Model):
    """The last ``gseq`` handed out in each grid. A push updates the rows of the grids it writes
    to, which holds them until it commits: pushes to one grid take turns, pushes to different
    grids do not wait for each other."""

    __tablename__ = "grid_clock"

    grid_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    gseq: Mapped[int] = mapped_column(BigInteger)


class LinkCursor(db.Model):
    """How far the duplicate linker has read each grid's changes."""

    __tablename__ = "link_cursor"

    grid_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    gseq: Mapped[int] = mapped_column(BigInteger)


class ReviewCursor(db.Model):
    """How far the review's visits per day have counted each grid's changes."""

    __tablename__ = "review_cursor"

    grid_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    gseq: Mapped[int] = mapped_column(BigInteger)
