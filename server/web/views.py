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

from sync.errors import InvalidInput
from sync.flags import COLOURS, LEVELS

from ..auth import authenticate
from ..errors import ApiError
from ..extensions import db, limiter
from ..scope import AGGREGATE_READERS
from ..services import review, workspace
from . import STAFF_ROLES, bp, charts, csrf_token, labels


@bp.app_template_filter("pct")
def _pct(value):
    return "–" if value is None else f"{value * 100:.0f}%"


@bp.app_template_filter("local")
def _local(value, fmt="%Y-%m-%d %H:%M"):
    if value is None:
        return "–"
    return (value + dt.timedelta(hours=current_app.config["REVIEW_UTC_OFFSET_HOURS"])).strftime(fmt)


@bp.app_context_processor
def _globals():
    return {"labels": labels, "reviewer": g.get("worker"), "query": _query}


def _query(**changes):
    """The current query string with ``changes`` applied (None drops a key); ``page`` is dropped
    unless given, so a changed filter starts from the first page."""
    args = {k: v for k, v in request.args.items() if k != "page"}
    args.update(changes)
    return urlencode({k: v for k, v in args.items() if v not in (None, "")})



@bp.errorhandler(HTTPException)
def _http_error(exc):
    return render_template("review_error.html", code=exc.code, message=exc.description), exc.code


@bp.errorhandler(ApiError)
def _api_error(exc):
    return render_template("review_error.html", code=exc.status, message=exc.message), exc.status


# --- log-in ---------------------------------------------------------------------------------------
@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
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
                raise ApiError(401, "bad_credentials", "用户名或密码错误")
            worker = authenticate(username, request.form.get("password", "")[:256])
        except ApiError:
            error, status = "用户名或密码错误", 401
        else:
            if worker.role not in STAFF_ROLES:
                error, status = "此页面供审阅人员使用；网格员请使用平板", 403
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
        abort(404, description="您的辖区内没有这个区域")
    return area


_PERIOD_HELP = "统计期间的写法：月份 2026-11、周 2026-W47、近 N 天 30d，或起止日期 YYYY-MM-DD（起不晚于止）"


def _period(month=None):
    try:
        if month is not None:
            return review.parse_period(month if len(month) == 7 else "bad")
        return review.parse_period(request.args.get("period") or None, request.args.get("start") or None,
                                   request.args.get("end") or None)
    except InvalidInput:
        abort(422, description=_PERIOD_HELP)


@bp.get("/")
def home():
    area = review.home_area(g.scope)
    if area is None:
        abort(404, description="尚未设置任何区域")
    return redirect(url_for("review_web.area", area_id=area.id))


@bp.get("/area/<uuid:area_id>")
def area(area_id):
    area = _area(area_id)
    first, last, label = _period()
    s = review.summary(area, first, last)
    kids = review.children(area)
    weeks = s["weeks"]
    short = [w["week"].split("-")[1] for w in weeks]
    trend = charts.bars("每周走访", short, [("走访", [w["visits"] for w in weeks])])
    flow = charts.bars("每周新增与关闭预警", short,
                       [("新增", [w["raised"] for w in weeks]), ("关闭", [w["closed"] for w in weeks])])
    cats = charts.stacked("未办结预警（按类别、颜色）",
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
        abort(404, description="您的辖区内没有这个案件")
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
        abort(422, description="月份的写法：YYYY-MM，如 2026-11")
    first, last, label = _period(month)
    s = review.summary(area, first, last)
    return render_template("review_report.html", area=area, s=s, kids=review.children(area), month=label,
                           workers=review.workers(area, first, last), crumbs=review.breadcrumbs(area),
                           trend=charts.bars("每周走访与预警", [w["week"].split("-")[1] for w in s["weeks"]],
                                             [("走访", [w["visits"] for w in s["weeks"]]),
                                              ("新增", [w["raised"] for w in s["weeks"]]),
                                              ("关闭", [w["closed"] for w in s["weeks"]])]))


# --- CSV ------------------------------------------------------------------------------------------
EXPORTS = ("areas", "cases", "weeks", "categories", "workers")


@bp.get("/area/<uuid:area_id>/export/<name>.csv")
def export(area_id, name):
    if name not in EXPORTS:
        abort(404, description=f"没有这张表；可导出：{'、'.join(EXPORTS)}")
    area = _area(area_id)
    header, rows = _table(name, area)

    def lines():
        # UTF-8 with a byte-order mark: Excel then reads the Chinese text right.
        buf = io.StringIO()
        out = csv.writer(buf)
        buf.write("\ufeff")
        out.writerow(header)
        for i, row in enumerate(rows, 1):
            out.writerow([_cell(v) for v in row])
            if i % 500 == 0:
                yield buf.getvalue().encode("utf-8")
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue().encode("utf-8")

    # codes come from an imported file: only safe characters reach the header
    filename = f"{re.sub(r'[^A-Za-z0-9_.-]', '_', area.code)}-{name}-{review.local_today():%Y%m%d}.csv"
    return current_app.response_class(stream_with_context(lines()), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


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
        return (["code", "area", "level", "households", "persons", "visited_30d", "coverage_30d", "open", "red",
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
                ([r["id"], labels.category(r["category"]), r["colour"], r["state"], r["level"], r["holder"],
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
            [[labels.category(c), opened.get(c, {}).get("red", 0), opened.get(c, {}).get("yellow", 0),
              opened.get(c, {}).get("green", 0), raised.get(c, 0)] for c in sorted(set(opened) | set(raised))])


def _case_filters():
    status = request.args.get("status", "open")
    colour = request.args.get("colour") or None
    level = request.args.get("level") or None
    category = (request.args.get("category") or None)
    bad = [n for n, v, ok in (("status", status, review.CASE_STATUSES), ("colour", colour, COLOURS),
                              ("level", level, LEVELS)) if v is not None and v not in ok]
    if bad or (category and (len(category) > 64 or "\x00" in category)):
        abort(400, description=f"筛选值无效：{'、'.join(bad or ['category'])}")
    return {"status": status, "colour": colour, "category": category, "level": level}


def _int_arg(name, default, low, high):
    raw = request.args.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]{1,9}", raw) or not low <= int(raw) <= high:
        abort(400, description=f"{name} 须为 {low} 到 {high} 之间的整数")
    return int(raw)

