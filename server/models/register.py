"""The register: households and the persons in them, merged field by field.

``stamps`` holds, per field, the HLC stamp of the value kept (see sync/merge.py). Phone and ID
numbers are stored encrypted (``*_enc``) beside a keyed hash (``*_bidx``) for exact lookups.
"""
import datetime as dt
import uuid

from sqlalchemy import JSON, Boolean, Date, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import TS, UUID, utcnow


class Household(db.Model):
    __tablename__ = "household"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    grid_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("area.id"), index=True)
    address: Mapped[str] = mapped_column(String(200))
    building: Mapped[str | None] = mapped_column(String(32))
    unit: Mapped[str | None] = mapped_column(String(32))
    room: Mapped[str | None] = mapped_column(String(32))
    head_name: Mapped[str | None] = mapped_column(String(64))
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_bidx: Mapped[str | None] = mapped_column(String(32), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    merged_into: Mapped[uuid.UUID | None] = mapped_column(UUID, index=True)
    stamps: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(TS, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(TS, default=utcnow)


class Person(db.Model):
    __tablename__ = "person"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("household.id"), index=True)
    relation: Mapped[str | None] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64))
    gender: Mapped[str | None] = mapped_column(String(1))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    id_number_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_number_bidx: Mapped[str | None] = mapped_column(String(32), index=True)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_bidx: Mapped[str | None] = mapped_column(String(32), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    merged_into: Mapped[uuid.UUID | None] = mapped_column(UUID, index=True)
    stamps: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(TS, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(TS, default=utcnow)
