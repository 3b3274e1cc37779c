"""Pieces shared by the record resources: input schemas made from the sync core's entity
table (one definition of each field), and reading a record within the caller's scope."""
import uuid

from flask import g
from marshmallow import RAISE, Schema, fields
from sqlalchemy import select

from sync.entities import ENTITIES, SERVER_ONLY

from .common import Uuid
from ..errors import ApiError
from ..extensions import db
from ..services import writes
from ..models import Visit
from ..services.records import MODELS

_MODELS = dict(MODELS, visit=Visit)

_KINDS = {
    "text": lambda spec: fields.Str(allow_none=not spec.required),
    "uuid": lambda spec: Uuid(allow_none=not spec.required),
    "choice": lambda spec: fields.Str(allow_none=not spec.required),
    "bool": lambda spec: fields.Bool(allow_none=True),
    "int": lambda spec: fields.Int(strict=True),
    "date": lambda spec: fields.Date(allow_none=True),
    "datetime": lambda spec: fields.AwareDateTime(),
    "object": lambda spec: fields.Dict(),
}


def input_schema(entity, *, creating, exclude=()):
    """A marshmallow schema for a REST write of ``entity``; the sync core checks it again.
    Server-only fields (``merged_into``) are not part of it: a body that sends one, like any
    unknown field, is refused with 422 naming it."""
    spec = ENTITIES[entity]
    declared = {name: _KINDS[f.kind](f) for name, f in spec.fields.items()
                if name not in exclude and name not in SERVER_ONLY}
    if creating:
        declared["id"] = Uuid(load_default=None)
        for name in spec.required:
            if name in declared:
                declared[name].required = True
    cls = Schema.from_dict(declared, name=f"{entity.title().replace('_', '')}{'Create' if creating else 'Update'}")
    cls.Meta = type("Meta", (), {"unknown": RAISE})
    return cls


def to_wire(args):
    """Loaded arguments back to the wire form the sync core takes (UUIDs and dates as text)."""
    out = {}
    for key, value in args.items():
        if isinstance(value, uuid.UUID):
            value = str(value)
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        out[key] = value
    return out


def load_in_scope(entity, entity_id, *, write=False):
    """The row, if the caller may see it; 404 otherwise (existence is not revealed)."""
    g.scope.require_records(write=write)
    model = _MODELS[entity]
    row = db.session.get(model, entity_id)
    grid = _grid_of(entity, row) if row is not None else None
    if grid is None or grid not in g.scope.grid_ids:
        raise ApiError(404, "not_found", f"no such {entity} in your area")
    return row


def _grid_of(entity, row):
    if entity == "person":
        return db.session.execute(select(MODELS["household"].grid_id).where(
            MODELS["household"].id == row.household_id)).scalar_one()
    return row.grid_id


def create(entity, entity_id, args):
    """A REST create: an id that exists already in the caller's grids is a 409, never an
    overwrite. One outside them is not acknowledged here: the engine judges the create as if
    the id were new, and refuses it (``out_of_scope``) only where it would have made it."""
    g.scope.require_records(write=True)
    row = db.session.get(_MODELS[entity], entity_id)
    if row is not None and _grid_of(entity, row) in g.scope.grid_ids:
        raise ApiError(409, "already_exists", f"a {entity} with this id exists already; edit it with PATCH")
    return save(entity, entity_id, args)


def save(entity, entity_id, args):
    device = g.device.id if g.device is not None else None
    return writes.write(entity, entity_id, to_wire(args), worker=g.worker, device_id=device, scope=g.scope)
