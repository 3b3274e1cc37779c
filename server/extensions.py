"""Extensions created without an app and bound in ``create_app``."""
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from .errors import ErrorSchema

# Stable constraint names, so Alembic can name what it alters on both databases.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
class GridsyncApi(Api):
    # the envelope server/errors.py really sends ({code: str, status: int, message, errors?}),
    # not flask-smorest's default ({code: int, status: str})
    ERROR_SCHEMA = ErrorSchema


api = GridsyncApi()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
