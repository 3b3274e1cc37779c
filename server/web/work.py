"""The casework workspace (/work): a queue per person, one case with the actions this person
may take now, each a form (no script needed). Same log-in, session, CSRF and strict headers as
the review pages; the words are Chinese, in the templates."""
from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from sync.errors import Conflicting, Forbidden, InvalidChange, NotFound, OutOfScope

from ..scope import scope_for
from ..services import workspace
from . import check_csrf, session_worker, strict_headers

work_bp = Blueprint("work_web", __name__, url_prefix="/work", template_folder="templates")

#: what a refusal's code means to the person who pressed the button
_REFUSALS = {
    "summons_open": "还有被召集的部门尚未反馈或解除，暂不能关闭。",
    "summons_state": "该部门的报到或反馈情况已有变化，请按当前情况办理。",
    "not_allowed": "您在此级别无权执行这个操作。",
    "not_a_colleague": "承办人须是本级在岗工作人员。",
    "unknown_reference": "所选部门不存在或已停用。",
    "level_not_moved": "请选择另一个级别。",
}


@work_bp.before_request
def _load_staff():
    check_csrf()
    worker = session_worker()
    if worker is None:
        return redirect(url_for("review_web.login", next=request.full_path if request.args else request.path))
    if worker.role not in workspace.WORK_ROLES:
        abort(403, description="工作台供社区、街道、区、民政局和职能部门的工作人员使用")
    g.worker, g.scope = worker, scope_for(worker)
    return None


@work_bp.after_request
def _headers(resp):
    return strict_headers(resp)


@work_bp.errorhandler(HTTPException)
def _http_error(exc):
    return render_template("review_error.html", code=exc.code, message=exc.description), exc.code


@work_bp.get("/")
def queue():
    mine = request.args.get("mine") == "1"
    rows = workspace.queue(g.scope, mine=mine)
    return render_template("work_queue.html", rows=rows, mine=mine)


@work_bp.route("/case/<uuid:flag_id>", methods=["GET", "POST"])
def case(flag_id):
    flag, _ = workspace.load_case(g.scope, flag_id)
    if flag is None:
        abort(404, description="您的工作范围内没有这个案件")
    message, status = None, 200
    if request.method == "POST":
        try:
            workspace.act(g.scope, flag, request.form)
        except Conflicting:
            # the case moved on while the form was open: show it as it is now
            message, status = "案件在您打开页面后已有变化，下面是它现在的情况，请重新确认后再办理。", 409
        except InvalidChange as exc:
            message, status = _REFUSALS.get(exc.code) or f"无法办理：{exc.message}", 422
        except (OutOfScope, NotFound):
            abort(404, description="您的工作范围内没有这个案件")
        except Forbidden as exc:
            abort(403, description=f"无权办理：{exc.message}")
        else:
            return redirect(url_for("work_web.case", flag_id=flag_id, done=request.form.get("action")))
        flag, _ = workspace.load_case(g.scope, flag_id)
        if flag is None:
            abort(404, description="您的工作范围内没有这个案件")
    c = workspace.case_page(g.scope, flag)
    return render_template("work_case.html", c=c, message=message, done=request.args.get("done")), status
