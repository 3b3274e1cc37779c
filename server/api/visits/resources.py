"""Visits: list a household's visits, read one, record one online."""
import uuid

from flask import g
from flask.views import MethodView
from marshmallow import fields
from sqlalchemy import select

from ...auth import login_required
from ...extensions import db
from ...models import Visit
from ..common import BEARER, Blueprint, PageArgs, paginate
from ..records import input_schema, load_in_scope, save
from ..schemas import VisitSchema

blp = Blueprint("visits", __name__, url_prefix="/visits", description="Household visits and the six checks")


class VisitListArgs(PageArgs):
    household_id = fields.UUID(required=True)


@blp.route("")
class VisitList(MethodView):
    decorators = [login_required]

    @blp.arguments(VisitListArgs, location="query")
    @blp.response(200, VisitSchema(many=True))
    @blp.doc(security=BEARER)
    def get(self, args):
        """A household's visits, newest first (amendments included, pointing at what they amend)."""
        load_in_scope("household", args["household_id"])
        query = select(Visit).where(Visit.household_id == args["household_id"]).order_by(
            Visit.visited_at.desc(), Visit.id)
        return db.session.execute(paginate(query, args)).scalars().all()

    @blp.arguments(input_schema("visit", creating=True))
    @blp.response(201, VisitSchema)
    @blp.doc(security=BEARER)
    def post(self, args):
        """Record a visit (a correction is a new visit with ``amends_id``)."""
        vid = args.pop("id", None) or uuid.uuid4()
        save("visit", vid, args)
        return db.session.get(Visit, vid)


@blp.route("/<uuid:visit_id>")
class VisitItem(MethodView):
    decorators = [login_required]

    @blp.response(200, VisitSchema)
    @blp.doc(security=BEARER)
    def get(self, visit_id):
        """One visit."""
        return load_in_scope("visit", visit_id)
