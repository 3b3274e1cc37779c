"""Normalising and masking ID numbers and phones."""
import pytest

from sync.identity import (is_valid_id_number, mask_id_number, mask_phone, normalize_id_number,
                           normalize_phone)


@pytest.mark.parametrize("raw,norm", [
    ("11010519491231002X", "11010519491231002X"),
    ("11010519491231002x", "11010519491231002X"),
    ("１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X"),
    (" 110105 19491231 002x ", "11010519491231002X"),
    ("110105491231002", "11010519491231002X"),   # 15 digits upgraded, check character computed
    ("12345", None),
    ("", None),
])
def test_normalize_id_number(raw, norm):
    assert normalize_id_number(raw) == norm


@pytest.mark.parametrize("raw,valid", [
    ("11010519491231002X", True),
    ("110105194912310021", False),   # wrong check character
    ("11010519491331002X", False),   # month 13
    ("110105491231002", True),
])
def test_is_valid_id_number(raw, valid):
    assert is_valid_id_number(raw) is valid


def test_phone_forms_compare_equal():
    assert normalize_phone("+86 138-0013-8000") == normalize_phone("１３８００１３８０００") == "13800138000"


def test_masks_hide_the_middle():
    assert mask_id_number("11010519491231002x") == "110***********002X"
    assert mask_phone("13800138000") == "138****8000"


def test_full_width_numbers_ending_in_a_digit_are_folded_too():
    assert normalize_id_number("１１０１０５１９４９１２３１００２１") == "110105194912310021"
