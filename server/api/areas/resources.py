"""Areas of the city and a first aggregate summary per area (the bureau's view)."""
import datetime as dt

from flask import g
from flask.views import MethodView
from marshmallow import Schema, fields
from sqlalchemy import func, select

from ...auth import login_required
from ...errors import ApiError
from ...extensions import db
from ...models import Area, Flag, Household, Person, Visit
from ...models.types import utcnow
from ...scope import AGGREGATE_READERS
from ..common import BEARER, Blueprint
from ..schemas import AreaSchema

blp = Blueprint("areas", __name__, url_prefix="/areas", description="The area hierarchy and summaries")


class SummarySchema(Schema):
    area = fields.Nested(AreaSchema)
    households = fields.Int()
    persons = fields.Int()
    visited_30d = fields.Int()
    visited_90d = fields.Int()
    flags_open = fields.Dict(keys=fields.Str(), values=fields.Int())
    flags_by_state = fields.Dict(keys=fields.Str(), values=fields.Int())


def _visible_areas():
    scope = g.scope
    query = select(Area)
    if scope.role == "grid_worker":
        query = query.where(Area.id.in_(scope.grid_ids))
    elif scope.area_path is not None:
        query = query.where(Area.path.startswith(scope.area_path))
    return query


@blp.route("")
class AreaList(MethodView):
    decorators = [login_required]

    @blp.response(200, AreaSchema(many=True))
    @blp.doc(security=BEARER)
    def get(self):
        """The areas the caller may see (a grid worker: their grids)."""
        return db.session.execute(_visible_areas().order_by(Area.path)).scalars().all()


@blp.route("/<uuid:area_id>/summary")
class AreaSummary(MethodView):
    decorators = [login_required]

    @blp.response(200, SummarySchema)
    @blp.doc(security=BEARER)
    def get(self, area_id):
        """Counts for an area: no names, no numbers, only aggregates."""
        if g.scope.role not in AGGREGATE_READERS:
            raise ApiError(403, "forbidden", f"the {g.scope.role} role does not read area summaries")
        area = db.session.execute(_visible_areas().where(Area.id == area_id)).scalar_one_or_none()
        if area is None:
            raise ApiError(404, "not_found", "no such area in your scope")
        grids = select(Area.id).where(Area.level == "grid", Area.path.startswith(area.path)).scalar_subquery()
        live = (Household.grid_id.in_(grids), Household.deleted.is_(False))
        now = utcnow()

        def visited(days):
            return db.session.execute(select(func.count(func.distinct(Visit.household_id))).where(
                Visit.grid_id.in_(grids), Visit.visited_at >= now - dt.timedelta(days=days))).scalar_one()

        open_states = ("reported", "confirmed", "in_progress", "resolved", "verified")
        by_state = dict(db.session.execute(select(Flag.state, func.count()).where(Flag.grid_id.in_(grids))
                                           .group_by(Flag.state)).all())
        open_colour = dict(db.session.execute(select(Flag.current_colour, func.count()).where(
            Flag.grid_id.in_(grids), Flag.state.in_(open_states)).group_by(Flag.current_colour)).all())
        return {
            "area": area,
            "households": db.session.execute(select(func.count()).select_from(Household).where(*live)).scalar_one(),
            "persons": db.session.execute(select(func.count()).select_from(Person).join(Household).where(
                *live, Person.deleted.is_(False))).scalar_one(),
            "visited_30d": visited(30), "visited_90d": visited(90),
            "flags_open": open_colour, "flags_by_state": by_state,
        }
