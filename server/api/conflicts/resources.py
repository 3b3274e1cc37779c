"""Conflicts: values that lost a collision, for a person to review and, if right, restore."""

from flask import g
from flask.views import MethodView
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from sync.entities import ENTITIES
from sync.identity import MASKS

from ...auth import login_required
from ...errors import ApiError
from ...extensions import db
from ...models import Conflict
from ...models.types import utcnow
from ...services import writes
from ...services.records import vault
from ..common import BEARER, Blueprint, PageArgs, audit, paginate, Uuid

blp = Blueprint("conflicts", __name__, url_prefix="/conflicts", description="Merge conflicts kept for review")

class ConflictListArgs(PageArgs):
    status = fields.Str(load_default="open", validate=validate.OneOf(["open", "resolved"]))

class ConflictSchema(Schema):
    id = Uuid()
    entity = fields.Str()
    entity_id = Uuid()
    grid_id = Uuid()
    field = fields.Str()
    kept_value = fields.Raw(allow_none=True)
    lost_value = fields.Raw(allow_none=True)
    kept_stamp = fields.Str()
    lost_stamp = fields.Str()
    lost_side = fields.Str()
    status = fields.Str()
    resolution = fields.Str(allow_none=True)
    created_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)

class ResolveSchema(Schema):
    choice = fields.Str(required=True, validate=validate.OneOf(["keep", "restore"]),
                        metadata={"description": "keep: the kept value stays; restore: the lost value is written back"})

def _view(c, full_pii):
    values = vault().decrypt_json(c.values_enc)
    if c.field in ENTITIES[c.entity].pii and not full_pii:
        values = {k: MASKS[c.field](v) for k, v in values.items()}
    return {**{k: getattr(c, k) for k in ("id", "entity", "entity_id", "grid_id", "field", "kept_stamp",
                                          "lost_stamp", "lost_side", "status", "resolution", "created_at",
                                          "resolved_at")},
            "kept_value": values["kept"], "lost_value": values["lost"]}

@blp.route("")
class ConflictList(MethodView):
    decorators = [login_required]

    @blp.arguments(ConflictListArgs, location="query")
    @blp.response(200, ConflictSchema(many=True))
    @blp.doc(security=BEARER)
    def get(self, args):
        """Conflicts in the caller's area."""
        g.scope.require_records()
        query = select(Conflict).where(Conflict.grid_id.in_(g.scope.grid_ids), Conflict.status == args["status"]) \
            .order_by(Conflict.created_at, Conflict.id)
        rows = db.session.execute(paginate(query, args)).scalars().all()
        if g.scope.sees_full_pii:
            for c in rows:
                if c.field in ENTITIES[c.entity].pii:
                    audit("list", c.entity, c.entity_id)     # a number shown in full is a read
        out = [_view(c, g.scope.sees_full_pii) for c in rows]
        db.session.commit()
        return out

@blp.route("/<uuid:conflict_id>/resolve")
class ConflictResolve(MethodView):
    decorators = [login_required]

    @blp.arguments(ResolveSchema)
    @blp.response(200, ConflictSchema)
    @blp.doc(security=BEARER)
    def post(self, args, conflict_id):
        """Close a conflict, keeping the current value or writing the lost one back."""
        g.scope.require_records(write=True)
        c = db.session.get(Conflict, conflict_id)
        if c is None or c.grid_id not in g.scope.grid_ids:
            raise ApiError(404, "not_found", "no such conflict in your area")
        if c.status != "open":
            raise ApiError(409, "already_resolved", "this conflict is already resolved")
        if args["choice"] == "restore":
            lost = vault().decrypt_json(c.values_enc)["lost"]
            device = g.device.id if g.device is not None else None
            writes.write(c.entity, c.entity_id, {c.field: lost}, worker=g.worker, device_id=device, scope=g.scope)
            c = db.session.get(Conflict, conflict_id)
        c.status, c.resolution, c.resolved_by, c.resolved_at = "resolved", args["choice"], g.worker.id, utcnow()
        out = _view(c, g.scope.sees_full_pii)
        db.session.commit()
        return out

