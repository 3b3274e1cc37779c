"""The casework workspace (/work): a queue per person, one case with the actions this person
may take now, each a form (no script needed). Same log-in, session, CSRF and strict headers as
the review pages; the words come from the gettext catalogue, Chinese unless English is asked for."""
from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from flask_babel import gettext

from sync import messages
from sync.errors import Conflicting, Forbidden, InvalidChange, NotFound, OutOfScope
from sync.messages import N_

from ..services import workspace
from . import staff_pages

work_bp = Blueprint("work_web", __name__, url_prefix="/work", template_folder="templates")

#: what a refusal's code means to the person who pressed the button
_REFUSALS = {
    "summons_open": N_("A summoned department has not yet answered or been released: the case cannot be "
                       "closed yet."),
    "summons_state": N_("The department's reporting in or answer has changed: act on it as it is now."),
    "not_allowed": N_("You may not take this action at this level."),
    "not_a_colleague": N_("The person handling the case must be a serving member of staff at this level."),
    "unknown_reference": N_("The chosen department does not exist or is no longer active."),
    "level_not_moved": N_("Choose another level."),
}


def _refusal(exc):
    """What a refused form says to the person: the words for its code, the workspace's own prompt,
    or the catalogue's message for the code."""
    if exc.code in _REFUSALS:
        return gettext(_REFUSALS[exc.code])
    if exc.message in workspace.PROMPTS:
        return gettext(exc.message)
    said = messages.message(exc.code, exc.field, exc.params, gettext) or exc.message
    return gettext("Cannot do this: %(reason)s", reason=said)


def _not_here():
    abort(404, description=gettext("There is no such case within your work"))


staff_pages(work_bp, workspace.WORK_ROLES, N_("The workspace is for the staff of communities, streets, districts, "
                                              "the civil affairs bureau and the departments"))


@work_bp.get("/")
def queue():
    mine = request.args.get("mine") == "1"
    rows = workspace.queue(g.scope, mine=mine)
    return render_template("work_queue.html", rows=rows, mine=mine)


@work_bp.route("/case/<uuid:flag_id>", methods=["GET", "POST"])
def case(flag_id):
    flag, _ = workspace.load_case(g.scope, flag_id)
    if flag is None:
        _not_here()
    message, status = None, 200
    if request.method == "POST":
        try:
            workspace.act(g.scope, flag, request.form)
        except Conflicting:
            # the case moved on while the form was open: show it as it is now
            message, status = gettext("The case has changed since you opened the page. Here it is as it is "
                                      "now: check it again before acting."), 409
        except InvalidChange as exc:
            message, status = _refusal(exc), 422
        except (OutOfScope, NotFound):
            _not_here()
        except Forbidden as exc:
            said = messages.message(exc.code, exc.field, exc.params, gettext) or exc.message
            abort(403, description=gettext("You may not do this: %(reason)s", reason=said))
        else:
            return redirect(url_for("work_web.case", flag_id=flag_id, done=request.form.get("action")))
        flag, _ = workspace.load_case(g.scope, flag_id)
        if flag is None:
            _not_here()
    c = workspace.case_page(g.scope, flag)
    return render_template("work_case.html", c=c, message=message, done=request.args.get("done")), status
