"""Column types and helpers shared by the models."""
import datetime as dt
import uuid

from sqlalchemy import BigInteger, DateTime, Integer, Uuid
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back with its UTC offset, on SQLite too
    (which keeps no time zone): every time the API shows or compares is unambiguous."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value


#: A 64-bit key on PostgreSQL that is still SQLite's auto-incrementing rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")
UUID = Uuid(as_uuid=True)
TS = UTCDateTime()


def utcnow():
    return dt.datetime.now(dt.timezone.utc)


def new_id():
    return uuid.uuid4()
