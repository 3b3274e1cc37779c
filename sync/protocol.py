"""The sync protocol's limits and the check of one pushed change, shared by the server and the
SDK with nothing but the standard library (docs/protocol.md).

The envelope of a push is checked as a whole by the server (server/api/sync/schemas.py: a bad
envelope is a 4xx and nothing is applied); each change inside it is checked on its own here, so
one bad change is rejected with a reason while the rest of the batch goes through.
"""
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
    own, not fail the request. Returns ``{change_id, entity, entity_id, stamp, fields, base}``
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
    if base is not None:
        _check_base(base, entity)
    stamp = raw["stamp"]
    try:
        parse_stamp(stamp)
    except BadStamp as exc:
        raise InvalidChange(f"stamp: {exc.message}", field="stamp", code="bad_stamp") from None
    return {"change_id": canonical_uuid(raw["change_id"], "change_id"), "entity": entity,
            "entity_id": canonical_uuid(raw["entity_id"], "entity_id"), "stamp": stamp,
            "fields": fields_, "base": base}


def _check_base(base, entity):
    """``base`` maps fields of the entity to the stamps their author saw (or null); anything else
    would be stored in the change log and sent on to every device of the grid, so it is refused."""
    if not isinstance(base, dict):
        raise InvalidChange("base: must map field names to stamps or null", field="base")
    known = ENTITIES[entity].fields
    for key, value in base.items():
        if key not in known:
            raise InvalidChange(f"base.{str(key)[:32]}: not a field of {entity}", field=f"base.{str(key)[:64]}")
        if value is not None:
            try:
                parse_stamp(value)
            except BadStamp as exc:
                raise InvalidChange(f"base.{key}: {exc.message}", field=f"base.{key}") from None


__all__ = ["SCHEMA_VERSION", "parse_change", "MAX_BATCH", "DEFAULT_PAGE", "MAX_PAGE", "RESULT_STATUSES"]
