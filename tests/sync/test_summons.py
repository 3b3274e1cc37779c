"""Departments summoned to a case (街乡吹哨、部门报到) and a case's named holder, as the sync core
folds and checks them: each department's steps in order, a close that waits for every summoned
department, the holder left behind when the case changes level, and events of kinds a device
does not know folded without harm."""
import pytest

from sync.casework import summons_refusal
from sync.errors import InvalidChange
from sync.flags import check_event, fold_flag, fold_summons
from sync.replica import Policy, Trail, View, accept

D1, D2 = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
FLAG, HH, GRID = "33333333-3333-4333-8333-333333333333", "44444444-4444-4444-8444-444444444444", "g1"


def ev(i, action, **kw):
    return {"id": str(i), "stamp": f"{i:013d}-0000-a", "action": action, **kw}


def test_each_department_reports_in_then_answers_in_stamp_order():
    events = [ev(1, "summon", department_id=D1, note="请协助"), ev(2, "summon", department_id=D2, note="请协助"),
              ev(4, "answer", department_id=D1, note="已上门"), ev(3, "report_in", department_id=D1),
              ev(5, "release", department_id=D2)]
    assert fold_summons(sorted(events, key=lambda e: e["stamp"])) == {D1: "answered", D2: "released"}
    # an answer before any report-in changes nothing; an answered department may be summoned again
    assert fold_summons([ev(1, "summon", department_id=D1), ev(2, "answer", department_id=D1)]) == {D1: "summoned"}
    assert fold_summons([ev(1, "summon", department_id=D1), ev(2, "report_in", department_id=D1),
                         ev(3, "answer", department_id=D1), ev(4, "summon", department_id=D1)]) == {D1: "summoned"}


def test_a_close_waits_for_every_summoned_department():
    assert summons_refusal("close", None, {D1: "answered", D2: "reported_in"})
    assert summons_refusal("close", None, {D1: "answered", D2: "released"}) is None
    assert summons_refusal("report_in", D1, {}) and summons_refusal("answer", D1, {D1: "summoned"})
    assert summons_refusal("release", D1, {D1: "answered"})


@pytest.mark.parametrize("fields,field", [({"action": "assign"}, "assignee_id"),
                                          ({"action": "summon", "department_id": D1}, "note"),
                                          ({"action": "report_in"}, "department_id"),
                                          ({"action": "answer", "department_id": D1}, "note")])
def test_department_and_assign_events_say_what_they_name(fields, field):
    with pytest.raises(InvalidChange) as exc:
        check_event(fields)
    assert exc.value.field == field


def test_the_holder_is_the_last_assigned_at_the_current_level():
    events = [ev(1, "assign", assignee_id="a", at_level="community"), ev(2, "assign", assignee_id="b")]
    assert fold_flag("red", "community", events)["holder"] == "b"
    moved = events + [ev(3, "escalate", level="street")]
    assert fold_flag("red", "community", moved)["holder"] is None
    # an assignment made at the community after the case left it does not name a street holder
    late = moved + [ev(4, "assign", assignee_id="c", at_level="community")]
    assert fold_flag("red", "community", late)["holder"] is None


def test_an_event_kind_a_device_does_not_know_changes_nothing():
    events = [ev(1, "confirm", from_state="reported"), ev(2, "a_future_action", department_id=D1)]
    view = fold_flag("red", "community", events)
    assert view["state"] == "confirmed" and view["summons"] == {} and view["concurrent"] == []


class _Staff(Policy):
    role = "street"


def _view(summons):
    view = View()
    view.put("household", HH, {"grid_id": GRID}, {})
    view.put("flag", FLAG, {"household_id": HH, "colour": "red", "level": "community"}, {})
    view.records["flag"][FLAG].grid = GRID
    actions = [("escalate", "street")] + [(a, None, d) for d, steps in summons.items() for a in steps]
    view.trails[FLAG] = Trail.of("community", "street", actions, state="verified")
    return view


def _change(i, fields):
    return {"change_id": f"00000000-0000-4000-8000-{i:012d}", "entity": "flag_event",
            "entity_id": f"00000000-0000-4000-9000-{i:012d}", "stamp": f"{i:013d}-0000-web", "fields": fields}


def test_the_engine_refuses_a_close_with_a_department_owing_its_answer():
    view = _view({D1: ["summon", "report_in"]})
    assert view.trails[FLAG].summons == {D1: "reported_in"}
    out = accept([_change(1, {"flag_id": FLAG, "action": "close", "from_state": "verified"})], view, _Staff())
    assert out.results[0]["status"] == "rejected" and out.results[0]["reason"]["code"] == "summons_open"
    out = accept([_change(2, {"flag_id": FLAG, "action": "release", "department_id": D1}),
                  _change(3, {"flag_id": FLAG, "action": "close", "from_state": "verified"})], view, _Staff())
    assert [r["status"] for r in out.results] == ["applied", "applied"]


def test_the_engine_keeps_each_department_to_its_steps():
    view = _view({D1: ["summon"]})
    out = accept([_change(1, {"flag_id": FLAG, "action": "release", "department_id": D2})], view, _Staff())
    assert out.results[0]["reason"]["code"] == "summons_state"
    dept = type("Dept", (Policy,), {"role": "department"})()
    out = accept([_change(2, {"flag_id": FLAG, "action": "answer", "department_id": D1, "note": "x"}),
                  _change(3, {"flag_id": FLAG, "action": "report_in", "department_id": D1}),
                  _change(4, {"flag_id": FLAG, "action": "answer", "department_id": D1, "note": "已办"})], view, dept)
    assert [r["status"] for r in out.results] == ["rejected", "applied", "applied"]
    assert view.trails[FLAG].summons == {D1: "answered"}
    # street staff do not report in for a department, nor a department summon
    out = accept([_change(5, {"flag_id": FLAG, "action": "report_in", "department_id": D1})], view, _Staff())
    assert out.results[0]["reason"]["code"] == "not_allowed"
    out = accept([_change(6, {"flag_id": FLAG, "action": "summon", "department_id": D2, "note": "x"})], view, dept)
    assert out.results[0]["reason"]["code"] == "not_allowed"
