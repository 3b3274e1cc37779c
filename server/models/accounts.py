"""Workers, the grids they are assigned, their enrolled devices and bearer tokens."""
import datetime as dt
import uuid

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import TS, UUID, new_id, utcnow

ROLES = ("grid_worker", "community", "street", "district", "bureau", "admin", "department")


class Worker(db.Model):
    __tablename__ = "worker"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    # The community/street/district a staff member answers for; a grid worker's community.
    area_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("area.id"), index=True)
    # a department's staff: the department they act for (role ``department``)
    department_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("department.id"), index=True)
    # a staff member's work phone, shown on the cases they hold to those who may open them
    work_phone: Mapped[str | None] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # bumped when the worker logs out of the review pages: every session made before ends
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(TS, default=utcnow)


class WorkerGrid(db.Model):
    __tablename__ = "worker_grid"

    worker_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("worker.id"), primary_key=True)
    grid_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("area.id"), primary_key=True, index=True)


class Device(db.Model):
    __tablename__ = "device"

    # Chosen by the device (a UUID string); it is also the node of the device's clock.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    worker_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("worker.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    enrolled_at: Mapped[dt.datetime] = mapped_column(TS, default=utcnow)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(TS)
    # Set when the device's state cannot be trusted (e.g. handed to another worker): its next
    # pull with a cursor is told to start over.
    resync_required: Mapped[bool] = mapped_column(Boolean, default=False)
    # The change-log seq its replica was last pulled from the start at: what it pushed after
    # that, it holds, so pulls leave it out (no echo); what it pushed before, it may not.
    replica_since: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    revoked_at: Mapped[dt.datetime | None] = mapped_column(TS)
    # The last push or exchange (written at most every few minutes when nothing changed, like
    # ``last_seen_at``), and the changes the device said were still waiting in its outbox then
    # (``pending`` in the request; None: it never said).
    last_sync_at: Mapped[dt.datetime | None] = mapped_column(TS)
    unsent_changes: Mapped[int | None] = mapped_column(Integer)


class Token(db.Model):
    __tablename__ = "token"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=new_id)
    # Only a SHA-256 of the token is kept: a copy of the database does not log anyone in.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    worker_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("worker.id"), index=True)
    device_id: Mapped[str | None] = mapped_column(ForeignKey("device.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(TS, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(TS)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(TS)
