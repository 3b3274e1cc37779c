"""Payloads of the bureau's review API (aggregates, not rows: written by hand)."""
from marshmallow import Schema, fields, validate

from sync.flags import COLOURS, LEVELS

from ...i18n import reason_words
from ...services.review import CASE_STATUSES
from ..common import PageArgs, Uuid
from ..schemas import AreaSchema

_COUNTS = dict(keys=fields.Str(), values=fields.Int())


class PeriodArgs(Schema):
    period = fields.Str(load_default=None, validate=validate.Length(max=16),
                        metadata={"description": "YYYY-MM, YYYY-Www or Nd (30d); default the last 90 days"})
    start = fields.Str(load_default=None, validate=validate.Length(max=10), metadata={"description": "YYYY-MM-DD"})
    end = fields.Str(load_default=None, validate=validate.Length(max=10), metadata={"description": "YYYY-MM-DD"})


class CaseArgs(PageArgs):
    status = fields.Str(load_default="open", validate=validate.OneOf(CASE_STATUSES))
    colour = fields.Str(load_default=None, validate=validate.OneOf(COLOURS))
    category = fields.Str(load_default=None, validate=[validate.Length(max=64), validate.Regexp(
        r"^[^\x00]*\Z", error="must not contain a NUL character")])
    level = fields.Str(load_default=None, validate=validate.OneOf(LEVELS))


class PeriodSchema(Schema):
    start = fields.Date()
    end = fields.Date()


class CoverageSchema(Schema):
    visited_30d = fields.Int()
    visited_90d = fields.Int()
    rate_30d = fields.Float(allow_none=True)
    rate_90d = fields.Float(allow_none=True)


class OpenSchema(Schema):
    total = fields.Int()
    by_colour = fields.Dict(**_COUNTS)
    by_state = fields.Dict(**_COUNTS)
    by_category = fields.Dict(keys=fields.Str(), values=fields.Dict(**_COUNTS))


class ByColourSchema(Schema):
    total = fields.Int()
    by_colour = fields.Dict(**_COUNTS)


class CloseTimeSchema(Schema):
    closed = fields.Int()
    median = fields.Int(allow_none=True, metadata={"description": "whole hours from report to close"})
    p90 = fields.Int(allow_none=True)


class InPeriodSchema(Schema):
    visits = fields.Int()
    visits_per_worker = fields.Float(allow_none=True)
    raised = fields.Int()
    raised_by_colour = fields.Dict(**_COUNTS)
    raised_by_category = fields.Dict(**_COUNTS)
    closed = fields.Int()
    rejected = fields.Int()
    escalations = fields.Int()
    hours_to_close = fields.Nested(CloseTimeSchema)


class WeekSchema(Schema):
    week = fields.Str()
    starts = fields.Str()
    visits = fields.Int()
    raised = fields.Int()
    closed = fields.Int()
    escalations = fields.Int()


class ReviewSummarySchema(Schema):
    area = fields.Nested(AreaSchema)
    as_of = fields.DateTime(allow_none=True, metadata={"description": "when the roll-ups were rebuilt"})
    period = fields.Nested(PeriodSchema)
    households = fields.Int()
    persons = fields.Int()
    workers = fields.Int()
    coverage = fields.Nested(CoverageSchema)
    open = fields.Nested(OpenSchema)
    overdue = fields.Nested(ByColourSchema)
    escalated = fields.Nested(ByColourSchema)
    in_period = fields.Nested(InPeriodSchema)
    weeks = fields.List(fields.Nested(WeekSchema))


class ChildSchema(Schema):
    area = fields.Nested(AreaSchema)
    households = fields.Int()
    persons = fields.Int()
    visited_30d = fields.Int()
    rate_30d = fields.Float(allow_none=True)
    open = fields.Int()
    red = fields.Int()
    yellow = fields.Int()
    green = fields.Int()
    overdue = fields.Int()
    red_overdue = fields.Int()


class WorkerVisitsSchema(Schema):
    worker_id = Uuid()
    name = fields.Str()
    visits = fields.Int()


class CaseRowSchema(Schema):
    id = Uuid()
    category = fields.Str()
    colour = fields.Str()
    state = fields.Str()
    level = fields.Str()
    raised_at = fields.DateTime()
    deadline_at = fields.DateTime(allow_none=True)
    overdue_hours = fields.Int(allow_none=True)
    household = fields.Str(allow_none=True, metadata={"description": "the head's name, initialled unless the "
                                                                     "caller may open the case"})
    grid = fields.Str(allow_none=True)
    grid_workers = fields.List(fields.Str())
    holder = fields.Str(metadata={"description": "the area answering for the case at its level"})
    holder_staff = fields.List(fields.Str())
    full = fields.Bool(metadata={"description": "whether the caller may open the case in full"})


class ByAreaSchema(Schema):
    area_id = Uuid()
    name = fields.Str()
    cases = fields.Int()


class CaseListSchema(Schema):
    total = fields.Int()
    page = fields.Int()
    per_page = fields.Int()
    by_area = fields.List(fields.Nested(ByAreaSchema))
    cases = fields.List(fields.Nested(CaseRowSchema))


class CaseEventSchema(Schema):
    at = fields.DateTime()
    action = fields.Str()
    from_state = fields.Str(allow_none=True)
    level = fields.Str(allow_none=True)
    colour = fields.Str(allow_none=True)
    by = fields.Str()
    note = fields.Str(allow_none=True)
    reason = fields.Dict(allow_none=True, metadata={
        "description": "why the server made this event: a code and its facts (times in UTC)"})
    reason_text = fields.Method("_reason_text", metadata={
        "description": "the reason in the reader's language (Accept-Language) and local time"})

    def _reason_text(self, event):
        return reason_words(event.get("reason"))


class CaseVisitSchema(Schema):
    at = fields.DateTime()
    by = fields.Str(allow_none=True)
    checks = fields.Dict(keys=fields.Str(), values=fields.Str(allow_none=True))


class CaseHouseholdSchema(Schema):
    id = Uuid()
    head_name = fields.Str(allow_none=True)
    address = fields.Str(allow_none=True)
    phone = fields.Str(allow_none=True)


class CasePersonSchema(Schema):
    id = Uuid()
    name = fields.Str(allow_none=True)
    birth_year = fields.Int(allow_none=True)
    id_number = fields.Str(allow_none=True)


class CaseDetailSchema(CaseRowSchema):
    raised_colour = fields.Str()
    note = fields.Str(allow_none=True)
    household = fields.Nested(CaseHouseholdSchema, allow_none=True)
    person = fields.Nested(CasePersonSchema, allow_none=True)
    events = fields.List(fields.Nested(CaseEventSchema))
    visits = fields.List(fields.Nested(CaseVisitSchema))
