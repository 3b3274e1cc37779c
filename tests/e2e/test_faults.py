"""A connection cut at any point of a sync loses nothing and duplicates nothing.

The cuts are made in the device's transport: "after" means the server handled the request and
committed, and only its answer was lost, the hardest case for a naive client.
"""
import pytest

from client_sdk import ServerUnavailable
from server.models import ChangeLog, Household, Person, Visit
from tests.e2e.conftest import day_of_work, snapshot


def _server_holds_exactly(live, device_id, households, persons, visits):
    assert live.count(Household) == households
    assert live.count(Person) == persons
    assert live.count(Visit) == visits
    assert live.count(ChangeLog, device_id=device_id) == households + persons + visits


def test_lost_push_response_is_retried_and_answered_already_applied(live, device):
    a = device("tab-a", "w1", retries=3)
    day_of_work(a, live.city["G1"], 300)                      # 1,200 changes: three batches
    a.cutter.cut("/sync/exchange", skip=1, when="after")      # the 2nd batch lands, its answer is lost
    report = a.sync()

    assert a.cutter.cuts == 1 and a.transport.stats["retries"] == 1
    assert report.pushed == 1200 and report.already_applied == 500 and report.rejected == 0
    assert a.pending_changes() == []
    _server_holds_exactly(live, "tab-a", 300, 600, 300)


@pytest.mark.parametrize("when", ["after", "before"])
def test_push_cut_without_retries_resumes_on_next_sync(live, device, when):
    a = device("tab-a", "w1", retries=0)
    day_of_work(a, live.city["G1"], 300)
    a.cutter.cut("/sync/exchange", skip=1, when=when)
    with pytest.raises(ServerUnavailable):
        a.sync()

    assert len(a.pending_changes()) == 700                    # only the 1st batch was acknowledged
    landed = 1000 if when == "after" else 500
    assert live.count(ChangeLog, device_id="tab-a") == landed

    report = a.sync()
    assert report.already_applied == landed - 500 and report.pushed == 700
    assert a.pending_changes() == []
    _server_holds_exactly(live, "tab-a", 300, 600, 300)


def test_pull_cut_mid_way_resumes_from_the_stored_cursor(live, device):
    a = device("tab-a", "w1")
    day_of_work(a, live.city["G1"], 300)
    a.raise_flag(a.households()[0]["id"], "elderly_alone", "green")
    a.sync()

    b = device("tab-b", "w1", retries=0, page_size=250)
    b.cutter.cut("/sync/exchange", skip=2, when="after")      # pages 1-2 applied, page 3 lost
    with pytest.raises(ServerUnavailable):
        b.sync()
    held = b.status()
    assert held["households"] + held["persons"] + held["visits"] + held["flags"] == 500

    report = b.sync()
    assert report.pulled == 1201 - 500
    assert snapshot(b) == snapshot(a)


def test_pull_cuts_with_retries_are_invisible(live, device):
    a = device("tab-a", "w1")
    day_of_work(a, live.city["G1"], 100)
    a.sync()
    b = device("tab-b", "w1", retries=2, page_size=100)
    b.cutter.cut("/sync/exchange", when="before")
    b.cutter.cut("/sync/exchange", skip=1, times=2, when="after")
    report = b.sync()
    assert b.cutter.cuts == 3 and report.pulled == 400
    assert snapshot(b) == snapshot(a)
