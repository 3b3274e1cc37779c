"""Column types and helpers shared by the models."""
import datetime as dt
import uuid

from sqlalchemy import BigInteger, DateTime, Integer, Uuid

#: A 64-bit key on PostgreSQL that is still SQLite's auto-incrementing rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")
UUID = Uuid(as_uuid=True)
TS = DateTime(timezone=True)


def utcnow():
    return dt.datetime.now(dt.timezone.utc)


def new_id():
    return uuid.uuid4()
