"""The push and pull messages as marshmallow schemas: the envelope the server checks whole, and
what the OpenAPI document publishes (each change is checked on its own by sync/protocol.py)."""
from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

from sync.protocol import DEFAULT_PAGE, MAX_BATCH, MAX_PAGE, RESULT_STATUSES

from ..common import Int

#: the most a device may say it holds unsent (far above any real outbox: a sanity bound)
MAX_PENDING = 10_000_000


def _pending():
    return fields.Int(load_default=None, allow_none=True, strict=True,
                      validate=validate.Range(min=0, max=MAX_PENDING),
                      metadata={"description": "optional: changes still waiting in the device's outbox besides "
                                               "this batch, shown to administrators (docs/protocol.md §6.1)"})


class PushRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    device_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    schema_version = fields.Int(required=True, strict=True)
    changes = fields.List(fields.Raw(), required=True,
                          validate=validate.Length(max=MAX_BATCH, error=f"at most {MAX_BATCH} changes per push"),
                          metadata={"description": "each {change_id, entity, entity_id, stamp, fields, base?}, "
                                                   "checked on its own by parse_change (docs/protocol.md)"})
    pending = _pending()


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

    cursor = fields.Str(load_default=None, validate=validate.Length(max=8192))
    limit = Int(load_default=DEFAULT_PAGE, validate=validate.Range(min=1, max=MAX_PAGE))


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


class HaveSchema(Schema):
    """The versions of what the device holds (as the last exchange gave them)."""

    class Meta:
        unknown = RAISE

    config = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=64))
    grids = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=64))


class ExchangeRequestSchema(Schema):
    """One round trip: the outbox batch, the cursor, and what the device holds."""

    class Meta:
        unknown = RAISE

    device_id = fields.Str(validate=validate.Length(min=1, max=64),
                           metadata={"description": "optional: the token's device; if given, it must be that one"})
    schema_version = fields.Int(required=True, strict=True)
    changes = fields.List(fields.Raw(), load_default=list,
                          validate=validate.Length(max=MAX_BATCH, error=f"at most {MAX_BATCH} changes per push"),
                          metadata={"description": "as in a push (may be empty)"})
    cursor = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=8192))
    # a tablet's exchange wants the fewest round trips: the largest page unless it asks less
    limit = Int(load_default=MAX_PAGE, validate=validate.Range(min=1, max=MAX_PAGE))
    have = fields.Nested(HaveSchema, load_default=dict)
    pending = _pending()


class ExchangeResponseSchema(Schema):
    results = fields.List(fields.Nested(ChangeResultSchema),
                          metadata={"description": "one per change sent; absent when none were sent"})
    server_stamp = fields.Str(metadata={"description": "absent when nothing was sent or pulled"})
    changes = fields.List(fields.Nested(PulledChangeSchema), metadata={"description": "absent when the page is empty"})
    cursor = fields.Str(metadata={"description": "absent when it is the cursor the request sent"})
    more = fields.Bool(metadata={"description": "absent when false"})
    versions = fields.Dict(metadata={"description": "{config, grids}: send back as `have`; absent when they are the "
                                                    "ones the device named in `have`"})
    worker = fields.Dict(metadata={"description": "who the token is and the grids held: only when they changed; "
                                                  "the page then starts from the beginning"})
    config = fields.Dict(metadata={"description": "the city's configuration (GET /config): only when it changed"})
