"""The review pages: drill-down from city to grid, the cases behind the figures, one case,
visits per worker, a printable monthly report, and CSV of every table."""
import csv
import datetime as dt
import io
import re
import time
from urllib.parse import urlencode, urlsplit

from flask import abort, current_app, g, redirect, render_template, request, session, stream_with_context, url_for
from werkzeug.exceptions import HTTPException

from flask_babel import format_date, gettext, ngettext

from sync import messages
from sync.errors import InvalidInput
from sync.messages import N_
from sync.flags import COLOURS, LEVELS

from .. import i18n
from ..auth import authenticate
from ..errors import ApiError
from ..extensions import db
from ..ratelimits import login_limited
from ..scope import AGGREGATE_READERS
from ..services import review, workspace
from ..services.admin import ADMIN_ROLES
from . import STAFF_ROLES, bp, charts, csrf_token, labels


@bp.app_template_filter("pct")
def _pct(value):
    return "–" if value is None else f"{value * 100:.0f}%"


@bp.app_template_filter("local")
def _local(value, fmt="%Y-%m-%d %H:%M"):
    if value is None:
        return "–"
    return (value + dt.timedelta(hours=current_app.config["REVIEW_UTC_OFFSET_HOURS"])).strftime(fmt)


@bp.app_template_filter("avg")
def _avg(value):
    """A per-worker average: one decimal everywhere."""
    return "–" if value is None else f"{value:.1f}"


def _days(hours):
    return f"{hours / 24:.1f}".rstrip("0").rstrip(".") if hours < 240 else f"{round(hours / 24)}"


@bp.app_template_filter("duration")
def _duration(hours):
    """Hours under two days, days from then on."""
    if hours is None:
        return "–"
    if hours < 48:
        return gettext("%(n)s h", n=f"{hours:.0f}")
    return gettext("%(n)s days", n=_days(hours))


@bp.app_template_filter("overdue")
def _overdue(hours):
    if not hours:
        return gettext("overdue by under an hour")
    if hours < 48:
        return ngettext("overdue by %(num)s hour", "overdue by %(num)s hours", int(hours))
    return ngettext("overdue by %(num)s day", "overdue by %(num)s days", int(hours // 24))


@bp.app_template_filter("weekday")
def _week_start(iso):
    """A week by its first day, as people date it."""
    return format_date(dt.date.fromisoformat(iso), "MMMd")


def _week_labels(weeks):
    return [f"{dt.date.fromisoformat(w['starts']):%-m/%-d}" for w in weeks]


@bp.app_template_filter("reason")
def _reason(reason):
    """A server event's reason in the reader's language and the city's time."""
    return i18n.reason_words(reason)


@bp.app_context_processor
def _globals():
    return {"labels": labels, "reviewer": g.get("worker"), "query": _query, "lang_en": i18n.english,
            "admin_roles": ADMIN_ROLES}


def _query(**changes):
    """The current query string with ``changes`` applied (None drops a key); ``page`` is dropped
    unless given, so a changed filter starts from the first page."""
    args = {k: v for k, v in request.args.items() if k != "page"}
    args.update(changes)
    return urlencode({k: v for k, v in args.items() if v not in (None, "")})



@bp.errorhandler(HTTPException)
def _http_error(exc):
    message = exc.description
    if message == type(exc).description:
        # werkzeug's own English sentence: the words for its code instead
        message = i18n.api_message((exc.name or "error").lower().replace(" ", "_"), detail=message)[0]
    return render_template("review_error.html", code=exc.code, message=message), exc.code


@bp.errorhandler(ApiError)
def _api_error(exc):
    return render_template("review_error.html", code=exc.status, message=exc.message), exc.status


# --- log-in ---------------------------------------------------------------------------------------
@bp.route("/login", methods=["GET", "POST"])
@login_limited(methods=["POST"])
def login():
    nxt = request.values.get("next", "")
    # only a path on this site's staff pages: no scheme, no host, nothing a header would choke on
    if (not nxt.startswith(("/review", "/work")) or urlsplit(nxt).netloc or urlsplit(nxt).scheme
            or any(c in nxt for c in "\\\r\n\t\x00")):
        nxt = url_for("review_web.home")
    error, status = None, 200
    if request.method == "POST":
        try:
            username = request.form.get("username", "")[:64]
            if "\x00" in username:
                raise ApiError(401, "bad_credentials", "wrong username or password")
            worker = authenticate(username, request.form.get("password", "")[:256])
        except ApiError:
            error, status = gettext("wrong user name or password"), 401
        else:
            if worker.role not in STAFF_ROLES:
                error, status = gettext("These pages are for reviewers; grid workers use their tablet"), 403
            else:
                # a fresh session: nothing from before the log-in carries over
                session.clear()
                session.permanent = True
                session.update(uid=str(worker.id), since=time.time(), epoch=worker.session_epoch)
                csrf_token()
                if worker.role not in AGGREGATE_READERS:
                    # a department's staff have no review figures: their cases are in the workspace
                    nxt = url_for("work_web.queue")
                return redirect(nxt)
    return render_template("review_login.html", error=error, next=nxt), status


@bp.post("/logout")
def logout():
    # Ends this worker's every review session, copies of the cookie included: the cookie is
    # signed, not stored, so the server remembers which sessions it no longer honours.
    g.worker.session_epoch = (g.worker.session_epoch or 0) + 1
    db.session.commit()
    session.clear()
    return redirect(url_for("review_web.login"))


# --- pages ----------------------------------------------------------------------------------------
def _area(area_id):
    area = review.visible_area(g.scope, area_id)
    if area is None:
        abort(404, description=gettext("There is no such area in yours"))
    return area


_PERIOD_HELP = N_("Write the period as a month 2026-11, a week 2026-W47, the last N days 30d, or a start and "
                  "end date YYYY-MM-DD (the start not after the end)")


def _period(month=None):
    try:
        if month is not None:
            return review.parse_period(month if len(month) == 7 else "bad")
        return review.parse_period(request.args.get("period") or None, request.args.get("start") or None,
                                   request.args.get("end") or None)
    except InvalidInput:
        abort(422, description=gettext(_PERIOD_HELP))


@bp.get("/")
def home():
    area = review.home_area(g.scope)
    if area is None:
        abort(404, description=gettext("No areas have been set up yet"))
    return redirect(url_for("review_web.area", area_id=area.id))


@bp.get("/area/<uuid:area_id>")
def area(area_id):
    area = _area(area_id)
    first, last, label = _period()
    s = review.summary(area, first, last)
    kids = review.children(area)
    weeks = s["weeks"]
    trend, flow = _week_charts(weeks)
    cats = charts.stacked(gettext("Open warnings by category and colour"),
                          [(labels.category(c), v) for c, v in s["open"]["by_category"].items()])
    return render_template("review_area.html", area=area, s=s, kids=kids, trend=trend, flow=flow, cats=cats,
                           crumbs=review.breadcrumbs(area), period_label=label, args=request.args)


@bp.get("/area/<uuid:area_id>/cases")
def cases(area_id):
    area = _area(area_id)
    f = _case_filters()
    page = _int_arg("page", 1, 1, 100_000)
    rows, total, by_area = review.cases(g.scope, area, page=page, per_page=50, **f)
    return render_template("review_cases.html", area=area, rows=rows, total=total, by_area=by_area, f=f,
                           page=page, pages=max(1, -(-total // 50)), crumbs=review.breadcrumbs(area))


@bp.get("/case/<uuid:flag_id>")
def case(flag_id):
    detail = review.case_detail(g.scope, flag_id)
    if detail is None:
        abort(404, description=gettext("There is no such case in your area"))
    return render_template("review_case.html", c=detail)


@bp.get("/area/<uuid:area_id>/departments")
def departments(area_id):
    area = _area(area_id)
    return render_template("review_departments.html", area=area, rows=workspace.summons_overview(area),
                           crumbs=review.breadcrumbs(area))


@bp.get("/area/<uuid:area_id>/workers")
def workers(area_id):
    area = _area(area_id)
    first, last, label = _period()
    return render_template("review_workers.html", area=area, rows=review.workers(area, first, last),
                           period_label=label, crumbs=review.breadcrumbs(area), args=request.args)


@bp.get("/area/<uuid:area_id>/report")
def report(area_id):
    area = _area(area_id)
    month = request.args.get("month") or review.local_today().strftime("%Y-%m")
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}", month):
        abort(422, description=gettext("Write the month as YYYY-MM, e.g. 2026-11"))
    first, last, label = _period(month)
    s = review.summary(area, first, last)
    trend, flow = _week_charts(s["weeks"])
    return render_template("review_report.html", area=area, s=s, kids=review.children(area), month=label,
                           workers=review.workers(area, first, last), crumbs=review.breadcrumbs(area),
                           trend=trend, flow=flow)


def _week_charts(weeks):
    """Visits, and warnings raised and closed, each on its own scale (a week has hundreds of
    visits and a handful of warnings), weeks named by their first day."""
    days = _week_labels(weeks)
    visits = charts.bars(gettext("Visits per week"), days, [(gettext("visits"), [w["visits"] for w in weeks])])
    flow = charts.bars(gettext("Warnings raised and closed per week"), days,
                       [(gettext("raised"), [w["raised"] for w in weeks]),
                        (gettext("closed"), [w["closed"] for w in weeks])])
    return visits, flow


# --- CSV ------------------------------------------------------------------------------------------
EXPORTS = ("areas", "cases", "weeks", "categories", "workers")


@bp.get("/area/<uuid:area_id>/export/<name>.csv")
def export(area_id, name):
    if name not in EXPORTS:
        abort(404, description=gettext("No such table; these can be exported: %(names)s", names=", ".join(EXPORTS)))
    area = _area(area_id)
    keys, rows = _table(name, area)
    # People get words in their language; machines ask for the stable keys and codes (?keys=1).
    raw = request.args.get("keys") == "1"
    header = keys if raw else [gettext(CSV_HEADERS.get(k, k)) for k in keys]
    words = [None if raw else CSV_VALUES.get(k) for k in keys]

    def lines():
        # UTF-8 with a byte-order mark: Excel then reads the Chinese text right.
        buf = io.StringIO()
        out = csv.writer(buf)
        buf.write("\ufeff")
        out.writerow(header)
        for i, row in enumerate(rows, 1):
            out.writerow([_cell(v if table is None or v is None else messages.name(table, v, gettext))
                          for v, table in zip(row, words)])
            if i % 500 == 0:
                yield buf.getvalue().encode("utf-8")
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue().encode("utf-8")

    # codes come from an imported file: only safe characters reach the header
    filename = f"{re.sub(r'[^A-Za-z0-9_.-]', '_', area.code)}-{name}-{review.local_today():%Y%m%d}.csv"
    return current_app.response_class(stream_with_context(lines()), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


#: what a person reads for each CSV column (``?keys=1``: the keys themselves)
CSV_HEADERS = {
    "code": N_("code"), "area": N_("area"), "area_level": N_("level"), "households": N_("household count"),
    "persons": N_("person count"), "visited_30d": N_("households visited in 30 days"),
    "coverage_30d": N_("30-day coverage"), "open": N_("open"), "red": N_("red"), "yellow": N_("yellow"),
    "green": N_("green"), "overdue": N_("overdue"), "red_overdue": N_("red overdue"), "case": N_("case"),
    "category": N_("category"), "colour": N_("colour"), "state": N_("state"), "level": N_("level"),
    "held_by": N_("held by"), "held_by_staff": N_("staff holding it"), "grid": N_("grid"),
    "grid_workers": N_("grid workers"), "household": N_("household"), "raised_at": N_("raised at"),
    "deadline_at": N_("deadline"), "overdue_hours": N_("hours overdue"), "holder_person": N_("holder"),
    "worker": N_("worker"),
    "visits": N_("visits"), "week": N_("week"), "starts": N_("week starting"), "raised": N_("raised"),
    "closed": N_("closed"), "escalations": N_("escalations"), "open_red": N_("open red"),
    "open_yellow": N_("open yellow"), "open_green": N_("open green"), "raised_in_period": N_("raised in period"),
}
#: columns whose values are codes, and the words for them
CSV_VALUES = {"category": messages.CATEGORIES, "colour": messages.COLOURS, "state": messages.STATES,
              "level": messages.LEVELS, "area_level": messages.LEVELS}


def _cell(value):
    """Text a spreadsheet would run as a formula is quoted, so a note cannot become one."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return _local(value)
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _table(name, area):
    if name == "areas":
        return (["code", "area", "area_level", "households", "persons", "visited_30d", "coverage_30d", "open", "red",
                 "yellow", "green", "overdue", "red_overdue"],
                [[k["area"].code, k["area"].name, k["area"].level, k["households"], k["persons"], k["visited_30d"],
                  "" if k["rate_30d"] is None else f"{k['rate_30d']:.4f}", k["open"], k["red"], k["yellow"],
                  k["green"], k["overdue"], k["red_overdue"]] for k in review.children(area)])
    if name == "cases":
        filters = _case_filters()

        def every_case():
            # page by page, so a city-wide list of any length streams in bounded memory
            page = 1
            while True:
                rows, _, _ = review.cases(g.scope, area, page=page, per_page=1000, counts=False, **filters)
                yield from rows
                if len(rows) < 1000:
                    return
                page += 1
        return (["case", "category", "colour", "state", "level", "held_by", "held_by_staff", "grid", "grid_workers",
                 "household", "raised_at", "deadline_at", "overdue_hours", "holder_person"],
                ([r["id"], r["category"], r["colour"], r["state"], r["level"], r["holder"],
                  "、".join(r["holder_staff"]), r["grid"], "、".join(r["grid_workers"]), r["household"],
                  r["raised_at"], r["deadline_at"], r["overdue_hours"],
                  r["holder_person"]["name"] if r["holder_person"] else None] for r in every_case()))
    first, last, _ = _period()
    if name == "workers":
        return ["worker", "visits"], [[r["name"], r["visits"]] for r in review.workers(area, first, last)]
    s = review.summary(area, first, last)
    if name == "weeks":
        return (["week", "starts", "visits", "raised", "closed", "escalations"],
                [[w["week"], w["starts"], w["visits"], w["raised"], w["closed"], w["escalations"]] for w in s["weeks"]])
    opened, raised = s["open"]["by_category"], s["in_period"]["raised_by_category"]
    return (["category", "open_red", "open_yellow", "open_green", "raised_in_period"],
            [[c, opened.get(c, {}).get("red", 0), opened.get(c, {}).get("yellow", 0),
              opened.get(c, {}).get("green", 0), raised.get(c, 0)] for c in sorted(set(opened) | set(raised))])


def _case_filters():
    status = request.args.get("status", "open")
    colour = request.args.get("colour") or None
    level = request.args.get("level") or None
    category = (request.args.get("category") or None)
    bad = [n for n, v, ok in (("status", status, review.CASE_STATUSES), ("colour", colour, COLOURS),
                              ("level", level, LEVELS)) if v is not None and v not in ok]
    if bad or (category and (len(category) > 64 or "\x00" in category)):
        abort(400, description=gettext("Filter values that cannot be used: %(names)s",
                                       names=", ".join(bad or ["category"])))
    return {"status": status, "colour": colour, "category": category, "level": level}


def _int_arg(name, default, low, high):
    raw = request.args.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]{1,9}", raw) or not low <= int(raw) <= high:
        abort(400, description=gettext("%(name)s must be a whole number from %(low)s to %(high)s", name=name,
                                       low=low, high=high))
    return int(raw)

