"""The bureau's review API: aggregates by area and period, the cases behind them, one case.

Figures come from the roll-ups (server/services/review.py); case lists are read live.
"""
from flask import g
from flask.views import MethodView

from ...auth import login_required
from ...errors import ApiError
from ...scope import AGGREGATE_READERS
from ...services import review
from ..common import BEARER, Blueprint
from .schemas import (CaseArgs, CaseDetailSchema, CaseListSchema, ChildSchema, PeriodArgs, ReviewSummarySchema,
                      WorkerVisitsSchema)

blp = Blueprint("review", __name__, url_prefix="/review",
                description="Aggregates for reviewers: by area and period, with the cases behind them")


def _area(area_id):
    if g.scope.role not in AGGREGATE_READERS:
        raise ApiError(403, "forbidden", f"the {g.scope.role} role does not read the review")
    area = review.visible_area(g.scope, area_id)
    if area is None:
        raise ApiError(404, "not_found", "no such area in your scope")
    return area


def _period(args):
    return review.parse_period(args["period"], args["start"], args["end"])


@blp.route("/areas/<uuid:area_id>/summary")
class Summary(MethodView):
    decorators = [login_required]

    @blp.arguments(PeriodArgs, location="query")
    @blp.response(200, ReviewSummarySchema)
    @blp.doc(security=BEARER)
    def get(self, args, area_id):
        """Households, coverage, open/overdue/escalated flags now; visits, flags raised and closed,
        time to close and weekly trends over the period."""
        area = _area(area_id)
        return review.summary(area, *_period(args)[:2])


@blp.route("/areas/<uuid:area_id>/children")
class Children(MethodView):
    decorators = [login_required]

    @blp.response(200, ChildSchema(many=True))
    @blp.doc(security=BEARER)
    def get(self, area_id):
        """The areas one level down with their headline figures (the drill-down)."""
        return review.children(_area(area_id))


@blp.route("/areas/<uuid:area_id>/workers")
class Workers(MethodView):
    decorators = [login_required]

    @blp.arguments(PeriodArgs, location="query")
    @blp.response(200, WorkerVisitsSchema(many=True))
    @blp.doc(security=BEARER)
    def get(self, args, area_id):
        """Visits per worker in the area over the period."""
        area = _area(area_id)
        return review.workers(area, *_period(args)[:2])


@blp.route("/areas/<uuid:area_id>/cases")
class Cases(MethodView):
    decorators = [login_required]

    @blp.arguments(CaseArgs, location="query")
    @blp.response(200, CaseListSchema)
    @blp.doc(security=BEARER)
    def get(self, args, area_id):
        """Cases under the area, most urgent first, with who holds each; names are initialled
        unless the caller may open the case."""
        area = _area(area_id)
        rows, total, by_area = review.cases(g.scope, area, status=args["status"], colour=args["colour"],
                                            category=args["category"], level=args["level"],
                                            page=args["page"], per_page=args["per_page"])
        return {"total": total, "page": args["page"], "per_page": args["per_page"], "by_area": by_area,
                "cases": rows}


@blp.route("/cases/<uuid:flag_id>")
class Case(MethodView):
    decorators = [login_required]

    @blp.response(200, CaseDetailSchema)
    @blp.doc(security=BEARER)
    def get(self, flag_id):
        """One case with its event log; opened in full (and audited) only by those who may."""
        if g.scope.role not in AGGREGATE_READERS:
            raise ApiError(403, "forbidden", f"the {g.scope.role} role does not read the review")
        detail = review.case_detail(g.scope, flag_id)
        if detail is None:
            raise ApiError(404, "not_found", "no such case in your area")
        return detail
