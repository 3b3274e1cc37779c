"""Households: list and read within one's area, create and edit within one's grids."""
import uuid

from flask import current_app, g
from flask.views import MethodView
from marshmallow import Schema, fields
from sqlalchemy import select

from ...extensions import db
from ...models import Household, Person
from ...services.moves import move_household
from ...services.records import present
from ..common import BEARER, Blueprint, PageArgs, audit, audit_listed, paginate, Uuid
from ..records import create, input_schema, load_in_scope, save
from ..schemas import HouseholdSchema, PersonSchema
from ...auth import login_required

def _shown(row):
    """A written household as the response shows it; in full, that is a read like any other."""
    audit_listed("household", [row])
    out = present("household", row, g.scope.sees_full_pii)
    db.session.commit()
    return out


blp = Blueprint("households", __name__, url_prefix="/households", description="Households of the register")


class HouseholdListArgs(PageArgs):
    grid_id = Uuid(load_default=None)
    include_deleted = fields.Bool(load_default=False)


@blp.route("")
class HouseholdList(MethodView):
    decorators = [login_required]

    @blp.arguments(HouseholdListArgs, location="query")
    @blp.response(200, HouseholdSchema(many=True))
    @blp.doc(security=BEARER)
    def get(self, args):
        """Households in the caller's grids (optionally one grid), ID and phone masked by role."""
        g.scope.require_records()
        grids = g.scope.grid_ids if args["grid_id"] is None else g.scope.grid_ids & {args["grid_id"]}
        query = select(Household).where(Household.grid_id.in_(grids)).order_by(Household.address, Household.id)
        if not args["include_deleted"]:
            query = query.where(Household.deleted.is_(False))
        rows = db.session.execute(paginate(query, args)).scalars().all()
        audit_listed("household", rows)
        out = [present("household", r, g.scope.sees_full_pii) for r in rows]
        db.session.commit()
        return out

    @blp.arguments(input_schema("household", creating=True))
    @blp.response(201, HouseholdSchema)
    @blp.doc(security=BEARER)
    def post(self, args):
        """Register a household (the id may be chosen by the client)."""
        hid = args.pop("id", None) or uuid.uuid4()
        create("household", hid, args)
        return _shown(db.session.get(Household, hid))


@blp.route("/<uuid:household_id>")
class HouseholdItem(MethodView):
    decorators = [login_required]

    @blp.response(200, HouseholdSchema)
    @blp.doc(security=BEARER)
    def get(self, household_id):
        """One household in full (the read is audited)."""
        row = load_in_scope("household", household_id)
        audit("read", "household", household_id)
        out = present("household", row, g.scope.sees_full_pii)
        db.session.commit()
        return out

    @blp.arguments(input_schema("household", creating=False))
    @blp.response(200, HouseholdSchema)
    @blp.doc(security=BEARER)
    def patch(self, args, household_id):
        """Change some fields; the change syncs to devices like any other."""
        load_in_scope("household", household_id, write=True)
        save("household", household_id, args)
        return _shown(db.session.get(Household, household_id))


class MoveArgs(Schema):
    grid_id = fields.UUID(required=True, metadata={"description": "the grid the family now lives in"})


@blp.route("/<uuid:household_id>/move")
class HouseholdMove(MethodView):
    decorators = [login_required]

    @blp.arguments(MoveArgs)
    @blp.response(200, HouseholdSchema)
    @blp.doc(security=BEARER)
    def post(self, args, household_id):
        """The family moved to another grid: the household, its persons, visits and flags go with
        it; the new grid's tablets receive its whole history and the old grid's let it go. For
        whoever may write both grids (a worker holding both, the community's staff)."""
        g.scope.require_records(write=True)
        try:
            move_household(household_id, args["grid_id"], scope=g.scope, worker_id=g.worker.id,
                           now=current_app.extensions["wall_clock"]())
        except Exception:
            db.session.rollback()
            raise
        audit("move", "household", household_id)
        return _shown(db.session.get(Household, household_id))


@blp.route("/<uuid:household_id>/persons")
class HouseholdPersons(MethodView):
    decorators = [login_required]

    @blp.response(200, PersonSchema(many=True))
    @blp.doc(security=BEARER)
    def get(self, household_id):
        """The persons of a household."""
        load_in_scope("household", household_id)
        rows = db.session.execute(select(Person).where(Person.household_id == household_id, Person.deleted.is_(False))
                                  .order_by(Person.name)).scalars().all()
        audit_listed("person", rows)
        out = [present("person", r, g.scope.sees_full_pii) for r in rows]
        db.session.commit()
        return out
