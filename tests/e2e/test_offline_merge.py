"""Two devices edit the same household offline, then sync: the merge the design promises."""
import pytest

from client_sdk import Forbidden

from tests.e2e.conftest import CHECKS_OK


def _shared_household(live, device):
    a = device("tab-a", "w1")
    b = device("tab-b", "w12")      # w12 holds G1 too
    hid = a.create_household(live.city["G1"], "和平路1号", head_name="王伟", phone="13800138000")
    a.add_person(hid, "王伟", relation="head", id_number="11010519491231002x")
    a.sync()
    b.sync()
    assert b.household(hid)["head_name"] == "王伟"
    return a, b, hid


def test_edits_to_different_fields_both_survive(live, device):
    a, b, hid = _shared_household(live, device)
    a.update_household(hid, phone="13900139000")          # offline on tablet A
    b.update_household(hid, note="独居老人，行动不便")        # offline on tablet B
    b.record_visit(hid, CHECKS_OK, note="一切正常")
    a.sync(), b.sync(), a.sync()

    for tablet in (a, b):
        h = tablet.household(hid)
        assert (h["phone"], h["note"]) == ("13900139000", "独居老人，行动不便")
        assert len(tablet.visits(hid)) == 1
        assert tablet.pending_changes() == []
    server = live.get(f"/households/{hid}", "w1")
    assert (server["phone"], server["note"]) == ("13900139000", "独居老人，行动不便")
    assert live.get("/conflicts", "comm1") == []


def test_same_field_has_one_winner_everywhere_and_a_conflict_for_review(live, device):
    a, b, hid = _shared_household(live, device)
    a.update_household(hid, head_name="王伟(户主)")
    b.update_household(hid, head_name="王卫")               # later stamp: B wins
    report_a = a.sync()
    report_b = b.sync()
    a.sync()

    assert report_a.conflicts == 0 and report_b.conflicts == 1
    assert a.household(hid)["head_name"] == b.household(hid)["head_name"] == "王卫"
    assert live.get(f"/households/{hid}", "w1")["head_name"] == "王卫"
    conflicts = live.get("/conflicts", "comm1")
    assert [(c["field"], c["kept_value"], c["lost_value"]) for c in conflicts] == [("head_name", "王卫", "王伟(户主)")]
    assert live.get("/conflicts", "w1") == conflicts


def test_flag_moved_on_two_devices_keeps_every_event(live, device):
    a, b, hid = _shared_household(live, device)
    fid = a.raise_flag(hid, "elderly_alone", "yellow", note="独居")
    with pytest.raises(Forbidden):
        a.move_flag(fid, "confirm")                          # confirming is community staff's
    c1, c2 = device("tab-c1", "comm1"), device("tab-c2", "comm1")
    a.sync(), c1.sync(), c2.sync()
    c1.move_flag(fid, "confirm", note="社区已确认")
    c2.move_flag(fid, "reject", note="不符合条件")            # both made from "reported"
    c1.sync(), c2.sync(), c1.sync(), a.sync(), b.sync()

    fa, fb = a.flag(fid), c2.flag(fid)
    assert fa["state"] == fb["state"] == "rejected"          # the later event wins
    assert len(fa["events"]) == len(fb["events"]) == 2
    assert fa["concurrent"] == fb["concurrent"] and len(fa["concurrent"]) == 1
    assert live.get(f"/flags/{fid}", "w1")["state"] == "rejected"
