"""Flag lifecycle (闭环处置): the transitions, and the state folded from a flag's event log.

Each transition event names the state its actor saw (``from_state``) and may name the level
(``at_level``); the server refuses an event whose ``from_state`` does not allow its action. A
flag's state, level and colour are each the value set by the latest-stamped event that sets
them, so a stale transition (older stamp, synced late) can never undo a later one; a transition
that a later one superseded, or that was made at a level the flag had already left, is kept in
the log and reported as ``concurrent`` for a person to look at.
"""
from .errors import InvalidChange

STATES = ("reported", "confirmed", "in_progress", "resolved", "verified", "closed", "rejected")
LEVELS = ("community", "street", "district", "bureau")
#: where a flag is raised unless it says otherwise: the community answers for its grids first
DEFAULT_LEVEL = LEVELS[0]
COLOURS = ("red", "yellow", "green")

#: action -> (states it may start from, state it leads to)
TRANSITIONS = {
    "confirm": (frozenset({"reported"}), "confirmed"),
    "start": (frozenset({"confirmed"}), "in_progress"),
    "resolve": (frozenset({"in_progress"}), "resolved"),
    "verify": (frozenset({"resolved"}), "verified"),
    "close": (frozenset({"verified"}), "closed"),
    "reject": (frozenset({"reported", "confirmed"}), "rejected"),
    "reopen": (frozenset({"resolved", "verified", "closed", "rejected"}), "reported"),
}
#: actions that change something other than the state
OTHER_ACTIONS = ("escalate", "route", "recolour", "note")
#: naming the person at the flag's level who holds it (承办人)
ASSIGN = "assign"
#: departments summoned to a case (街乡吹哨、部门报到): the summoner's summon and release, the
#: department's report-in (报到) and answer (反馈); each names the department
DEPARTMENT_ACTIONS = ("summon", "report_in", "answer", "release")
ACTIONS = tuple(TRANSITIONS) + OTHER_ACTIONS + (ASSIGN,) + DEPARTMENT_ACTIONS
#: a summons's state after each department action, and the states each may start from
SUMMONS_STEPS = {
    "summon": (frozenset({None, "answered", "released"}), "summoned"),
    "report_in": (frozenset({"summoned"}), "reported_in"),
    "answer": (frozenset({"reported_in"}), "answered"),
    "release": (frozenset({"summoned", "reported_in"}), "released"),
}
#: summons a case cannot be closed with
OPEN_SUMMONS = frozenset({"summoned", "reported_in"})


def check_event(fields):
    """Validate the shape of one flag event (already type-checked field by field)."""
    action = fields.get("action")
    if action in TRANSITIONS:
        allowed, _ = TRANSITIONS[action]
        frm = fields.get("from_state")
        if frm is None:
            raise InvalidChange(f"a {action} event must say the state it was made from", field="from_state")
        if frm not in allowed:
            raise InvalidChange(f"cannot {action} a flag that is {frm}", field="action")
        if action == "verify" and not fields.get("visit_id"):
            raise InvalidChange("verify needs the follow-up visit (visit_id)", field="visit_id")
    elif action in ("escalate", "route"):
        if fields.get("level") not in LEVELS:
            raise InvalidChange(f"{action} needs a level: one of {', '.join(LEVELS)}", field="level")
    elif action == "recolour":
        if fields.get("colour") not in COLOURS:
            raise InvalidChange(f"recolour needs a colour: one of {', '.join(COLOURS)}", field="colour")
    elif action == ASSIGN:
        if not fields.get("assignee_id"):
            raise InvalidChange("assign needs the person who will hold the case (assignee_id)", field="assignee_id")
    elif action in DEPARTMENT_ACTIONS:
        if not fields.get("department_id"):
            raise InvalidChange(f"{action} needs the department (department_id)", field="department_id")
        if action in ("summon", "answer") and not fields.get("note"):
            what = "the request to the department" if action == "summon" else "what the department did"
            raise InvalidChange(f"{action} needs a note: {what}", field="note")
    return fields


def fold_flag(initial_colour, initial_level, events):
    """Fold a flag's events (dicts with ``stamp`` and the event fields) into its current view.

    Returns ``{"state", "level", "colour", "state_stamp", "concurrent": [event ids], "holder",
    "summons"}``: ``holder`` the person last assigned at the current level (None once the flag
    moved to another level), ``summons`` each summoned department's state (see
    ``fold_summons``). Events may come in any order; actions this code does not know (a newer
    server's) are kept in the log and change nothing here.
    """
    state, level, colour, state_stamp = "reported", initial_level or DEFAULT_LEVEL, initial_colour, None
    holder = None
    ordered = sorted(events, key=lambda e: e["stamp"])
    transitions, elsewhere = [], []
    for ev in ordered:
        action = ev["action"]
        if ev.get("at_level") and ev["at_level"] != level:
            # made where the flag no longer was (an escalation its author had not heard of)
            elsewhere.append(ev.get("id"))
        if action in TRANSITIONS:
            transitions.append(ev)
            state, state_stamp = TRANSITIONS[action][1], ev["stamp"]
        elif action in ("escalate", "route"):
            if ev["level"] != level:
                holder = None       # a holder is a person at the level the flag has left
            level = ev["level"]
        elif action == "recolour":
            colour = ev["colour"]
        elif action == ASSIGN and (not ev.get("at_level") or ev["at_level"] == level):
            holder = ev.get("assignee_id")
    off = _off_the_path(transitions)
    return {"state": state, "level": level, "colour": colour, "state_stamp": state_stamp,
            "concurrent": off + [i for i in elsewhere if i not in off], "holder": holder,
            "summons": fold_summons(ordered)}


def fold_summons(events):
    """``{department id: state}`` from a flag's department events in stamp order: ``summoned``,
    ``reported_in`` (报到), ``answered`` (反馈) or ``released``. A step the state does not allow
    (a late copy) changes nothing; a department answered or released may be summoned again."""
    out = {}
    for ev in events:
        step = SUMMONS_STEPS.get(ev["action"])
        dept = ev.get("department_id")
        if step is None or not dept:
            continue
        starts, to = step
        if out.get(dept) in starts:
            out[dept] = to
    return out


def _off_the_path(transitions):
    """Transitions that are not on the path leading to the current state: walking back from the
    latest one, each step must start from the state the step before it led to. What is left
    was made on a view that a later transition superseded."""
    on_path, expected = set(), None
    for i in range(len(transitions) - 1, -1, -1):
        ev = transitions[i]
        if expected is None or TRANSITIONS[ev["action"]][1] == expected:
            on_path.add(i)
            expected = ev.get("from_state")
    return [ev.get("id") for i, ev in enumerate(transitions) if i not in on_path]
