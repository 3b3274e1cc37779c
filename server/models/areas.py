"""The area hierarchy: city → district → street → community → micro-grid."""
import uuid

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UUID, new_id

LEVELS = ("city", "district", "street", "community", "grid")


class Area(db.Model):
    __tablename__ = "area"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("area.id"), index=True)
    # "/<root code>/<child code>/…/": the subtree of an area is a prefix match on it.
    path: Mapped[str] = mapped_column(String(400), index=True)
