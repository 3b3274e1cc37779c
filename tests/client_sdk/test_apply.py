"""Applying pulled pages to the store with the engine's merge rules."""
import uuid

from client_sdk.apply import apply_pulled
from tests.client_sdk.conftest import CHECKS_OK, GRID, OTHER_GRID, pulled


def _stamp(ms, node="server-1"):
    return f"{ms:013d}-0000-{node}"


def test_a_page_merges_field_by_field_whatever_the_order(tablet):
    hid = str(uuid.uuid4())
    page = [pulled("household", hid, {"grid_id": GRID, "address": "和平路1号", "note": "旧"}, _stamp(1)),
            pulled("household", hid, {"note": "新"}, _stamp(3)),
            pulled("household", hid, {"note": "更旧", "phone": "13800138000"}, _stamp(2))]
    store = tablet._store
    with store.transaction():
        apply_pulled(store, page)
    values, stamps, grid = store.load_records("household", [hid])[hid]
    assert (values["note"], values["phone"], grid) == ("新", "13800138000", GRID)
    assert stamps["note"] == _stamp(3) and stamps["phone"] == _stamp(2)


def test_a_page_applied_twice_changes_nothing(tablet):
    hid, vid = str(uuid.uuid4()), str(uuid.uuid4())
    page = [pulled("household", hid, {"grid_id": GRID, "address": "和平路1号"}, _stamp(1)),
            pulled("visit", vid, {"household_id": hid, "visited_at": "2026-11-01T08:00:00Z", "checklist_version": 1,
                                  "checks": CHECKS_OK}, _stamp(2))]
    store = tablet._store
    with store.transaction():
        apply_pulled(store, page)
        before = (store.load_records("household", [hid]), store.select_visits())
        apply_pulled(store, page)
    assert (store.load_records("household", [hid]), store.select_visits()) == before
    assert len(store.select_visits()) == 1


def test_flag_state_is_folded_from_pulled_events(tablet):
    hid, fid = str(uuid.uuid4()), str(uuid.uuid4())
    page = [pulled("household", hid, {"grid_id": GRID, "address": "和平路1号"}, _stamp(1)),
            pulled("flag", fid, {"household_id": hid, "category": "困境儿童", "colour": "red"}, _stamp(2)),
            pulled("flag_event", str(uuid.uuid4()), {"flag_id": fid, "action": "escalate", "level": "street"},
                   _stamp(5)),
            pulled("flag_event", str(uuid.uuid4()), {"flag_id": fid, "action": "confirm", "from_state": "reported"},
                   _stamp(4))]
    store = tablet._store
    with store.transaction():
        apply_pulled(store, page)
    view = store.flag_states()[fid]
    assert (view["state"], view["level"], view["colour"]) == ("confirmed", "street", "red")


def test_a_household_moved_to_another_grid_takes_its_members_visits_and_flags(tablet):
    hid, pid, vid = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    store = tablet._store
    with store.transaction():
        apply_pulled(store, [
            pulled("household", hid, {"grid_id": GRID, "address": "和平路1号"}, _stamp(1)),
            pulled("person", pid, {"household_id": hid, "name": "王伟"}, _stamp(2)),
            pulled("visit", vid, {"household_id": hid, "visited_at": "2026-11-01T08:00:00Z",
                                  "checklist_version": 1, "checks": CHECKS_OK}, _stamp(3))])
        apply_pulled(store, [pulled("household", hid, {"grid_id": OTHER_GRID}, _stamp(4))])
    grids = dict(store.conn.execute("SELECT id, grid_id FROM records UNION ALL SELECT id, grid_id FROM visits"))
    assert grids == {hid: OTHER_GRID, pid: OTHER_GRID, vid: OTHER_GRID}
