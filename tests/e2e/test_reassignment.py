"""A worker's grids change: the next sync brings the new grids and drops the old, without a wipe."""
import pytest

from client_sdk import ServerUnavailable
from tests.e2e.conftest import day_of_work


def test_reassignment_brings_new_grids_and_drops_old_ones(live, device):
    w2 = device("tab-w2", "w2")
    g2_homes = set(day_of_work(w2, live.city["G2"], 5))
    w2.sync()
    a = device("tab-a", "w1")
    g1_homes = day_of_work(a, live.city["G1"], 4)
    a.sync()
    a.update_household(g1_homes[0], note="换网格前的修改")     # not yet sent when the grids change

    live.assign_grids("w1", ["G2"])
    report = a.sync()

    assert report.grids_changed and report.rejected == 1
    rejected = a.rejected_changes()
    assert rejected[0]["reason"]["code"] == "out_of_scope"
    assert rejected[0]["change"]["fields"] == {"note": "换网格前的修改"}
    held = {h["id"] for h in a.households()}
    # The new grid's households arrived and the old grid's left: the refused change was undone
    # (the tablet holds what the server holds); the worker still sees it, whole, in the refused list.
    assert held == g2_homes
    assert a.persons(g1_homes[1]) == [] and a.visits(g1_homes[1]) == []
    assert len(a.visits()) == 5 and a.visits(g1_homes[0]) == []

    live.assign_grids("w1", ["G1", "G2"])
    a.dismiss_rejected(rejected[0]["change"]["change_id"])
    report = a.sync()
    assert {h["id"] for h in a.households()} == g2_homes | set(g1_homes)
    assert len(a.persons(g1_homes[1])) == 2
    assert a.rejected_changes() == []


def test_community_staff_device_keeps_its_whole_community(live, device):
    w2 = device("tab-w2", "w2")
    day_of_work(w2, live.city["G2"], 2)
    w2.sync()
    staff = device("tab-comm1", "comm1")
    day_of_work(staff, live.city["G1"], 3)
    report = staff.sync()
    assert report.dropped == 0 and report.rejected == 0
    assert len(staff.households()) == 5
    assert staff.sync().pulled == 0


def test_reassignment_pull_cut_mid_way_resumes_without_starting_over(live, device):
    w2 = device("tab-w2", "w2")
    g2_homes = set(day_of_work(w2, live.city["G2"], 60))
    w2.sync()
    a = device("tab-a", "w1", retries=0, page_size=100)
    g1_homes = set(day_of_work(a, live.city["G1"], 10))
    a.sync()

    live.assign_grids("w1", ["G2"])
    a.cutter.cut("/sync/exchange", skip=1)                    # the 2nd page of the fresh pull is lost
    with pytest.raises(ServerUnavailable):
        a.sync()
    report = a.sync()
    assert report.pulled == 240 - 100                         # resumed after page 1, not from the start
    assert {h["id"] for h in a.households()} == g2_homes
    assert not g1_homes & {h["id"] for h in a.households(include_deleted=True)}
