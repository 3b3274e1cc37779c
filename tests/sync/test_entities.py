"""Checking a change's fields: every error names its field."""
import pytest

from sync.checklist import CHECK_KEYS
from sync.entities import ENTITIES
from sync.errors import InvalidChange

GRID = "6f1c1f33-7d8e-4a51-9d4b-0e3d5f9b2c11"


def checks(**over):
    out = {k: {"status": "ok", "answers": {}, "note": ""} for k in CHECK_KEYS}
    out.update(over)
    return out


def test_a_new_household_needs_its_grid_and_address():
    with pytest.raises(InvalidChange) as exc:
        ENTITIES["household"].clean({"address": "和平路1号"}, creating=True)
    assert exc.value.field == "grid_id"


def test_an_edit_may_be_partial():
    assert ENTITIES["household"].clean({"note": " hi "}, creating=False) == {"note": "hi"}


@pytest.mark.parametrize("fields,field", [
    ({"grid_id": "nope", "address": "a"}, "grid_id"),
    ({"grid_id": GRID, "address": 5}, "address"),
    ({"grid_id": GRID, "address": "a", "colour": "red"}, "fields.colour"),
    ({"grid_id": GRID, "address": "a" * 201}, "address"),
    ({"grid_id": GRID, "address": "a", "deleted": "yes"}, "deleted"),
])
def test_bad_household_fields_name_the_field(fields, field):
    with pytest.raises(InvalidChange) as exc:
        ENTITIES["household"].clean(fields, creating=True)
    assert exc.value.field == field


def test_person_id_numbers_are_stored_in_one_spelling():
    out = ENTITIES["person"].clean({"household_id": GRID, "name": "王伟", "id_number": "１１０１０５１９４９１２３１００２ｘ"},
                                   creating=True)
    assert out["id_number"] == "11010519491231002X"


def test_birth_dates_must_be_real_dates():
    with pytest.raises(InvalidChange) as exc:
        ENTITIES["person"].clean({"birth_date": "2020-02-30"}, creating=False)
    assert exc.value.field == "birth_date"


def test_a_visit_needs_all_six_checks_with_a_status():
    base = {"household_id": GRID, "visited_at": "2026-11-01T09:00:00+08:00", "checklist_version": 1}
    out = ENTITIES["visit"].clean({**base, "checks": checks()}, creating=True)
    assert out["visited_at"] == "2026-11-01T01:00:00Z"
    bad = checks()
    del bad["food"]
    with pytest.raises(InvalidChange, match="food"):
        ENTITIES["visit"].clean({**base, "checks": bad}, creating=True)
    with pytest.raises(InvalidChange) as exc:
        ENTITIES["visit"].clean({**base, "checks": checks(children={"status": "bad"})}, creating=True)
    assert exc.value.field == "checks.children.status"
    with pytest.raises(InvalidChange) as exc:
        ENTITIES["visit"].clean({**base, "checklist_version": 99, "checks": checks()}, creating=True)
    assert exc.value.field == "checklist_version"


def test_visit_times_need_an_offset():
    with pytest.raises(InvalidChange) as exc:
        ENTITIES["visit"].clean({"household_id": GRID, "visited_at": "2026-11-01T09:00:00",
                                 "checklist_version": 1, "checks": checks()}, creating=True)
    assert exc.value.field == "visited_at"
