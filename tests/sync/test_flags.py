"""The flag lifecycle: legal transitions, and state folded from events in any order."""
import itertools

import pytest

from sync.errors import InvalidChange
from sync.flags import TRANSITIONS, check_event, fold_flag


def ev(i, action, frm=None, **kw):
    return {"id": str(i), "stamp": f"{i:013d}-0000-a", "action": action, "from_state": frm, **kw}


def test_the_whole_loop_closes():
    events = [ev(1, "confirm", "reported"), ev(2, "start", "confirmed"), ev(3, "resolve", "in_progress"),
              ev(4, "verify", "resolved"), ev(5, "close", "verified")]
    assert fold_flag("red", "community", events)["state"] == "closed"


@pytest.mark.parametrize("action,frm", [("close", "reported"), ("verify", "in_progress"), ("start", "reported"),
                                        ("reject", "closed")])
def test_illegal_transitions_are_refused(action, frm):
    with pytest.raises(InvalidChange):
        check_event({"action": action, "from_state": frm, "visit_id": "x"})


def test_verify_needs_a_visit():
    with pytest.raises(InvalidChange) as exc:
        check_event({"action": "verify", "from_state": "resolved"})
    assert exc.value.field == "visit_id"


def test_a_stale_transition_cannot_undo_a_later_one():
    # reject made offline at t3 on a "confirmed" view arrives after start (t4) and resolve (t5)
    events = [ev(1, "confirm", "reported"), ev(4, "start", "confirmed"), ev(5, "resolve", "in_progress"),
              ev(3, "reject", "confirmed")]
    view = fold_flag("yellow", "community", events)
    assert view["state"] == "resolved"
    assert view["concurrent"] == ["3"]   # the stale reject, not the transitions that won


def test_escalation_and_recolour_are_folded():
    events = [ev(1, "escalate", level="street"), ev(2, "recolour", colour="red"), ev(3, "escalate", level="district")]
    view = fold_flag("yellow", "community", events)
    assert (view["level"], view["colour"], view["state"]) == ("district", "red", "reported")


def test_order_of_arrival_does_not_matter():
    events = [ev(1, "confirm", "reported"), ev(2, "start", "confirmed"), ev(3, "escalate", level="street"),
              ev(4, "reject", "confirmed")]
    views = {repr(fold_flag("red", "community", list(p))) for p in itertools.permutations(events)}
    assert len(views) == 1


def test_every_state_but_closed_and_rejected_has_a_way_on():
    reachable_from = {s for allowed, _ in TRANSITIONS.values() for s in allowed}
    assert {"reported", "confirmed", "in_progress", "resolved", "verified", "closed", "rejected"} <= reachable_from
