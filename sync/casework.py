"""Casework rules shared by server and device: who may move a flag at which level, the deadline
a flag must be handled by (限时办结), when it escalates (分级流转), and which households are due a
re-visit. Pure functions over plain data; the times are passed in, never read from a clock.
"""
import datetime as dt

from .flags import LEVELS, TRANSITIONS

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


def may_act(role, action, level):
    """Whether ``role`` may take ``action`` on a flag now at ``level``."""
    if role == "system":
        return True
    if LEVEL_ROLE.get(level) == role and action != "verify":
        return True
    return action in _FIELD_ACTIONS.get(role, ())


def may_raise(role, level):
    """Whether ``role`` may raise a new flag at ``level``: only at its own level."""
    return role == "system" or RAISE_LEVEL.get(role) == level


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


def allowed_actions(role, state, level):
    """The transitions a person in ``role`` can offer on a flag (for buttons on a screen)."""
    return [a for a, (starts, _) in TRANSITIONS.items() if state in starts and may_act(role, a, level)]
