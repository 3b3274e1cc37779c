"""A change as every replica makes and sends it (docs/protocol.md §3): one function builds it, so
the server's own changes (merges, escalations, online edits, demo data) and a tablet's have one
shape."""
import uuid


def make_change(entity, entity_id, fields, stamp, *, base=None, change_id=None):
    """``{change_id, entity, entity_id, stamp, fields, base}`` with ids as canonical text.
    ``base``: per field, the stamp of the value the author was looking at (None: not given)."""
    change = {"change_id": str(change_id or uuid.uuid4()), "entity": entity, "entity_id": str(entity_id),
              "stamp": stamp, "fields": dict(fields)}
    if base is not None:
        change["base"] = dict(base)
    return change
