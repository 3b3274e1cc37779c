"""Departments summoned to cases (街乡吹哨、部门报到) and each summons as folded from the flag's
department events (sync/flags.py ``fold_summons``): stored only to be queried."""
import datetime as dt
import uuid

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import TS, UUID, new_id

#: the levels a department sits at: a district bureau (区民政局) or a street station (街道所)
DEPARTMENT_LEVELS = ("district", "street")


class Department(db.Model):
    """One of a city's departments (民政, 卫健, 教育, 残联, 医保, 人社, 住建 …), at a district or a
    street, with its own hours to report in and to answer once summoned."""

    __tablename__ = "department"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    level: Mapped[str] = mapped_column(String(16))
    # the district or street it serves; cases there may summon it (None: the whole city)
    area_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("area.id"), index=True)
    report_hours: Mapped[int] = mapped_column(Integer, default=24)
    answer_hours: Mapped[int] = mapped_column(Integer, default=72)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Summons(db.Model):
    """A department summoned to a case: its state and times, refolded from the flag's events
    whenever one arrives. ``report_due_at`` and ``answer_due_at`` count from the summons."""

    __tablename__ = "summons"
    __table_args__ = (UniqueConstraint("flag_id", "department_id"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=new_id)
    flag_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("flag.id"), index=True)
    # no foreign key: an event names it, and events are never refused for what the server lacks
    department_id: Mapped[uuid.UUID] = mapped_column(UUID, index=True)
    grid_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("area.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    request: Mapped[str | None] = mapped_column(Text)
    summoned_by: Mapped[uuid.UUID | None] = mapped_column(UUID)
    summoned_at: Mapped[dt.datetime] = mapped_column(TS)
    report_due_at: Mapped[dt.datetime] = mapped_column(TS)
    answer_due_at: Mapped[dt.datetime] = mapped_column(TS)
    reported_at: Mapped[dt.datetime | None] = mapped_column(TS)
    answered_at: Mapped[dt.datetime | None] = mapped_column(TS)
    answer: Mapped[str | None] = mapped_column(Text)
    released_at: Mapped[dt.datetime | None] = mapped_column(TS)
