"""Two devices that created the same family offline end up with one family after syncing; what
the matcher is not sure of goes to a review queue; a merge can be undone without losing data."""
import requests

from server.services.linker import link_pending
from tests.e2e.conftest import snapshot


def _link(live):
    with live.app.app_context():
        return link_pending()


def _post(live, path, username):
    return requests.post(f"{live.url}/api/v1{path}", timeout=10,
                         headers={"Authorization": "Bearer " + live.token(username)})


def _family(tablet, grid):
    home = tablet.create_household(grid, "和平路12号", building="3栋", room="301", head_name="王伟")
    tablet.add_person(home, "王伟", relation="head", id_number="11010519491231002X", birth_date="1949-12-31")
    tablet.add_person(home, "王小明", relation="grandchild", birth_date="2015-01-01", gender="M")
    return home


def test_the_same_family_entered_on_two_tablets_becomes_one(live, device):
    a, b = device("tab-a", "w1"), device("tab-b", "w12")
    a.sync(), b.sync()
    home_a = _family(a, live.city["G1"])
    home_b = _family(b, live.city["G1"])
    b.update_household(home_b, phone="13800138000")          # B knew the family's phone
    a.sync(), b.sync()
    assert len(live.get("/households", "comm1")) == 2
    c = device("tab-c", "w12")                                # goes offline before the merge
    c.sync()

    # the linker: the door and the members say it is one household, then one person each
    first = _link(live)
    second = _link(live)
    assert first["merged"] + second["merged"] == 3           # the household, 王伟 and 王小明
    a.sync(), b.sync()
    for tablet in (a, b):
        (home,) = tablet.households()
        assert home["id"] == home_a                          # entered first: it survives
        assert home["phone"] == "13800138000"                # filled in from the duplicate
        assert sorted(p["name"] for p in tablet.persons(home_a)) == ["王伟", "王小明"]
    merges = live.get("/duplicates/merges", "comm1")
    assert {m["entity"] for m in merges} == {"household", "person"}
    assert all(m["decided_by"] is None and m["reasons"] for m in merges)

    # C, offline since before the merge, edits its copy of 王伟 (merged away): the edit lands
    # on the survivor too
    (gone,) = [p for p in live.get(f"/households/{home_a}/persons", "w1") if p["name"] == "王伟"]
    old_wang = [m["merged_id"] for m in merges if m["entity"] == "person" and m["survivor_id"] == gone["id"]][0]
    c.update_person(old_wang, phone="13900139000")
    # and registers a newborn in its merged-away household: the server moves her to the survivor
    baby = c.add_person(home_b, "王小红", relation="grandchild", birth_date="2026-10-01", gender="F")
    c.sync(), a.sync(), b.sync(), c.sync()
    assert a.person(gone["id"])["phone"] == "13900139000"
    assert live.get(f"/persons/{gone['id']}", "w1")["phone"] == "13900139000"
    assert a.person(baby)["household_id"] == home_a
    assert snapshot(a) == snapshot(b) == snapshot(c)    # every record, the merged-away ones too


def test_a_likely_pair_waits_for_review_and_a_merge_can_be_undone(live, device):
    a, b = device("tab-a", "w1"), device("tab-b", "w12")
    a.sync(), b.sync()
    one = a.create_household(live.city["G1"], "幸福街5号")
    two = b.create_household(live.city["G1"], "幸福街五号")
    a.add_person(one, "李娜", gender="F", relation="head")
    b.add_person(two, "赵强", gender="M", relation="head")
    a.sync(), b.sync()
    stats = _link(live)
    assert stats["merged"] == 0 and stats["queued"] >= 1
    (review,) = [r for r in live.get("/duplicates/reviews", "comm1") if r["entity"] == "household"]
    assert live.get("/duplicates/reviews", "w3") == []         # not their area
    assert _post(live, f"/duplicates/reviews/{review['id']}/confirm", "comm1").status_code == 200
    assert _post(live, f"/duplicates/reviews/{review['id']}/confirm", "comm1").status_code == 409
    a.sync()
    assert len(a.households()) == 1

    (merge,) = [m for m in live.get("/duplicates/merges", "comm1") if m["entity"] == "household"]
    assert merge["decided_by"] is not None
    undo = _post(live, f"/duplicates/merges/{merge['id']}/undo", "comm1")
    assert undo.status_code == 200 and undo.json()["undone_at"]
    a.sync(), b.sync()
    for tablet in (a, b):
        assert {h["id"] for h in tablet.households()} == {one, two}
        assert [p["name"] for p in tablet.persons(one)] == ["李娜"]
        assert [p["name"] for p in tablet.persons(two)] == ["赵强"]
    _link(live)
    assert live.get("/duplicates/reviews", "comm1") == []      # a refused pair is not proposed again
    assert len(live.get("/households", "comm1")) == 2


def test_a_merge_leaves_no_conflicts_to_review(live, device):
    a, b = device("tab-a", "w1"), device("tab-b", "w12")
    a.sync(), b.sync()
    _family(a, live.city["G1"]), _family(b, live.city["G1"])
    a.sync(), b.sync()
    _link(live), _link(live)
    assert live.get("/conflicts", "comm1") == []
