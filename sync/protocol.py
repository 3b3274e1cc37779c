"""Wire messages of the sync protocol as marshmallow schemas, shared by the server and the SDK.

The envelope of a push is checked as a whole (a bad envelope is a 4xx and nothing is applied);
each change inside it is checked on its own, so one bad change is rejected with a reason while
the rest of the batch goes through.
"""
from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

from . import SCHEMA_VERSION
from .clock import parse_stamp
from .entities import ENTITIES, canonical_uuid
from .errors import BadStamp, InvalidChange

#: Largest batch a device may push at once; the SDK sends 500 (about 100 KB gzipped).
MAX_BATCH = 1000
DEFAULT_PAGE = 1000
MAX_PAGE = 5000

RESULT_STATUSES = ("applied", "already_applied", "merged_with_conflict", "rejected")


_CHANGE_KEYS = frozenset({"change_id", "entity", "entity_id", "stamp", "fields", "base"})
_REQUIRED = ("change_id", "entity", "entity_id", "stamp", "fields")


def parse_change(raw):
    """Check one pushed change's envelope. Written out rather than a marshmallow schema: a push
    carries hundreds of changes, this runs for each, and one bad change must be rejected on its
    own, not fail the request. Returns ``{change_id, entity, entity_id, stamp, fields_, base}``
    with canonical ids."""
    if not isinstance(raw, dict):
        raise InvalidChange("a change must be an object", field="change")
    unknown = raw.keys() - _CHANGE_KEYS
    if unknown:
        name = sorted(unknown)[0]
        raise InvalidChange(f"{name}: unknown field", field=name)
    for name in _REQUIRED:
        if raw.get(name) is None:
            raise InvalidChange(f"{name}: missing", field=name)
    entity = raw["entity"]
    if not isinstance(entity, str) or entity not in ENTITIES:
        raise InvalidChange(f"entity: unknown entity type {str(entity)[:32]!r}; one of {', '.join(sorted(ENTITIES))}",
                            field="entity", code="unknown_entity")
    fields_ = raw["fields"]
    if not isinstance(fields_, dict):
        raise InvalidChange("fields: must be an object", field="fields")
    base = raw.get("base")
    if base is not None and (not isinstance(base, dict) or not all(
            isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in base.items())):
        raise InvalidChange("base: must map field names to stamps or null", field="base")
    stamp = raw["stamp"]
    try:
        parse_stamp(stamp)
    except BadStamp as exc:
        raise InvalidChange(f"stamp: {exc.message}", field="stamp", code="bad_stamp") from None
    return {"change_id": canonical_uuid(raw["change_id"], "change_id"), "entity": entity,
            "entity_id": canonical_uuid(raw["entity_id"], "entity_id"), "stamp": stamp,
            "fields": fields_, "base": base}


class PushRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    device_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    schema_version = fields.Int(required=True, strict=True)
    changes = fields.List(fields.Raw(), required=True,
                          validate=validate.Length(max=MAX_BATCH, error=f"at most {MAX_BATCH} changes per push"),
                          metadata={"description": "each {change_id, entity, entity_id, stamp, fields, base?}, "
                                                   "checked on its own by parse_change (docs/protocol.md)"})


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


__all__ = ["SCHEMA_VERSION", "parse_change", "PushRequestSchema", "PushResponseSchema", "PullArgsSchema",
           "PullResponseSchema", "MAX_BATCH", "DEFAULT_PAGE", "MAX_PAGE"]
