"""Collect once, enter once, link automatically: on the device, a family is captured once and
reused; look-alikes are asked about, never silently joined."""
from tests.e2e.conftest import CHECKS_OK


def test_the_same_person_typed_again_is_linked_and_filled_in(live, device):
    tablet = device("tab-a", "w1")
    tablet.sync()
    home = tablet.enter_household(live.city["G1"], "和平路12号", building="3栋", room="301", head_name="王伟")
    assert home.outcome == "created"
    first = tablet.enter_person("王伟", home.id, id_number="11010519491231002X", relation="head")
    assert first.outcome == "created"
    # later, another visit: full-width digits, a homophone typing error, and a phone to add
    again = tablet.enter_person("王玮", home.id, id_number="１１０１０５１９４９１２３１００２ｘ", phone="13800138000")
    assert (again.outcome, again.id, again.filled) == ("linked", first.id, ["phone"])
    assert tablet.person(first.id)["phone"] == "13800138000"
    assert len(tablet.persons(home.id)) == 1
    # the same door typed differently (幢 for 栋, Chinese numerals) is the same household
    door = tablet.enter_household(live.city["G1"], "和平路十二号", building="3幢", room="301", head_name="王伟")
    assert (door.outcome, door.id) == ("linked", home.id)


def test_twins_and_namesakes_are_asked_about_or_kept_apart(live, device):
    tablet = device("tab-a", "w1")
    tablet.sync()
    home = tablet.create_household(live.city["G1"], "幸福街5号")
    a = tablet.add_person(home, "李明", birth_date="2012-03-04", gender="M", relation="child")
    twin = tablet.enter_person("李亮", home, birth_date="2012-03-04", gender="M", relation="child")
    assert twin.outcome in ("created", "maybe") and twin.id != a
    father = tablet.enter_person("李明", home, birth_date="1982-07-09", gender="M", relation="head")
    assert father.outcome != "linked"
    namesake = tablet.enter_person("李明", home, gender="M")
    assert namesake.outcome == "maybe" and a in [c[0] for c in namesake.candidates]


def test_a_person_given_an_address_attaches_to_the_household_at_that_door(live, device):
    tablet = device("tab-a", "w1")
    tablet.sync()
    grid = live.city["G1"]
    head = tablet.enter_person("赵芳", grid_id=grid, address="光明巷7号", relation="head")
    assert head.outcome == "created"
    (household,) = tablet.households(grid_id=grid)
    assert household["head_name"] == "赵芳"
    child = tablet.enter_person("赵小宝", grid_id=grid, address="光明巷七号", relation="child")
    assert child.outcome == "created"
    assert {p["name"] for p in tablet.persons(household["id"])} == {"赵芳", "赵小宝"}
    # picked, not retyped, for a visit and a flag
    tablet.record_visit(household["id"], CHECKS_OK)
    tablet.raise_flag(household["id"], "children_in_difficulty", "yellow", person_id=child.id)
    report = tablet.sync()
    assert report.rejected == 0
    assert live.get(f"/households/{household['id']}/persons", "w1")[0]["household_id"] == household["id"]
