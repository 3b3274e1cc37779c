"""Payloads of the token endpoint."""
from marshmallow import Schema, fields, validate


class TokenRequestSchema(Schema):
    username = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    password = fields.Str(required=True, load_only=True, validate=validate.Length(min=1, max=256))
    device_id = fields.Str(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9_.:-]{1,64}$", error="device_id: 1-64 letters, digits or _ . : -"))
    device_name = fields.Str(load_default="", validate=validate.Length(max=128))


class WorkerSchema(Schema):
    id = fields.UUID()
    username = fields.Str()
    display_name = fields.Str()
    role = fields.Str()
    area_id = fields.UUID(allow_none=True)
    grid_ids = fields.List(fields.UUID())


class TokenSchema(Schema):
    token = fields.Str(required=True)
    token_type = fields.Str(required=True)
    expires_at = fields.DateTime(required=True)
    device_id = fields.Str(required=True)
    resync_required = fields.Bool(required=True)
    worker = fields.Nested(WorkerSchema, required=True)
