"""Between a record's values as the sync core sees them (plain JSON types, personal fields in
clear) and its database row (UUID and date columns, personal fields encrypted and indexed)."""
import datetime as dt
import uuid

from flask import current_app
from sqlalchemy import select

from sync.entities import ENTITIES
from sync.identity import MASKS

from ..extensions import db
from ..models import Flag, Household, Person

MODELS = {"household": Household, "person": Person, "flag": Flag}
_UUID_FIELDS = frozenset({"grid_id", "household_id", "person_id", "merged_into"})


def vault():
    return current_app.extensions["pii_vault"]


def row_values(entity, row, v=None):
    """The record's field values in wire form, personal fields decrypted."""
    spec = ENTITIES[entity]
    out = {}
    v = v or vault()
    for name in spec.fields:
        if name in spec.pii:
            out[name] = v.decrypt(getattr(row, f"{name}_enc"))
            continue
        value = getattr(row, name)
        if isinstance(value, uuid.UUID):
            value = str(value)
        elif isinstance(value, dt.date):
            value = value.isoformat()
        out[name] = value
    return out


def columns(entity, values, v=None):
    """Database columns for ``values`` (every field of the entity)."""
    spec = ENTITIES[entity]
    v = v or vault()
    out = {}
    for name in spec.fields:
        value = values.get(name)
        if name in spec.pii:
            out[f"{name}_enc"] = v.encrypt(value)
            out[f"{name}_bidx"] = v.blind_index(name, value)
        elif name in _UUID_FIELDS:
            out[name] = uuid.UUID(value) if value else None
        elif name == "birth_date":
            out[name] = dt.date.fromisoformat(value) if value else None
        elif name == "deleted":
            out[name] = bool(value)
        else:
            out[name] = value
    return out


def with_copies(entity, ids):
    """``ids`` and every record merged into them, however many merges deep: a survivor's
    visits and flags include those recorded on its merged-away copies."""
    model = MODELS[entity]
    found, frontier = set(ids), set(ids)
    for _ in range(16):
        frontier = set(db.session.execute(select(model.id).where(model.merged_into.in_(frontier))).scalars()) - found
        if not frontier:
            break
        found |= frontier
    return found


def survivors(entity, ids):
    """``{id: the record it was merged into, following chains}`` (itself when it was not)."""
    model = MODELS[entity]
    into = {}
    todo = set(ids)
    for _ in range(16):
        rows = dict(db.session.execute(select(model.id, model.merged_into).where(model.id.in_(todo))).all())
        into.update(rows)
        todo = {m for m in rows.values() if m is not None and m not in into}
        if not todo:
            break
    out = {}
    for rid in ids:
        seen, at = 0, rid
        while into.get(at) is not None and seen < 16:
            at, seen = into[at], seen + 1
        out[rid] = at
    return out


def present(entity, row, full_pii):
    """A row for a response: personal fields in clear only for roles that collect them."""
    values = row_values(entity, row)
    if not full_pii:
        for name in ENTITIES[entity].pii:
            values[name] = MASKS[name](values[name])
    values["id"] = str(row.id)
    return values
