"""A device offline for a week catches up with hundreds of changes made by another."""
from tests.e2e.conftest import CHECKS_OK, day_of_work, snapshot


def test_device_offline_for_a_week_catches_up(live, device):
    a = device("tab-a", "w1")
    b = device("tab-b", "w1")
    staff = device("tab-c", "comm1")      # community staff confirm what workers report
    first = day_of_work(a, live.city["G1"], 20)
    a.sync(), b.sync()

    # B goes dark for a week; A works every day and syncs every evening.
    for day in range(7):
        ids = day_of_work(a, live.city["G1"], 25, persons_each=2, visits_each=1)
        a.update_household(first[day], note=f"第{day + 1}天复访")
        fid = a.raise_flag(ids[0], "illness_poverty", "yellow")
        a.sync()
        staff.sync()
        staff.move_flag(fid, "confirm")
        staff.sync()
    # Meanwhile B, offline, kept working too.
    b.update_household(first[0], phone="13700137000")
    b.record_visit(first[1], dict(CHECKS_OK, food={"status": "concern", "answers": {"meals_per_day": 1}}))
    gone = b.add_person(first[2], "临时登记")
    b.delete_person(gone)

    report = b.sync()
    assert report.pushed == 4 and report.rejected == 0
    a.sync()
    assert report.pulled >= 7 * (25 * 4 + 3)
    a.sync()
    assert snapshot(a) == snapshot(b)
    assert a.household(first[0])["phone"] == "13700137000"
    assert b.household(first[0])["note"] == "第1天复访"
    assert len(b.households()) == 20 + 7 * 25
    assert len(b.flags(state="confirmed")) == 7
    assert gone not in {p["id"] for p in b.persons(first[2])}
    assert {p["id"]: p.get("deleted") for p in a.persons(first[2], include_deleted=True)}[gone] is True
