"""Flags on families in difficulty and their event log."""
import uuid

from flask import g
from flask.views import MethodView
from marshmallow import fields, validate
from sqlalchemy import select

from sync.flags import COLOURS, STATES, fold_flag

from ...auth import login_required
from ...extensions import db
from ...models import Flag, FlagEvent
from ..common import BEARER, Blueprint, PageArgs, paginate
from ..records import input_schema, load_in_scope, save
from ..schemas import FlagEventSchema, FlagSchema

blp = Blueprint("flags", __name__, url_prefix="/flags", description="Flags (三色预警) and their closed loop")


class FlagListArgs(PageArgs):
    state = fields.Str(load_default=None, validate=validate.OneOf(STATES))
    colour = fields.Str(load_default=None, validate=validate.OneOf(COLOURS))
    grid_id = fields.UUID(load_default=None)
    household_id = fields.UUID(load_default=None)


def _with_events(flag):
    flag.events = db.session.execute(select(FlagEvent).where(FlagEvent.flag_id == flag.id)
                                     .order_by(FlagEvent.stamp)).scalars().all()
    view = fold_flag(flag.colour, flag.level or "community", [
        {"id": str(e.id), "stamp": e.stamp, "action": e.action, "from_state": e.from_state, "level": e.level,
         "colour": e.colour} for e in flag.events])
    flag.concurrent_event_ids = view["concurrent"]
    return flag


@blp.route("")
class FlagList(MethodView):
    decorators = [login_required]

    @blp.arguments(FlagListArgs, location="query")
    @blp.response(200, FlagSchema(many=True))
    @blp.doc(security=BEARER)
    def get(self, args):
        """Flags in the caller's area, red first, oldest first."""
        g.scope.require_records()
        grids = g.scope.grid_ids if args["grid_id"] is None else g.scope.grid_ids & {args["grid_id"]}
        query = select(Flag).where(Flag.grid_id.in_(grids))
        for name in ("state", "household_id"):
            if args[name] is not None:
                query = query.where(getattr(Flag, name) == args[name])
        if args["colour"] is not None:
            query = query.where(Flag.current_colour == args["colour"])
        query = query.order_by(Flag.current_colour.desc(), Flag.raised_at, Flag.id)
        return db.session.execute(paginate(query, args)).scalars().all()

    @blp.arguments(input_schema("flag", creating=True))
    @blp.response(201, FlagSchema)
    @blp.doc(security=BEARER)
    def post(self, args):
        """Raise a flag on a household (and optionally one of its persons)."""
        fid = args.pop("id", None) or uuid.uuid4()
        save("flag", fid, args)
        return _with_events(db.session.get(Flag, fid))


@blp.route("/<uuid:flag_id>")
class FlagItem(MethodView):
    decorators = [login_required]

    @blp.response(200, FlagSchema)
    @blp.doc(security=BEARER)
    def get(self, flag_id):
        """A flag with its whole event log."""
        return _with_events(load_in_scope("flag", flag_id))


@blp.route("/<uuid:flag_id>/events")
class FlagEvents(MethodView):
    decorators = [login_required]

    @blp.arguments(input_schema("flag_event", creating=True, exclude=("flag_id",)))
    @blp.response(201, FlagEventSchema)
    @blp.doc(security=BEARER)
    def post(self, args, flag_id):
        """Move a flag on (confirm, start, resolve, verify, close, reject, reopen, escalate …)."""
        load_in_scope("flag", flag_id, write=True)
        eid = args.pop("id", None) or uuid.uuid4()
        args["flag_id"] = flag_id
        save("flag_event", eid, args)
        return db.session.get(FlagEvent, eid)
