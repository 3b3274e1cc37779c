"""Duplicates found across devices: blinded match keys, the review queue, merges and their undo."""
import datetime as dt
import uuid

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import TS, UUID, new_id, utcnow


class MatchKey(db.Model):
    """A blocking key of a person or household, as an HMAC (keys hold pieces of ID and phone
    numbers): records sharing a key are compared, nothing else is."""

    __tablename__ = "match_key"
    __table_args__ = (Index("ix_match_key_key", "key"),)

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    record_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, index=True)
    entity: Mapped[str] = mapped_column(String(16))


class MatchReview(db.Model):
    """A pair the matcher was not sure of ("maybe"), for community staff to confirm or reject;
    a rejected pair is never proposed or merged again."""

    __tablename__ = "match_review"
    __table_args__ = (UniqueConstraint("entity", "a_id", "b_id", name="uq_match_review_pair"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=new_id)
    entity: Mapped[str] = mapped_column(String(16))
    a_id: Mapped[uuid.UUID] = mapped_column(UUID)
    b_id: Mapped[uuid.UUID] = mapped_column(UUID)
    # the grids of the two records (the same grid twice for most pairs); both see the pair
    grid_id: Mapped[uuid.UUID] = mapped_column(UUID, index=True)
    other_grid_id: Mapped[uuid.UUID] = mapped_column(UUID, index=True)
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("worker.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(TS)
    created_at: Mapped[dt.datetime] = mapped_column(TS, default=utcnow)


class MergeRecord(db.Model):
    """One merge: who, when, why (score and reasons), and what it changed, so it can be undone."""

    __tablename__ = "merge_record"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=new_id)
    entity: Mapped[str] = mapped_column(String(16))
    survivor_id: Mapped[uuid.UUID] = mapped_column(UUID, index=True)
    merged_id: Mapped[uuid.UUID] = mapped_column(UUID, index=True)
    grid_id: Mapped[uuid.UUID] = mapped_column(UUID, index=True)             # the survivor's
    other_grid_id: Mapped[uuid.UUID] = mapped_column(UUID, index=True)       # the duplicate's
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list] = mapped_column(JSON)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("worker.id"))   # None: automatic
    # {"filled": {field: stamp}, "moved": {person id: stamp of its move into the survivor}}
    changes: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(TS, default=utcnow)
    undone_at: Mapped[dt.datetime | None] = mapped_column(TS)
    undone_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("worker.id"))


class LinkState(db.Model):
    """One row: how far through the change log the linker has looked."""

    __tablename__ = "link_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
