"""Property: the same families entered on several tablets offline, merged by the server's linker
at random moments while the tablets go on editing their copies (merged away or not) and syncing
with lost and duplicated batches, end with every tablet equal to the server, and with one live
household per family door and one live person per ID number."""
import random

from hypothesis import given, note
from hypothesis import strategies as st

from server.services.linker import link_pending
from tests.city import make_city
from tests.sync.sim import SimDevice, World
from tests.sync.test_convergence import (PG_EXAMPLES, SQLITE_EXAMPLES, _settings, check_replicas_equal_server,
                                         in_fresh_app, server_state)

FAMILIES = [
    {"address": "和平路12号", "building": "3栋", "room": "301", "head_name": "王伟",
     "members": [{"name": "王伟", "id_number": "11010519491231002X", "birth_date": "1949-12-31", "gender": "M",
                  "relation": "head"},
                 {"name": "王小明", "birth_date": "2015-01-01", "gender": "M", "relation": "grandchild",
                  "id_number": "110105201501010017"}]},
    {"address": "幸福街5号", "building": "1栋", "room": "102", "head_name": "李娜",
     "members": [{"name": "李娜", "id_number": "110101199001010023", "birth_date": "1990-01-01", "gender": "F",
                  "relation": "head"}]},
]
NOTES = ["独居", "低保户", "需复查", ""]
FAULTS = st.lists(st.sampled_from(["ok", "ok", "lost", "dup"]), max_size=3)


def _enter_family(device, grid, family, rng):
    hid = device.create_household(grid, **{k: v for k, v in family.items() if k != "members"})
    for member in family["members"]:
        device.create_person(hid, **member)
    return hid


def _edit_something(device, rng):
    held = [key for key in device.records if key[0] in ("household", "person")]
    if not held:
        return "nothing to edit"
    entity, eid = rng.choice(sorted(held))
    fields = {"note": rng.choice(NOTES)} if rng.random() < 0.7 else {"phone": f"138{rng.randint(0, 99999999):08d}"}
    device.edit(entity, eid, **fields)
    return f"{device.device_id}: edit {entity} {eid[:8]} {fields}"


def run(app, data):
    with app.app_context():
        city = make_city()
    world = World()
    rng = random.Random(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    devices = [SimDevice(app.test_client(), user, dev, wall=world.wall(skew))
               for (user, dev), skew in zip([("w1", "dev-w1-a"), ("w12", "dev-w12-a"), ("w1", "dev-w1-b")],
                                            data.draw(st.lists(st.integers(-2000, 2000), min_size=3, max_size=3),
                                                      label="skews"))]
    for d in devices:
        d.login()
    for _ in range(data.draw(st.integers(4, 30), label="steps")):
        world.advance(rng.randint(1, 4000))
        op = data.draw(st.sampled_from(["family", "edit", "edit", "sync", "sync", "link"]), label="op")
        device = devices[data.draw(st.integers(0, len(devices) - 1), label="device")]
        if op == "family":
            family = FAMILIES[data.draw(st.integers(0, len(FAMILIES) - 1), label="family")]
            note(f"{device.device_id}: enters {family['address']}")
            _enter_family(device, city["G1"], family, rng)
        elif op == "edit":
            note(_edit_something(device, rng))
        elif op == "sync":
            faults = data.draw(FAULTS, label="faults")
            note(f"{device.device_id}: sync {faults}")
            device.sync(batch_size=rng.choice((3, 50)), faults=faults)
        else:
            with app.app_context():
                note(f"link: {link_pending()}")
    for _ in range(3):                                # settle: everything pushed, merged, pulled
        for d in devices:
            d.sync()
        with app.app_context():
            link_pending()
    for d in devices:
        d.sync()
    server = server_state(app)
    check_replicas_equal_server(server, devices)
    live = {key: rec["values"] for key, rec in server["records"].items()
            if not rec["values"].get("deleted") and not rec["values"].get("merged_into")}
    doors = [(v["address"], v.get("building"), v.get("room")) for (e, _), v in live.items() if e == "household"]
    ids = [v["id_number"] for (e, _), v in live.items() if e == "person" and v.get("id_number")]
    assert len(doors) == len(set(doors)), f"a family is still there twice: {sorted(doors)}"
    assert len(ids) == len(set(ids)), f"a person is still there twice: {sorted(ids)}"


def _property(kind, tmp_path, request, data):
    in_fresh_app(kind, tmp_path, request, run, data)


@_settings(SQLITE_EXAMPLES)
@given(data=st.data())
def test_families_entered_twice_merge_and_every_tablet_converges_sqlite(tmp_path_factory, request, data):
    _property("sqlite", tmp_path_factory.mktemp("merge"), request, data)


@_settings(PG_EXAMPLES)
@given(data=st.data())
def test_families_entered_twice_merge_and_every_tablet_converges_postgresql(tmp_path_factory, request, pg_url,
                                                                            data):
    _property("postgresql", tmp_path_factory.mktemp("merge"), request, data)
