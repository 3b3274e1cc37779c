"""Wire messages of the sync protocol as marshmallow schemas, shared by the server and the SDK.

The envelope of a push is checked as a whole (a bad envelope is a 4xx and nothing is applied);
each change inside it is checked on its own, so one bad change is rejected with a reason while
the rest of the batch goes through.
"""
from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate, validates

from . import SCHEMA_VERSION
from .clock import parse_stamp
from .entities import ENTITIES
from .errors import BadStamp

#: Largest batch a device may push at once; the SDK sends 500 (about 100 KB gzipped).
MAX_BATCH = 1000
DEFAULT_PAGE = 1000
MAX_PAGE = 5000

RESULT_STATUSES = ("applied", "already_applied", "merged_with_conflict", "rejected")


class ChangeSchema(Schema):
    class Meta:
        unknown = RAISE

    change_id = fields.UUID(required=True)
    entity = fields.Str(required=True, validate=validate.OneOf(sorted(ENTITIES)))
    entity_id = fields.UUID(required=True)
    stamp = fields.Str(required=True)
    fields_ = fields.Dict(required=True, data_key="fields", keys=fields.Str())
    base = fields.Dict(keys=fields.Str(), values=fields.Str(allow_none=True), load_default=None, allow_none=True)

    @validates("stamp")
    def _stamp(self, value, **_):
        try:
            parse_stamp(value)
        except BadStamp as exc:
            raise ValidationError(exc.message) from None


class PushRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    device_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    schema_version = fields.Int(required=True, strict=True)
    changes = fields.List(fields.Raw(), required=True,
                          validate=validate.Length(max=MAX_BATCH, error=f"at most {MAX_BATCH} changes per push"))


class ReasonSchema(Schema):
    code = fields.Str(required=True)
    message = fields.Str(required=True)
    field = fields.Str()


class ChangeResultSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    index = fields.Int(required=True)
    change_id = fields.Str(allow_none=True)
    status = fields.Str(required=True, validate=validate.OneOf(RESULT_STATUSES))
    reason = fields.Nested(ReasonSchema)
    conflicts = fields.List(fields.Str())


class PushResponseSchema(Schema):
    results = fields.List(fields.Nested(ChangeResultSchema), required=True)
    server_stamp = fields.Str(required=True)


class PullArgsSchema(Schema):
    class Meta:
        unknown = RAISE

    cursor = fields.Str(load_default=None, validate=validate.Length(max=64))
    limit = fields.Int(load_default=DEFAULT_PAGE, validate=validate.Range(min=1, max=MAX_PAGE))


class PulledChangeSchema(Schema):
    """One change as a device receives it (the same shape it pushes, plus who made it)."""

    change_id = fields.Str(required=True)
    entity = fields.Str(required=True)
    entity_id = fields.Str(required=True)
    stamp = fields.Str(required=True)
    fields_ = fields.Dict(required=True, data_key="fields")
    base = fields.Dict(allow_none=True)
    device_id = fields.Str()
    worker_id = fields.Str()


class PullResponseSchema(Schema):
    changes = fields.List(fields.Nested(PulledChangeSchema), required=True)
    cursor = fields.Str(required=True)
    more = fields.Bool(required=True)
    server_stamp = fields.Str(required=True)


__all__ = ["SCHEMA_VERSION", "ChangeSchema", "PushRequestSchema", "PushResponseSchema", "PullArgsSchema",
           "PullResponseSchema", "MAX_BATCH", "DEFAULT_PAGE", "MAX_PAGE"]
