"""Small pieces the resource packages share."""
import re
import uuid

import flask_smorest
from flask import current_app, g
from marshmallow import Schema, fields, validate

from sync.entities import parse_uuid

from ..extensions import db
from ..jsonfast import OrjsonFlaskParser
from ..models import AuditLog

BEARER = [{"bearerAuth": []}]


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = OrjsonFlaskParser()


class Uuid(fields.UUID):
    """A UUID in ASCII hex only: ``uuid.UUID`` alone takes Unicode digits, braces and URNs."""

    def _validated(self, value):
        if isinstance(value, uuid.UUID):
            return value
        parsed = parse_uuid(value)
        if parsed is None:
            raise self.make_error("invalid_uuid")
        return parsed


class Int(fields.Int):
    """An integer in ASCII digits only: ``int()`` alone takes Arabic-Indic or full-width
    digits, spaces and "1_000"."""

    _DIGITS = re.compile(r"[+-]?[0-9]{1,18}\Z", re.ASCII)

    def _validated(self, value):
        if isinstance(value, str) and not self._DIGITS.match(value):
            raise self.make_error("invalid")
        return super()._validated(value)


class PageArgs(Schema):
    page = Int(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = Int(load_default=50, validate=validate.Range(min=1, max=500))


def now():
    """The app's time (``wall_clock``): what jobs and deadline views agree on; tests drive it."""
    return current_app.extensions["wall_clock"]()


def paginate(query, args):
    return query.limit(args["per_page"]).offset((args["page"] - 1) * args["per_page"])


def audit(action, entity, entity_id):
    """Every opening of a full record leaves a line: who, what, when."""
    db.session.add(AuditLog(worker_id=g.worker.id, action=action, entity=entity,
                            entity_id=entity_id if isinstance(entity_id, uuid.UUID) else uuid.UUID(str(entity_id))))


def audit_listed(entity, rows):
    """A list that shows ID or phone numbers in full counts as opening each record in it."""
    if g.scope.sees_full_pii:
        for row in rows:
            audit("list", entity, row.id)
