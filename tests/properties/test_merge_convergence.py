"""Property: the same families entered on several real tablets offline, merged by the server's
linker at random moments while the tablets go on editing their copies (merged away or not),
moving members and raising flags on them, and syncing over a link that loses and repeats
requests, end with every tablet equal to the server, nothing accepted lost, no tablet change
refused, and one live household per family door and one live person per ID number."""
import random

from hypothesis import given, note
from hypothesis import strategies as st

from client_sdk.errors import SyncClientError
from server.services.linker import link_pending
from sync.clock import wall_clock_ms
from tests.city import make_city
from tests.properties.server import check_all
from tests.properties.tablets import Tablet, World
from tests.properties.test_convergence import PG_EXAMPLES, SQLITE_EXAMPLES, in_fresh_app, sync_settings

FAMILIES = [
    {"address": "和平路12号", "building": "3栋", "room": "301", "head_name": "王伟",
     "members": [{"name": "王伟", "id_number": "11010519491231002X", "birth_date": "1949-12-31", "gender": "M",
                  "relation": "head"},
                 {"name": "王小明", "birth_date": "2015-01-01", "gender": "M", "relation": "child",
                  "id_number": "110105201501010017"}]},
    {"address": "幸福街5号", "building": "1栋", "room": "102", "head_name": "李娜",
     "members": [{"name": "李娜", "id_number": "110101199001010023", "birth_date": "1990-01-01", "gender": "F",
                  "relation": "head"}]},
]
NOTES = ["独居", "低保户", "需复查", ""]
FAULTS = st.lists(st.sampled_from(["ok", "ok", "lost", "dup"]), max_size=3)


def _enter_family(tablet, grid, family):
    c = tablet.client
    hid = c.create_household(grid, **{k: v for k, v in family.items() if k != "members"})
    for member in family["members"]:
        c.add_person(hid, **member)
    return hid


def _work_on_a_copy(tablet, rng):
    """An edit, a flag on a member, or a member's visit, on whatever the tablet holds (a copy the
    server has merged away included: the tablet may not have heard)."""
    c = tablet.client
    households = tablet.ids("household")
    if not households:
        return "nothing to work on"
    hid = rng.choice(households)
    members = tablet.ids("person", household_id=hid)
    kind = rng.choice(("edit", "edit", "flag", "visit"))
    try:
        if kind == "flag":
            person = rng.choice(members) if members else None
            return f"{tablet.device_id}: red flag {c.raise_flag(hid, '困境儿童', 'red', person_id=person)[:8]}"
        if kind == "visit":
            return f"{tablet.device_id}: visit {c.record_visit(hid, {k: {'status': 'ok'} for k in CHECKS})[:8]}"
        entity, rid = ("person", rng.choice(members)) if members and rng.random() < 0.5 else ("household", hid)
        fields = {"note": rng.choice(NOTES)} if rng.random() < 0.7 else {"phone": f"138{rng.randint(0, 99999999):08d}"}
        (c.update_person if entity == "person" else c.update_household)(rid, **fields)
        return f"{tablet.device_id}: edit {entity} {rid[:8]} {fields}"
    except SyncClientError as exc:
        return f"{tablet.device_id}: refused on the tablet: {exc.code}"


CHECKS = ("income", "food", "clothing", "children", "health", "housing")


def run(app, data):
    with app.app_context():
        city = make_city()
    world = World(wall_clock_ms())
    rng = random.Random(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    skews = data.draw(st.lists(st.integers(-2000, 2000), min_size=3, max_size=3), label="skews")
    tablets = [Tablet(app, user, dev, wall=world.wall(skew))
               for (user, dev), skew in zip([("w1", "dev-w1-a"), ("w12", "dev-w12-a"), ("w1", "dev-w1-b")], skews)]
    try:
        for _ in range(data.draw(st.integers(4, 30), label="steps")):
            world.advance(rng.randint(1, 4000))
            op = data.draw(st.sampled_from(["family", "work", "work", "sync", "sync", "link"]), label="op")
            tablet = tablets[data.draw(st.integers(0, len(tablets) - 1), label="tablet")]
            if op == "family":
                family = FAMILIES[data.draw(st.integers(0, len(FAMILIES) - 1), label="family")]
                note(f"{tablet.device_id}: enters {family['address']}")
                _enter_family(tablet, city["G1"], family)
            elif op == "work":
                note(_work_on_a_copy(tablet, rng))
            elif op == "sync":
                faults = data.draw(FAULTS, label="faults")
                note(f"{tablet.device_id}: sync {faults} -> {tablet.sync(faults)}")
            else:
                with app.app_context():
                    note(f"link: {link_pending()}")
        for _ in range(3):                       # settle: everything pushed, merged, pulled
            for t in tablets:
                assert t.sync()
            with app.app_context():
                link_pending()
        for t in tablets:
            assert t.sync()
        fresh = Tablet(app, "w12", "dev-w12-fresh", wall=world.wall())
        tablets.append(fresh)
        assert fresh.sync()
        server = check_all(app, tablets[:-1], fresh)
        live = {key: rec["values"] for key, rec in server["records"].items()
                if not rec["values"].get("deleted") and not rec["values"].get("merged_into")}
        doors = [(v["address"], v.get("building"), v.get("room")) for (e, _), v in live.items() if e == "household"]
        ids = [v["id_number"] for (e, _), v in live.items() if e == "person" and v.get("id_number")]
        assert len(doors) == len(set(doors)), f"a family is still there twice: {sorted(doors)}"
        assert len(ids) == len(set(ids)), f"a person is still there twice: {sorted(ids)}"
    finally:
        for t in tablets:
            t.close()


@sync_settings(SQLITE_EXAMPLES)
@given(data=st.data())
def test_families_entered_twice_merge_and_every_tablet_converges_sqlite(tmp_path_factory, request, data):
    in_fresh_app("sqlite", tmp_path_factory.mktemp("merge"), request, run, data)


@sync_settings(PG_EXAMPLES)
@given(data=st.data())
def test_families_entered_twice_merge_and_every_tablet_converges_postgresql(tmp_path_factory, request, pg_url,
                                                                            data):
    in_fresh_app("postgresql", tmp_path_factory.mktemp("merge"), request, run, data)
