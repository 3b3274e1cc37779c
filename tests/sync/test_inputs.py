"""The input rules both replicas apply (sync/inputs.py): each refusal names its field and code."""
import datetime as dt

import pytest
from hypothesis import given, settings, strategies as st

from sync import inputs
from sync.checklist import CHECK_KEYS
from sync.entities import ENTITIES
from sync.errors import InvalidChange, SyncError

HID = "6f1c1f33-7d8e-4a51-9d4b-0e3d5f9b2c11"
NOW = int(dt.datetime(2026, 11, 30, 12, tzinfo=dt.timezone.utc).timestamp() * 1000)


def refusal(entity, fields, creating=True, **kw):
    with pytest.raises(InvalidChange) as exc:
        ENTITIES[entity].clean(fields, creating=creating, now=NOW, **kw)
    return exc.value.field, exc.value.code


def visit(when):
    return {"household_id": HID, "visited_at": when, "checklist_version": 1,
            "checks": {k: {"status": "ok", "answers": {}, "note": ""} for k in CHECK_KEYS}}


@pytest.mark.parametrize("number", ["12345", "11010519491231002", "110105194912310020", "110105194913310025",
                                    "abcdefghijklmnopqr", "11010519491231002Y"])
def test_a_bad_id_number_is_refused(number):
    assert refusal("person", {"household_id": HID, "name": "王伟", "id_number": number}) == \
        ("id_number", "invalid_id_number")


@pytest.mark.parametrize("number", ["11010519491231002X", "11010519491231002x", "110105491231002",
                                    "１１０１０５１９４９１２３１００２ｘ", "110105 19491231 002X"])
def test_every_spelling_of_a_good_id_number_is_kept_as_its_18_characters(number):
    out = ENTITIES["person"].clean({"household_id": HID, "name": "王伟", "id_number": number}, creating=True, now=NOW)
    assert out["id_number"] == "11010519491231002X"


@pytest.mark.parametrize("phone", ["13800138000", "+86 138-0013-8000", "0086 13800138000", "010-12345678",
                                   "(0755) 8765 4321", "0571-8765432", "87654321", "400 123 4567",
                                   "010-12345678 转 123", "１３８００１３８０００"])
def test_mainland_phones_are_taken_as_typed(phone):
    assert ENTITIES["household"].clean({"phone": phone}, creating=False, now=NOW)["phone"] == phone


@pytest.mark.parametrize("phone", ["abc", "12345", "23800138000", "1380013800", "138001380001", "010-1234",
                                   "13800138000abc", "0000000", "1-800-FLOWERS"])
def test_a_bad_phone_is_refused_on_households_and_persons(phone):
    assert refusal("household", {"phone": phone}, creating=False) == ("phone", "invalid_phone")
    assert refusal("person", {"phone": phone}, creating=False) == ("phone", "invalid_phone")


def test_a_visit_dated_in_the_future_is_refused_beyond_the_clock_allowance():
    assert refusal("visit", visit("2030-01-01T00:00:00Z")) == ("visited_at", "date_in_future")
    later = dt.datetime.fromtimestamp((NOW + inputs.MAX_FUTURE_S * 1000 + 1000) / 1000, dt.timezone.utc)
    assert refusal("visit", visit(later.isoformat())) == ("visited_at", "date_in_future")
    within = dt.datetime.fromtimestamp((NOW + 60_000) / 1000, dt.timezone.utc)
    assert ENTITIES["visit"].clean(visit(within.isoformat()), creating=True, now=NOW)["visited_at"]


def test_birth_dates_lie_within_a_human_life():
    assert refusal("person", {"birth_date": "2027-01-01"}, creating=False) == ("birth_date", "date_in_future")
    assert refusal("person", {"birth_date": "1880-01-01"}, creating=False) == ("birth_date", "birth_date_too_old")
    assert ENTITIES["person"].clean({"birth_date": "1926-01-01"}, creating=False, now=NOW)


def test_unknown_flag_categories_are_refused_and_a_city_may_add_its_own():
    flag = {"household_id": HID, "category": "bogus", "colour": "red"}
    assert refusal("flag", flag) == ("category", "unknown_category")
    assert ENTITIES["flag"].clean(dict(flag, category="elderly_alone"), creating=True, now=NOW)
    assert ENTITIES["flag"].clean(dict(flag, category="独居老人"), creating=True, now=NOW)

    class City:
        settings = {"flag_categories": {"bogus": "城市自定义"}}
    assert ENTITIES["flag"].clean(flag, creating=True, checklists=City(), now=NOW)["category"] == "bogus"


TYPED = {"household": ("address", "building", "head_name", "phone", "note"),
         "person": ("name", "birth_date", "id_number", "phone", "relation", "gender"),
         "flag": ("category", "colour", "note")}


@settings(max_examples=300, deadline=None)
@given(entity=st.sampled_from(sorted(TYPED)), data=st.data(),
       value=st.one_of(st.text(max_size=40), st.integers(), st.none(), st.booleans()))
def test_random_input_to_any_typed_field_is_refused_cleanly_or_stored_valid(entity, data, value):
    name = data.draw(st.sampled_from(TYPED[entity]))
    try:
        out = ENTITIES[entity].clean({name: value}, creating=False, now=NOW)
    except SyncError as exc:
        assert exc.field and exc.code
        return
    kept = out[name]
    if kept is None or kept == "":   # an empty value clears the field
        return
    if name == "id_number":
        assert inputs.id_number(kept) == kept
    elif name == "phone":
        inputs.phone(kept)
    elif name == "category":
        inputs.category(kept)
    elif name == "birth_date":
        inputs.birth_date("birth_date", kept, NOW)


def test_a_category_named_in_chinese_reads_in_the_readers_language():
    from sync import messages
    assert messages.name(messages.CATEGORIES, "困境儿童", lambda s: s) == "child in difficulty"
    assert messages.name(messages.CATEGORIES, "城市自定义", lambda s: s) == "城市自定义"


@pytest.mark.parametrize("junk", ["19491231ab", "2020-W01-1", "20200101", "2020-1-01", "２０２０-01-01"])
def test_a_birth_date_is_taken_only_as_yyyy_mm_dd(junk):
    from sync.entities import ENTITIES
    from sync.errors import InvalidChange
    with pytest.raises(InvalidChange) as err:
        ENTITIES["person"].clean({"household_id": HID, "name": "王伟", "birth_date": junk}, creating=True)
    assert err.value.field == "birth_date"


def test_no_role_may_act_on_a_level_no_one_holds():
    from sync.casework import may_act
    assert not may_act(None, "confirm", "nowhere") and not may_act(None, "close", None)
