"""Casework rules shared by server and device: who may move a flag at which level, the deadline
a flag must be handled by (限时办结), when it escalates (分级流转), and which households are due a
re-visit. Pure functions over plain data; the times are passed in, never read from a clock.
"""
import datetime as dt

from .flags import LEVELS, OPEN_SUMMONS, SUMMONS_STEPS, TRANSITIONS

#: states in which the deadline runs; a resolved flag waits for its verifying visit instead
OPEN_STATES = ("reported", "confirmed", "in_progress")
ACTIVE_STATES = OPEN_STATES + ("resolved", "verified")

#: default hours to handle a flag at each level, by colour (a city may set its own per level)
DEFAULT_DEADLINE_HOURS = {"red": 24, "yellow": 72, "green": 168}
#: default days between re-visits of a flagged household, by colour
DEFAULT_REVISIT_DAYS = {"red": 3, "yellow": 14, "green": 30}

#: the staff role that answers for a flag at each level
LEVEL_ROLE = {"community": "community", "street": "street", "district": "district", "bureau": "bureau"}

#: actions the worker on the ground may take, besides the level's own staff
_FIELD_ACTIONS = {
    "grid_worker": frozenset({"verify", "note"}),
    "community": frozenset({"resolve", "verify", "reopen", "note", "start"}),
}
RAISERS = frozenset({"grid_worker", "community"})
#: the level each raiser raises a flag at: the community, which answers for its grids first (a
#: case goes higher only by an escalate or route event, made by someone allowed to make it)
RAISE_LEVEL = {"grid_worker": "community", "community": "community"}
#: the levels whose staff may summon departments (街乡吹哨: the street and above)
SUMMON_LEVELS = frozenset({"street", "district", "bureau"})
#: what only a summoned department's staff do, and all they do besides notes
DEPARTMENT_ONLY = frozenset({"report_in", "answer"})
DEPARTMENT_ROLE = "department"


def may_act(role, action, level):
    """Whether ``role`` may take ``action`` on a flag now at ``level``. (A department's staff
    act only on cases their department is summoned to: the server's scope checks that.)"""
    if role == "system":
        return True
    if role == DEPARTMENT_ROLE:
        return action in DEPARTMENT_ONLY or action == "note"
    if action in DEPARTMENT_ONLY:
        return False
    if action in ("summon", "release") and level not in SUMMON_LEVELS:
        return False
    if role is not None and LEVEL_ROLE.get(level) == role and action != "verify":
        return True
    return action in _FIELD_ACTIONS.get(role, ())


def may_raise(role, level):
    """Whether ``role`` may raise a new flag at ``level``: only at its own level."""
    return role == "system" or RAISE_LEVEL.get(role) == level
def summons_refusal(action, department_id, summons):
    """Why a department event or a close cannot be taken with the case's ``summons``
    (``{department id: state}``, sync/flags.py ``fold_summons``), or None when it can."""
    if action == "close":
        waiting = sorted(d for d, st in summons.items() if st in OPEN_SUMMONS)
        if waiting:
            return f"{len(waiting)} summoned department(s) have not answered or been released"
        return None
    step = SUMMONS_STEPS.get(action)
    if step is None:
        return None
    now = summons.get(department_id)
    if now not in step[0]:
        return (f"cannot {action}: the department is {now.replace('_', ' ')}" if now
                else f"cannot {action}: the department was never summoned to this case")
    return None


def next_level(level):
    i = LEVELS.index(level)
    return LEVELS[i + 1] if i + 1 < len(LEVELS) else None


def deadline_hours(colour, level, table=None):
    """Hours allowed at ``level`` for a flag of ``colour``. ``table`` maps a colour to hours, or
    to ``{level: hours}`` for cities that give each level its own time."""
    entry = (table or DEFAULT_DEADLINE_HOURS).get(colour, DEFAULT_DEADLINE_HOURS.get(colour, 72))
    return entry.get(level, max(entry.values())) if isinstance(entry, dict) else entry


def deadline(state, colour, level, level_since, table=None):
    """When the flag must be handled by at its level, or None when its clock is not running."""
    if state not in OPEN_STATES or level_since is None:
        return None
    return level_since + dt.timedelta(hours=deadline_hours(colour, level, table))


def is_overdue(state, colour, level, level_since, now, table=None):
    due = deadline(state, colour, level, level_since, table)
    return due is not None and due < now and next_level(level) is not None


def revisit_due(flag_state, colour, raised_at, last_visit_at, changed_at, table=None):
    """``(due, why)`` for a flagged household's next visit, or None if none is needed.

    A resolved flag needs its verifying visit as soon as it was resolved (``changed_at``); an
    open one is re-visited every few days by colour, counted from the last visit or from when
    the flag was raised, whichever is later."""
    if flag_state == "resolved":
        return changed_at, "verify"
    if flag_state not in OPEN_STATES:
        return None
    days = (table or DEFAULT_REVISIT_DAYS).get(colour, DEFAULT_REVISIT_DAYS.get(colour, 14))
    since = max(d for d in (last_visit_at, raised_at) if d is not None)
    return since + dt.timedelta(days=days), "revisit"


def allowed_actions(role, state, level, summons=None):
    """The transitions a person in ``role`` can offer on a flag (for buttons on a screen); a
    close waits for every summoned department (``summons``) to answer or be released."""
    return [a for a, (starts, _) in TRANSITIONS.items() if state in starts and may_act(role, a, level)
            and not (a == "close" and summons and summons_refusal("close", None, summons))]
