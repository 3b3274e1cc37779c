"""Visits: list a household's visits, read one, record one online."""
import uuid

from flask import current_app, g
from flask.views import MethodView
from marshmallow import Schema, fields
from sqlalchemy import func, select

from sync.casework import OPEN_STATES, revisit_due

from ...auth import login_required
from ...extensions import db
from ...models import Flag, FlagEvent, Household, Visit
from ...services.records import survivors, with_copies
from ..common import BEARER, Blueprint, PageArgs, now, paginate, Uuid
from ..records import input_schema, load_in_scope, save
from ..schemas import VisitSchema

blp = Blueprint("visits", __name__, url_prefix="/visits", description="Household visits and the six checks")


class VisitListArgs(PageArgs):
    household_id = Uuid(required=True)


@blp.route("")
class VisitList(MethodView):
    decorators = [login_required]

    @blp.arguments(VisitListArgs, location="query")
    @blp.response(200, VisitSchema(many=True))
    @blp.doc(security=BEARER)
    def get(self, args):
        """A household's visits, newest first (amendments included, pointing at what they amend;
        visits recorded on a duplicate merged into it included)."""
        load_in_scope("household", args["household_id"])
        homes = with_copies("household", [args["household_id"]])
        query = select(Visit).where(Visit.household_id.in_(homes)).order_by(
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


class DueVisitSchema(Schema):
    household_id = Uuid()
    address = fields.Str()
    grid_id = Uuid()
    flag_id = Uuid()
    category = fields.Str()
    colour = fields.Str()
    flag_state = fields.Str()
    why = fields.Str(metadata={"description": "revisit (an open flag) or verify (a resolved flag)"})
    due_at = fields.DateTime()
    last_visit_at = fields.DateTime(allow_none=True)
    overdue = fields.Bool()


@blp.route("/due")
class DueVisits(MethodView):
    decorators = [login_required]

    @blp.response(200, DueVisitSchema(many=True))
    @blp.doc(security=BEARER)
    def get(self):
        """Flagged households in the caller's grids that are due a visit, soonest first: open
        flags are re-visited every few days by colour; resolved ones need a verifying visit."""
        g.scope.require_records()
        flags = db.session.execute(
            select(Flag).where(Flag.grid_id.in_(g.scope.grid_ids), Flag.state.in_(OPEN_STATES + ("resolved",)))
        ).scalars().all()
        # A flag or visit recorded on a duplicate counts for the household it was merged into.
        home = survivors("household", {f.household_id for f in flags})
        address = dict(db.session.execute(select(Household.id, Household.address)
                                          .where(Household.id.in_(set(home.values())))).all())
        visited = db.session.execute(
            select(Visit.household_id, func.max(Visit.visited_at))
            .where(Visit.household_id.in_(with_copies("household", set(home.values()))))
            .group_by(Visit.household_id)).all()
        into, last = survivors("household", {hid for hid, _ in visited}), {}
        for hid, seen in visited:
            last[into[hid]] = max(seen, last.get(into[hid], seen))
        rows = [(f, address.get(home[f.household_id])) for f in flags]
        # a resolved flag's verifying visit is due from when it was resolved (not its last note)
        resolved = dict(db.session.execute(
            select(FlagEvent.flag_id, func.max(FlagEvent.created_at))
            .where(FlagEvent.flag_id.in_([f.id for f, _ in rows if f.state == "resolved"]),
                   FlagEvent.action == "resolve").group_by(FlagEvent.flag_id)).all())
        current, table, out = now(), current_app.config["REVISIT_DAYS"], []
        for flag, address in rows:
            seen = last.get(home[flag.household_id])
            due = revisit_due(flag.state, flag.current_colour, flag.raised_at, seen,
                              resolved.get(flag.id, flag.updated_at), table)
            if due is None:
                continue
            out.append({"household_id": home[flag.household_id], "address": address, "grid_id": flag.grid_id,
                        "flag_id": flag.id, "category": flag.category, "colour": flag.current_colour,
                        "flag_state": flag.state, "why": due[1], "due_at": due[0], "last_visit_at": seen,
                        "overdue": due[0] <= current})
        return sorted(out, key=lambda d: (d["due_at"], str(d["flag_id"])))

