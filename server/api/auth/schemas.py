"""Payloads of the token endpoint."""
from marshmallow import Schema, ValidationError, fields, validate

from ..common import Uuid


def _no_control(value):
    if any(ord(c) < 32 for c in value):
        raise ValidationError("control characters are not allowed")


class TokenRequestSchema(Schema):
    username = fields.Str(required=True, validate=[validate.Length(min=1, max=64), _no_control])
    password = fields.Str(required=True, load_only=True, validate=[validate.Length(min=1, max=256), _no_control])
    device_id = fields.Str(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9_.:-]{1,64}\Z", error="device_id: 1-64 letters, digits or _ . : -"))
    device_name = fields.Str(load_default="", validate=[validate.Length(max=128), _no_control])


class WorkerSchema(Schema):
    id = Uuid()
    username = fields.Str()
    display_name = fields.Str()
    role = fields.Str()
    area_id = Uuid(allow_none=True)
    grid_ids = fields.List(Uuid())
    grids = fields.List(fields.Dict(), metadata={"description": "the grids held: id, code and name"})


class TokenSchema(Schema):
    token = fields.Str(required=True)
    token_type = fields.Str(required=True)
    expires_at = fields.DateTime(required=True)
    device_id = fields.Str(required=True)
    resync_required = fields.Bool(required=True)
    worker = fields.Nested(WorkerSchema, required=True)
