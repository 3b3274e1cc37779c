"""Flags on families in difficulty, their event log, and each person's queue."""
import uuid

from flask import g
from flask.views import MethodView
from marshmallow import fields, validate
from sqlalchemy import select

from sync.casework import ACTIVE_STATES, LEVEL_ROLE, OPEN_STATES, allowed_actions
from sync.flags import COLOURS, LEVELS, STATES, fold_flag

from ...auth import login_required
from ...errors import ApiError
from ...extensions import db
from ...models import COLOUR_RANK, Flag, FlagEvent
from ...services.records import with_copies
from ..common import BEARER, Blueprint, PageArgs, now, paginate, Uuid
from ..records import create, input_schema, save
from ..schemas import FlagEventSchema, FlagSchema

blp = Blueprint("flags", __name__, url_prefix="/flags", description="Flags (三色预警) and their closed loop")


class FlagListArgs(PageArgs):
    state = fields.Str(load_default=None, validate=validate.OneOf(STATES))
    colour = fields.Str(load_default=None, validate=validate.OneOf(COLOURS))
    level = fields.Str(load_default=None, validate=validate.OneOf(LEVELS))
    grid_id = Uuid(load_default=None)
    household_id = Uuid(load_default=None)
    overdue = fields.Bool(load_default=None)


def _scoped(query):
    """Flags the caller may see: their grids or area; the bureau sees flags escalated to it."""
    if g.scope.role == "bureau":
        return query.where(Flag.current_level == "bureau")
    g.scope.require_records()
    return query.where(Flag.grid_id.in_(g.scope.grid_ids))


def _load(flag_id):
    flag = db.session.execute(_scoped(select(Flag).where(Flag.id == flag_id))).scalar_one_or_none()
    if flag is None:
        raise ApiError(404, "not_found", "no such flag in your area")
    return flag


def _with_events(flag):
    flag.events = db.session.execute(select(FlagEvent).where(FlagEvent.flag_id == flag.id)
                                     .order_by(FlagEvent.stamp)).scalars().all()
    view = fold_flag(flag.colour, flag.level, [
        {"id": str(e.id), "stamp": e.stamp, "action": e.action, "from_state": e.from_state,
         "at_level": e.at_level, "level": e.level, "colour": e.colour,
         "department_id": str(e.department_id) if e.department_id else None} for e in flag.events])
    flag.concurrent_event_ids = view["concurrent"]
    # a close waits for every summoned department to answer or be released
    flag.allowed_actions = allowed_actions(g.scope.role, flag.state, flag.current_level, view["summons"])
    return _decorate(flag)


def _decorate(flag, at=None):
    at = at or now()
    flag.overdue = flag.deadline_at is not None and flag.deadline_at < at
    return flag


@blp.route("")
class FlagList(MethodView):
    decorators = [login_required]

    @blp.arguments(FlagListArgs, location="query")
    @blp.response(200, FlagSchema(many=True))
    @blp.doc(security=BEARER)
    def get(self, args):
        """Flags in the caller's area, red first, oldest first."""
        query = _scoped(select(Flag))
        for name in ("state", "grid_id"):
            if args[name] is not None:
                query = query.where(getattr(Flag, name) == args[name])
        if args["household_id"] is not None:
            # a flag raised on a duplicate is the surviving household's flag too
            query = query.where(Flag.household_id.in_(with_copies("household", [args["household_id"]])))
        if args["colour"] is not None:
            query = query.where(Flag.current_colour == args["colour"])
        if args["level"] is not None:
            query = query.where(Flag.current_level == args["level"])
        if args["overdue"] is not None:
            late = Flag.deadline_at < now()
            query = query.where(late if args["overdue"] else (Flag.deadline_at.is_(None) | ~late))
        query = query.order_by(COLOUR_RANK, Flag.raised_at, Flag.id)
        at = now()
        return [_decorate(f, at) for f in db.session.execute(paginate(query, args)).scalars()]

    @blp.arguments(input_schema("flag", creating=True))
    @blp.response(201, FlagSchema)
    @blp.doc(security=BEARER)
    def post(self, args):
        """Raise a flag on a household (and optionally one of its persons)."""
        fid = args.pop("id", None) or uuid.uuid4()
        create("flag", fid, args)
        return _with_events(db.session.get(Flag, fid))


@blp.route("/queue")
class FlagQueue(MethodView):
    decorators = [login_required]

    @blp.arguments(PageArgs, location="query")
    @blp.response(200, FlagSchema(many=True))
    @blp.doc(security=BEARER)
    def get(self, args):
        """What the caller has to act on, most urgent first: staff see open flags at their own
        level in their area; a grid worker sees the active flags of their grids."""
        role = g.scope.role
        query = _scoped(select(Flag))
        if role in LEVEL_ROLE.values():
            query = query.where(Flag.current_level == role, Flag.state.in_(OPEN_STATES))
        else:
            query = query.where(Flag.state.in_(ACTIVE_STATES))
        # overdue and nearest deadlines first; flags whose clock is not running after them
        query = query.order_by(Flag.deadline_at.is_(None), Flag.deadline_at, Flag.raised_at, Flag.id)
        at = now()
        return [_decorate(f, at) for f in db.session.execute(paginate(query, args)).scalars()]


@blp.route("/<uuid:flag_id>")
class FlagItem(MethodView):
    decorators = [login_required]

    @blp.response(200, FlagSchema)
    @blp.doc(security=BEARER)
    def get(self, flag_id):
        """A flag with its whole event log and the actions the caller may take."""
        return _with_events(_load(flag_id))


@blp.route("/<uuid:flag_id>/events")
class FlagEvents(MethodView):
    decorators = [login_required]

    @blp.arguments(input_schema("flag_event", creating=True, exclude=("flag_id",)))
    @blp.response(201, FlagEventSchema)
    @blp.doc(security=BEARER)
    def post(self, args, flag_id):
        """Move a flag on (confirm, start, resolve, verify, close, reject, reopen, escalate …);
        who may do what depends on the flag's level (sync/casework.py)."""
        _load(flag_id)
        eid = args.pop("id", None) or uuid.uuid4()
        args["flag_id"] = flag_id
        save("flag_event", eid, args)
        return db.session.get(FlagEvent, eid)

