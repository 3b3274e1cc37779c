"""A visit is not dated before its household existed (sync/inputs.py ``not_before_household``,
applied by the engine in sync/replica.py), less the clock skew a device is allowed: judged on
the household's stamps, which every replica that may write the visit holds."""
import datetime as dt
import uuid

import pytest

from sync import inputs
from sync.checklist import CHECK_KEYS
from sync.errors import InvalidChange
from sync.replica import SYSTEM, Policy, View, accept

DEVICE = Policy()

GRID = "11111111-1111-4111-8111-111111111111"
BORN = int(dt.datetime(2026, 11, 30, 12, tzinfo=dt.timezone.utc).timestamp() * 1000)
NOW = BORN + 86_400_000
HOUR = 3_600_000


def _iso(ms):
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _stamp(ms, node="tab-1", counter=0):
    return f"{ms:013d}-{counter:04d}-{node}"


def _change(entity, eid, fields, stamp):
    return {"change_id": str(uuid.uuid4()), "entity": entity, "entity_id": eid, "stamp": stamp, "fields": fields}


def _visit(hid, at_ms, stamp_ms):
    checks = {k: {"status": "ok"} for k in CHECK_KEYS}
    return _change("visit", str(uuid.uuid4()), {"household_id": hid, "visited_at": _iso(at_ms),
                                                 "checklist_version": 1, "checks": checks}, _stamp(stamp_ms))


def _held(stamps):
    view, hid = View(), str(uuid.uuid4())
    view.put("household", hid, {"grid_id": GRID, "address": "和平路1号"}, stamps)
    return view, hid


@pytest.mark.parametrize("before_ms, ok", [(0, True), (HOUR - 1000, True), (HOUR, True), (HOUR + 1000, False),
                                           (30 * 86_400_000, False)])
def test_a_visit_dated_before_its_household_is_refused_beyond_the_clock_allowance(before_ms, ok):
    view, hid = _held({"grid_id": _stamp(BORN), "address": _stamp(BORN)})
    out = accept([_visit(hid, BORN - before_ms, NOW)], view, DEVICE, now=NOW)
    if ok:
        assert out.results[0]["status"] == "applied"
    else:
        reason = out.results[0]["reason"]
        assert (out.results[0]["status"], reason["code"], reason["field"]) == ("rejected", "before_household",
                                                                              "visited_at")


def test_an_edit_of_the_household_does_not_move_when_it_came_into_being():
    # its address corrected a week later: the visit of the first day stands
    view, hid = _held({"grid_id": _stamp(BORN), "address": _stamp(BORN + 7 * 86_400_000), "note": _stamp(NOW)})
    assert accept([_visit(hid, BORN + 60_000, NOW)], view, DEVICE, now=NOW).results[0]["status"] == "applied"


def test_a_household_and_its_visit_made_in_one_batch_are_judged_together():
    hid = str(uuid.uuid4())
    made = _change("household", hid, {"grid_id": GRID, "address": "和平路1号"}, _stamp(BORN))
    late = _visit(hid, BORN - 2 * HOUR, BORN + 1)
    view = View()
    view.looked("household", [hid])
    out = accept([made, _visit(hid, BORN + 1000, BORN + 2), late], view, DEVICE, now=NOW)
    assert [r["status"] for r in out.results] == ["applied", "applied", "rejected"]


def test_a_household_stamped_by_a_clock_running_ahead_is_visited_by_one_that_is_right():
    # another tablet's clock ran 50 minutes ahead when it registered the household; this one,
    # right, visits it as soon as it has it: good faith, within the skew a clock is allowed
    view, hid = _held({"grid_id": _stamp(BORN + 50 * 60_000, "tab-2"), "address": _stamp(BORN + 50 * 60_000, "tab-2")})
    assert accept([_visit(hid, BORN, BORN)], view, DEVICE, now=NOW).results[0]["status"] == "applied"


def test_the_servers_own_import_may_date_a_visit_before_the_household_came_here():
    view, hid = _held({"grid_id": _stamp(BORN), "address": _stamp(BORN)})
    assert accept([_visit(hid, BORN - 30 * 86_400_000, NOW)], view, SYSTEM, now=NOW).results[0]["status"] == "applied"


def test_a_household_with_no_stamps_refuses_no_date():
    inputs.not_before_household("visited_at", "1990-01-01T00:00:00Z", inputs.household_born_ms({}))
    assert inputs.household_born_ms({"a": _stamp(5), "b": _stamp(3), "c": None}) == 3
    with pytest.raises(InvalidChange) as exc:
        inputs.not_before_household("visited_at", "1990-01-01T00:00:00Z", BORN)
    assert (exc.value.field, exc.value.code) == ("visited_at", "before_household")


def test_the_refusal_names_the_field():
    from sync import messages
    assert messages.message("before_household", "visited_at", {}, lambda s: s).startswith(
        "visit time is before the household was registered")
