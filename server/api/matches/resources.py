"""The duplicate review queue (pairs the matcher was not sure of) and merges, with undo."""
from flask import g
from flask.views import MethodView
from marshmallow import Schema, fields, validate
from sqlalchemy import and_, or_, select

from ...auth import login_required
from ...errors import ApiError
from ...extensions import db
from ...models import Household, MatchReview, MergeRecord, Person
from ...models.types import utcnow
from ...services import ingest, linker
from ..common import BEARER, Blueprint, PageArgs, paginate, Uuid

blp = Blueprint("matches", __name__, url_prefix="/duplicates", description="Duplicates: review queue and merges")


class ReviewArgs(PageArgs):
    status = fields.Str(load_default="open", validate=validate.OneOf(["open", "merged", "rejected"]))


class ReviewSchema(Schema):
    id = Uuid()
    entity = fields.Str()
    a_id = Uuid()
    b_id = Uuid()
    score = fields.Float()
    reasons = fields.List(fields.Str())
    status = fields.Str()
    created_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)


class MergeSchema(Schema):
    id = Uuid()
    entity = fields.Str()
    survivor_id = Uuid()
    merged_id = Uuid()
    score = fields.Float()
    reasons = fields.List(fields.Str())
    decided_by = Uuid(allow_none=True, metadata={"description": "null: merged automatically"})
    changes = fields.Dict()
    created_at = fields.DateTime()
    undone_at = fields.DateTime(allow_none=True)


def _grid(entity, record_id):
    """The grid a household or person lies in now, as a subquery (the pair's own grid columns
    are what the linker saw; the records are what counts)."""
    if entity == "household":
        return select(Household.grid_id).where(Household.id == record_id).scalar_subquery()
    return select(Household.grid_id).join(Person, Person.household_id == Household.id) \
        .where(Person.id == record_id).scalar_subquery()


def _visible(model, first, second):
    """Pairs and merges whose two records both lie in the caller's area: one half of a pair
    elsewhere is not shown at all (its id and the evidence would say who lives there)."""
    grids = g.scope.grid_ids
    return and_(model.grid_id.in_(grids), model.other_grid_id.in_(grids), or_(*(
        and_(model.entity == entity, _grid(entity, first).in_(grids), _grid(entity, second).in_(grids))
        for entity in ("household", "person"))))


def _in_scope(model, item_id, first, second):
    """A pair or merge the caller may decide on: both records in grids they may write (a pair
    across two communities waits for an account that may write both). Anything else answers
    404, like an id that does not exist."""
    item = db.session.execute(select(model).where(model.id == item_id, _visible(model, first, second))) \
        .scalar_one_or_none()
    if item is None:
        raise ApiError(404, "not_found", "nothing like that in your area")
    return item


@blp.route("/reviews")
class ReviewList(MethodView):
    decorators = [login_required]

    @blp.arguments(ReviewArgs, location="query")
    @blp.response(200, ReviewSchema(many=True))
    @blp.doc(security=BEARER)
    def get(self, args):
        """Pairs the matcher thinks may be one person or household, for someone to decide."""
        g.scope.require_records()
        query = select(MatchReview).where(_visible(MatchReview, MatchReview.a_id, MatchReview.b_id),
                                          MatchReview.status == args["status"]) \
            .order_by(MatchReview.score.desc(), MatchReview.id)
        return db.session.execute(paginate(query, args)).scalars().all()


def _decide(review_id, merge):
    # a merge writes both records (one deleted, the other filled in): read-only staff may not
    g.scope.require_records(write=True)
    ingest.lock()                    # one decision at a time: no pair is merged twice
    review = _in_scope(MatchReview, review_id, MatchReview.a_id, MatchReview.b_id)
    if review.status != "open":
        raise ApiError(409, "already_decided", f"this pair is already {review.status}")
    if merge:
        do = linker.merge_persons if review.entity == "person" else linker.merge_households
        try:
            do(review.a_id, review.b_id, review.score, review.reasons, decided_by=g.worker.id)
        except linker.MergeError as exc:
            db.session.rollback()
            raise ApiError(409, "cannot_merge", str(exc)) from None
    else:
        review.status, review.decided_by, review.decided_at = "rejected", g.worker.id, utcnow()
    db.session.commit()
    return db.session.get(MatchReview, review_id)


@blp.route("/reviews/<uuid:review_id>/confirm")
class ReviewConfirm(MethodView):
    decorators = [login_required]

    @blp.response(200, ReviewSchema)
    @blp.doc(security=BEARER)
    def post(self, review_id):
        """They are the same: merge them (the one entered first survives)."""
        return _decide(review_id, merge=True)


@blp.route("/reviews/<uuid:review_id>/reject")
class ReviewReject(MethodView):
    decorators = [login_required]

    @blp.response(200, ReviewSchema)
    @blp.doc(security=BEARER)
    def post(self, review_id):
        """They are different: never propose this pair again."""
        return _decide(review_id, merge=False)


@blp.route("/merges")
class MergeList(MethodView):
    decorators = [login_required]

    @blp.arguments(PageArgs, location="query")
    @blp.response(200, MergeSchema(many=True))
    @blp.doc(security=BEARER)
    def get(self, args):
        """Merges in the caller's area, newest first: who, when, why, what changed."""
        g.scope.require_records()
        query = select(MergeRecord).where(_visible(MergeRecord, MergeRecord.survivor_id, MergeRecord.merged_id)) \
            .order_by(MergeRecord.created_at.desc(), MergeRecord.id)
        return db.session.execute(paginate(query, args)).scalars().all()


@blp.route("/merges/<uuid:merge_id>/undo")
class MergeUndo(MethodView):
    decorators = [login_required]

    @blp.response(200, MergeSchema)
    @blp.doc(security=BEARER)
    def post(self, merge_id):
        """Undo a merge: both records come back, nothing entered since is lost."""
        g.scope.require_records(write=True)
        ingest.lock()
        merge = _in_scope(MergeRecord, merge_id, MergeRecord.survivor_id, MergeRecord.merged_id)
        try:
            linker.undo_merge(merge, g.worker.id)
        except linker.MergeError as exc:
            db.session.rollback()
            raise ApiError(409, "cannot_undo", str(exc)) from None
        db.session.commit()
        return merge
