"""The worker's own writes: checked with the engine's rules on the tablet, offline, before they are
saved and queued; a refusal saves nothing and queues nothing."""
import pytest

from client_sdk.errors import Forbidden, InvalidInput, NotFound
from tests.client_sdk.conftest import CHECKS_OK, GRID, OTHER_GRID


def _nothing_queued(tablet, before):
    assert tablet.pending_changes() == before


def test_a_write_is_saved_and_queued_in_one_go(tablet):
    hid = tablet.create_household(GRID, " 和平路1号 ", phone="13800138000")
    (change,) = tablet.pending_changes()
    assert change["entity_id"] == hid and change["fields"]["address"] == "和平路1号"   # cleaned as the server would
    assert change["stamp"].endswith("-tab-1")
    assert tablet.household(hid)["address"] == "和平路1号"


@pytest.mark.parametrize("write, error, field", [
    (lambda t, h: t.create_household(OTHER_GRID, "解放街3号"), InvalidInput, "grid_id"),
    (lambda t, h: t.update_household(h, merged_into=h), Forbidden, "merged_into"),
    (lambda t, h: t.add_person(h, "王伟", gender="X"), InvalidInput, "gender"),
    (lambda t, h: t.record_visit(h, {"food": {"status": "ok"}}), InvalidInput, "checks"),
    (lambda t, h: t.raise_flag(h, "困境儿童", "purple"), InvalidInput, "colour"),
    (lambda t, h: t.raise_flag(h, "困境儿童", "red", level="bureau"), Forbidden, "level"),
    (lambda t, h: t.add_person("00000000-0000-4000-8000-000000000000", "王伟"), NotFound, "household_id"),
])
def test_what_the_server_would_refuse_is_refused_here_and_nothing_is_saved(tablet, write, error, field):
    hid = tablet.create_household(GRID, "和平路1号")
    before = tablet.pending_changes()
    with pytest.raises(error) as exc:
        write(tablet, hid)
    assert exc.value.field == field
    _nothing_queued(tablet, before)


def test_a_grid_worker_may_not_confirm_a_flag(tablet):
    hid = tablet.create_household(GRID, "和平路1号")
    fid = tablet.raise_flag(hid, "困境儿童", "red")
    before = tablet.pending_changes()
    with pytest.raises(Forbidden):
        tablet.move_flag(fid, "confirm")
    _nothing_queued(tablet, before)
    assert tablet.flag(fid)["state"] == "reported"


def test_a_flag_names_a_member_of_its_household_on_the_tablet(tablet):
    h1, h2 = tablet.create_household(GRID, "和平路1号"), tablet.create_household(GRID, "和平路2号")
    pid = tablet.add_person(h2, "王小明")
    with pytest.raises(InvalidInput) as exc:
        tablet.raise_flag(h1, "困境儿童", "red", person_id=pid)
    assert exc.value.field == "person_id"


def test_a_transition_names_the_state_and_level_it_was_made_on(tablet):
    hid = tablet.create_household(GRID, "和平路1号")
    fid = tablet.raise_flag(hid, "困境儿童", "red")
    vid = tablet.record_visit(hid, CHECKS_OK)
    tablet.move_flag(fid, "note", note="已联系")
    change = tablet.pending_changes()[-1]
    assert change["fields"]["at_level"] == "community" and vid
