"""The designed start-over path: a 410 ``resync_required`` drops the cursor, pulls everything
again and keeps every unsent change."""
import pytest

from client_sdk import ServerUnavailable
from tests.e2e.conftest import day_of_work, snapshot


def test_reset_change_log_makes_the_device_start_over(live, device):
    a = device("tab-a", "w1")
    b = device("tab-b", "w1", page_size=100)
    day_of_work(a, live.city["G1"], 30)
    a.sync(), b.sync()
    hid = b.households()[0]["id"]
    b.update_household(hid, note="离线修改")
    live.reset_epoch()

    report = b.sync()
    assert report.resynced and report.pushed == 1
    assert report.pulled == 30 * 4              # everything again, but for its own change (no echo)
    a.sync()
    assert snapshot(b) == snapshot(a)
    assert a.household(hid)["note"] == "离线修改"


def test_resync_keeps_the_outbox(live, device):
    a = device("tab-a", "w1", retries=0)
    day_of_work(a, live.city["G1"], 10)
    a.sync()
    hid = a.households()[0]["id"]
    a.update_household(hid, note="还没发出去")
    pending = a.pending_changes()
    live.reset_epoch()

    # The 410 comes before anything of the exchange is applied; the start-over exchange is then
    # cut, so the resync happens while the change is still waiting to be sent.
    a.cutter.cut("/sync/exchange", skip=1, when="before")
    with pytest.raises(ServerUnavailable):
        a.sync()
    assert a.pending_changes() == pending and a._store.get_meta("cursor") is None
    assert a.household(hid)["note"] == "还没发出去"

    report = a.sync()
    assert report.pulled == 40 and report.pushed == 1
    assert a.pending_changes() == []
    assert a.household(hid)["note"] == "还没发出去"          # the re-pulled older value did not win
    assert live.get(f"/households/{hid}", "w1")["note"] == "还没发出去"


def test_device_handed_to_another_worker_starts_clean(live, device):
    a = device("tab-a", "w1")
    day_of_work(a, live.city["G1"], 3)
    a.sync()
    a.login("w2", "pw-w2")                                   # nothing unsent: the tablet changes hands
    assert a.households() == [] and a.worker["username"] == "w2"
    a.sync()
    assert a.households() == []                               # w2 holds G2 only
