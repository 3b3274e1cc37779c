"""Registers kept in spreadsheets: the cells as people fill them in (a note beside the name, two
phones, an ID number kept as text, a date serial, lunar words, the gender's national code) are
read as the same person's, and what cannot be read is left out rather than compared wrong."""
import pytest
from stdnum.cn import ric

from sync.identity.dates import normalize_birth_date, normalize_birth_year
from sync.identity.keys import person_features, typed_id, typed_name, typed_phone
from sync.identity.linkage import link_records
from sync.identity.score import NameFrequency, SAME, compare


def make_id(birth, seq, area="331002"):
    body = f"{area}{birth.replace('-', '')}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


@pytest.mark.parametrize("raw, expect", [
    ("1988—01—05", "1988-01-05"),           # an em dash
    ("1988–1–5", "1988-01-05"),             # an en dash
    ("一九八八年元月五日", "1988-01-05"),      # 元月 is January
    ("1988年元月5日", "1988-01-05"),
    ("19880105.0", "1988-01-05"),           # a date column read as a number
    ("32151", "1988-01-09"),                # a spreadsheet's date serial (days since 1899-12-30)
    ("32151.0", "1988-01-09"),
    ("农历1988年正月初五", "1988-02-21"),     # lunar new year 1988 fell on 17 February
    ("1988年正月初五", "1988-02-21"),
    ("阴历1952年三月初八", "1952-04-02"),
    ("农历一九五二年三月初八", "1952-04-02"),
    ("农历1952年3月8日", "1952-04-02"),
    ("1960年腊月廿三", "1961-02-08"),        # the 12th lunar month of 1960 ends in 1961
    ("2020年闰四月初二", "2020-05-24"),       # 2020 repeated its fourth month
    ("88年1月5日", "1988-01-05"),             # a two-digit year, as said aloud
    ("15年3月8号", "2015-03-08"),
    ("八八年一月五日", "1988-01-05"),
])
def test_dates_as_registers_write_them(raw, expect):
    assert normalize_birth_date(raw) == expect


@pytest.mark.parametrize("raw", [
    "农历1988年二月三十",      # the second lunar month of 1988 has 29 days
    "2021年闰四月初二",        # 2021 has no leap fourth month
    "阴历三月初八",           # no year
    "99999",                 # a serial in the future
    "1988年13月5日",
    "1234",
])
def test_what_is_no_date_stays_none(raw):
    assert normalize_birth_date(raw) is None


@pytest.mark.parametrize("raw, year", [
    ("1988年1月", "1988"), ("1988-01", "1988"), ("1988.1", "1988"), ("198801", "1988"),
    ("一九八八年元月", "1988"), ("1988年", "1988"), ("1988年13月", None), ("1988-01-05", None),
])
def test_a_year_and_a_month_give_the_year(raw, year):
    assert normalize_birth_year(raw) == year


@pytest.mark.parametrize("raw, expect", [
    ("王伟（户主）", "王伟"), ("李娜(小名)", "李娜"), ("张三【已迁出】", "张三"), ("王伟1", "王伟"),
    ("王伟（户主", "王伟"), ("买买提·艾力", "买买提·艾力"), ("王伟", "王伟"),
])
def test_a_note_beside_the_name_is_not_the_name(raw, expect):
    assert typed_name(raw) == expect


@pytest.mark.parametrize("raw, expect", [
    ("13812345678/13987654321", "13812345678"),
    ("13812345678，0576-88123456", "13812345678"),
    ("0576-88123456、13812345678", "057688123456"),
    ("13812345678或13987654321", "13812345678"),
    ("13812345678 13987654321", "13812345678"),     # one space between two mobiles
    ("138 1234 5678", "13812345678"),                # one number written in groups
    ("+86 138-1234-5678", "13812345678"),
    ("138****5678", ""),                             # masked: no number to compare
    ("无", ""),
])
def test_the_first_phone_of_a_cell_is_the_persons(raw, expect):
    assert typed_phone(raw) == expect


def test_an_id_number_with_a_spreadsheet_mark_or_a_note():
    number = make_id("1988-01-05", 123)
    for raw in ("'" + number, number + "（本人）", number + "\t", "身份证:" + number, number.lower()):
        assert person_features({"id_number": raw}).id18 == number, raw
        assert person_features({"id_number": raw}).id_valid, raw
    assert typed_id("3.31002E+17") == "3.31002E+17"        # a number a spreadsheet rounded: lost
    assert person_features({"id_number": "3.31002E+17"}).id18 == ""


@pytest.mark.parametrize("raw, gender", [("1", "M"), ("2", "F"), ("１", "M"), ("男性", "M"), ("女士", "F"),
                                         ("m", "M"), ("Female", "F"), ("0", ""), ("9", ""), ("未知", "")])
def test_gender_codes(raw, gender):
    assert person_features({"name": "王伟", "gender": raw}).gender == gender


# --- the same person, once typed plainly and once in a spreadsheet's forms -----------------------
PLAIN = {"name": "陈志明", "gender": "M", "birth_date": "1952-04-02", "phone": "13812345678",
         "address": "东山社区幸福小区3幢2单元301室"}
SHEET = {"name": "陈志明（户主）", "gender": "1", "birth_date": "农历1952年三月初八",
         "phone": "13812345678/0576-88123456", "address": "幸福小区3-2-301"}


def test_a_spreadsheet_row_is_the_same_person():
    kind, score, levels, rule = compare(person_features(PLAIN), person_features(SHEET), NameFrequency(total=50000))
    assert (kind, rule) == (SAME, None), (score, levels)
    assert levels["name"] == "exact" and levels["birth"] == "exact" and levels["phone"] == "exact"


def test_batch_linkage_joins_the_spreadsheet_row_and_keeps_a_namesake_son_apart():
    son = {"name": "陈志明", "gender": "男", "birth_date": "1980-05-01", "phone": "13900001111",
           "address": "东山社区幸福小区3幢2单元301室"}
    records = [dict(PLAIN, record_id="a"), dict(SHEET, record_id="b"), dict(son, record_id="c"),
               dict(son, record_id="d", birth_date="29342")]     # the son's date as a serial
    clusters = link_records(records)
    assert clusters["a"] == clusters["b"]
    assert clusters["c"] == clusters["d"]
    assert clusters["a"] != clusters["c"]


def test_letters_typed_for_digits_in_an_id_number():
    number = make_id("1988-01-05", 123)
    typed = number[:9].replace("0", "O") + number[9:12].replace("1", "l") + number[12:]
    assert typed != number
    assert person_features({"id_number": typed}).id18 == number


@pytest.mark.parametrize("a, b, same", [
    ("0576-88123456", "88123456", True),        # a landline with and without its area code
    ("(0576)88123456", "8812345", False),        # another number's tail is not enough: 7 of 8 digits
    ("057688123456", "13888123456", False),      # a mobile is no landline's tail
])
def test_a_landline_with_and_without_its_area_code(a, b, same):
    from sync.identity.score import phone_level
    assert (phone_level(typed_phone(a), typed_phone(b)) == "exact") is same


# --- doors written other ways --------------------------------------------------------------------
@pytest.mark.parametrize("a, b, level", [
    ("阳光花园5栋1单元202", "阳光花园5-1-202室", "exact"),     # the dash form with the room's word
    ("阳光花园5栋1单元202", "阳光花园5-1单元202", "exact"),
    ("阳光花园5栋202", "阳光花园5-202室", "exact"),
    ("幸福路88号", "幸福街88号", "close"),                      # another name of the road
    ("幸福路88号", "幸福大道88号", "close"),
    ("白云街道幸福路88号", "白云街道幸福大街88号", "close"),
    ("幸福里3弄12号", "幸福里3弄12号201室", "partial"),           # the room on one side only
    ("幸福路88号", "幸福路89号", "different"),
    ("白云街道5栋1单元202", "白云路5栋1单元202", "different"),    # a subdistrict is no road
    ("阳光花园5-1-202室", "阳光花园5-1-203室", "different"),
    # a village's doors: the group (组 = 村民小组 = 小组 = 队 = 社) and the door number
    ("东山村5组12号", "东山村5组12", "exact"),
    ("东山村5组12号", "东山村第五村民小组12号", "exact"),
    ("东山村5组12号", "白云镇东山村五队十二号", "close"),
    ("东山村5组12号", "东山村12号", "close"),                   # the group left out
    ("东山村5组12号", "东山村5组", "partial"),                  # a group holds dozens of doors
    ("东山村5组12号", "东山村6组12号", "different"),
    ("东山村5组12号", "东山村5组13号", "different"),
    ("幸福里3弄12号", "幸福里3弄12", "exact"),
])
def test_doors_written_other_ways(a, b, level):
    from sync.identity.address import compare_addresses
    assert compare_addresses(a, b) == level


@pytest.mark.parametrize("source, school", [
    ("school", True), ("学校名单", True), ("学籍系统", True), ("教育局", True), ("幼儿园花名册", True),
    ("Student list", True), ("grid", False), ("健康随访", False), ("民政", False), ("", False), (None, False),
])
def test_what_names_a_school_list(source, school):
    from sync.identity.keys import from_school_list
    assert from_school_list(source) is school
