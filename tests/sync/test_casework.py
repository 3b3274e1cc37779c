"""Casework rules as pure functions: who may move a flag at which level, deadlines by colour and
level (限时办结), the next level up (分级流转), when a flagged household is due a visit, and the
buttons a person is offered."""
import datetime as dt

import pytest

from sync.casework import (DEFAULT_DEADLINE_HOURS, allowed_actions, deadline, deadline_hours, is_overdue,
                           may_act, next_level, revisit_due)
from sync.flags import ACTIONS, LEVELS, STATES, TRANSITIONS

T0 = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.timezone.utc)
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)

ROLES = ("grid_worker", "community", "street", "district", "bureau", "admin", "department", "system")
STAFF = ("street", "district", "bureau")
OPEN = ("reported", "confirmed", "in_progress")
NOT_RUNNING = ("resolved", "verified", "closed", "rejected")


def expected(role, action, level):
    """The permission table, written out from the design rather than from the code."""
    if role == "system":
        return True
    if role == "department":
        # a summoned department reports in, answers and notes, at whatever level the case is
        return action in ("report_in", "answer", "note")
    if action in ("report_in", "answer"):
        return False
    if action in ("summon", "release"):
        # 街乡吹哨: the street and above summon departments, at their own level
        return role in STAFF and level == role
    if role == "grid_worker":
        return action in ("verify", "note")
    if role == "community":
        # their own level: everything; anywhere in their area: the hands-on steps
        return level == "community" or action in ("start", "resolve", "verify", "reopen", "note")
    if role in STAFF:
        # only at their own level, and never verify: that takes a follow-up visit at the door
        return level == role and action != "verify"
    return False    # admin and anything unknown


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("role", ROLES)
def test_may_act_follows_the_permission_table(role, level):
    got = {a: may_act(role, a, level) for a in ACTIONS}
    assert got == {a: expected(role, a, level) for a in ACTIONS}


def test_a_grid_worker_may_only_verify_or_note_at_any_level():
    for level in LEVELS:
        allowed = {a for a in ACTIONS if may_act("grid_worker", a, level)}
        assert allowed == {"verify", "note"}


def test_community_staff_confirm_only_community_level_flags():
    assert may_act("community", "confirm", "community")
    assert may_act("community", "escalate", "community")
    assert may_act("community", "close", "community")
    for level in ("street", "district", "bureau"):
        for action in ("confirm", "reject", "close", "escalate", "route", "recolour"):
            assert not may_act("community", action, level), (action, level)
        for action in ("start", "resolve", "verify", "reopen"):
            assert may_act("community", action, level), (action, level)


def test_street_staff_act_only_on_street_level_flags():
    assert may_act("street", "confirm", "street")
    assert may_act("street", "escalate", "street")
    assert not may_act("street", "verify", "street")
    for level in ("community", "district", "bureau"):
        assert not any(may_act("street", a, level) for a in ACTIONS), level


def test_the_bureau_acts_only_at_bureau_level_and_the_system_always():
    assert may_act("bureau", "confirm", "bureau") and may_act("bureau", "close", "bureau")
    assert not any(may_act("bureau", a, lvl) for a in ACTIONS for lvl in ("community", "street", "district"))
    assert all(may_act("system", a, lvl) for a in ACTIONS for lvl in LEVELS)
    assert not any(may_act("admin", a, lvl) for a in ACTIONS for lvl in LEVELS)
    assert not may_act("nobody", "confirm", "community")
    assert not may_act("community", "confirm", "nowhere")


def test_next_level_climbs_to_the_bureau_and_stops():
    assert [next_level(lvl) for lvl in LEVELS] == ["street", "district", "bureau", None]
    with pytest.raises(ValueError):
        next_level("galaxy")


@pytest.mark.parametrize("colour,hours", [("red", 24), ("yellow", 72), ("green", 168)])
def test_the_flat_default_gives_each_colour_its_hours_at_every_level(colour, hours):
    assert DEFAULT_DEADLINE_HOURS[colour] == hours
    for level in LEVELS:
        assert deadline_hours(colour, level) == hours
        assert deadline("reported", colour, level, T0) == T0 + hours * H


def test_a_flat_city_table_replaces_the_default_for_its_colours_only():
    table = {"red": 6}
    assert [deadline_hours("red", lvl, table) for lvl in LEVELS] == [6, 6, 6, 6]
    assert deadline_hours("yellow", "street", table) == 72       # not in the city's table: default
    assert deadline_hours("purple", "street", table) == 72       # unknown colour: 72 h


def test_a_per_level_table_gives_each_level_its_own_time():
    table = {"red": {"community": 12, "street": 24, "district": 48}, "yellow": {"community": 48}}
    assert [deadline_hours("red", lvl, table) for lvl in LEVELS] == [12, 24, 48, 48]  # missing: longest
    assert deadline_hours("yellow", "bureau", table) == 48
    assert deadline_hours("green", "community", table) == 168
    assert deadline("confirmed", "red", "street", T0, table) == T0 + 24 * H
    assert deadline("in_progress", "red", "community", T0, table) == T0 + 12 * H


@pytest.mark.parametrize("state", STATES)
def test_the_clock_runs_only_while_a_flag_is_open(state):
    due = deadline(state, "red", "community", T0)
    assert due == (T0 + 24 * H if state in OPEN else None)
    assert deadline(state, "red", "community", None) is None


def test_overdue_is_strictly_after_the_deadline():
    assert not is_overdue("reported", "red", "community", T0, T0 + 24 * H)
    assert is_overdue("reported", "red", "community", T0, T0 + 24 * H + dt.timedelta(seconds=1))
    assert not is_overdue("reported", "yellow", "community", T0, T0 + 71 * H)
    assert is_overdue("in_progress", "yellow", "street", T0, T0 + 73 * H)
    table = {"red": {"community": 2, "street": 24}}
    assert is_overdue("confirmed", "red", "community", T0, T0 + 3 * H, table)
    assert not is_overdue("confirmed", "red", "street", T0, T0 + 3 * H, table)


def test_a_flag_not_open_or_at_the_top_is_never_overdue():
    late = T0 + 365 * D
    for state in NOT_RUNNING:
        assert not is_overdue(state, "red", "community", T0, late), state
    assert not is_overdue("reported", "red", "bureau", T0, late)    # nowhere to escalate to
    assert not is_overdue("reported", "red", "community", None, late)


@pytest.mark.parametrize("colour,days", [("red", 3), ("yellow", 14), ("green", 30)])
def test_an_open_flag_is_revisited_every_few_days_by_colour(colour, days):
    for state in OPEN:
        assert revisit_due(state, colour, T0, None, T0) == (T0 + days * D, "revisit")


def test_the_revisit_counts_from_the_later_of_raising_and_the_last_visit():
    assert revisit_due("reported", "red", T0, T0 + 2 * D, T0) == (T0 + 5 * D, "revisit")
    # a visit before the flag was raised does not bring the re-visit forward
    assert revisit_due("confirmed", "red", T0, T0 - 10 * D, T0) == (T0 + 3 * D, "revisit")


def test_a_city_revisit_table_is_used_and_unknown_colours_get_two_weeks():
    table = {"red": 1}
    assert revisit_due("reported", "red", T0, None, T0, table) == (T0 + D, "revisit")
    assert revisit_due("reported", "yellow", T0, None, T0, table) == (T0 + 14 * D, "revisit")


def test_a_resolved_flag_needs_its_verifying_visit_from_when_it_was_resolved():
    resolved_at = T0 + 5 * D
    assert revisit_due("resolved", "green", T0, T0 + D, resolved_at) == (resolved_at, "verify")
    assert revisit_due("resolved", "red", T0, None, resolved_at) == (resolved_at, "verify")


@pytest.mark.parametrize("state", ["verified", "closed", "rejected"])
def test_a_settled_flag_needs_no_visit(state):
    assert revisit_due(state, "red", T0, None, T0 + D) is None


@pytest.mark.parametrize("role,state,level,actions", [
    ("grid_worker", "reported", "community", []),
    ("grid_worker", "resolved", "community", ["verify"]),
    ("grid_worker", "resolved", "bureau", ["verify"]),
    ("community", "reported", "community", ["confirm", "reject"]),
    ("community", "reported", "street", []),
    ("community", "confirmed", "community", ["start", "reject"]),
    ("community", "confirmed", "street", ["start"]),
    ("community", "resolved", "community", ["verify", "reopen"]),
    ("community", "verified", "community", ["close", "reopen"]),
    ("community", "closed", "district", ["reopen"]),
    ("street", "reported", "community", []),
    ("street", "reported", "street", ["confirm", "reject"]),
    ("street", "resolved", "street", ["reopen"]),
    ("district", "in_progress", "district", ["resolve"]),
    ("bureau", "reported", "street", []),
    ("bureau", "reported", "bureau", ["confirm", "reject"]),
    ("admin", "reported", "community", []),
    ("system", "resolved", "street", ["verify", "reopen"]),
])
def test_allowed_actions_offers_the_transitions_the_role_may_take_now(role, state, level, actions):
    assert allowed_actions(role, state, level) == actions


def test_allowed_actions_agrees_with_may_act_and_the_transitions_everywhere():
    for role in ROLES:
        for state in STATES:
            for level in LEVELS:
                want = [a for a, (starts, _) in TRANSITIONS.items() if state in starts and expected(role, a, level)]
                assert allowed_actions(role, state, level) == want, (role, state, level)
