"""The same person typed by different hands (issue 15): each kind of field-register error on a
hand-written pair, and the look-alikes that must stay apart."""
import pytest
from stdnum.cn import ric

from sync.identity.dates import (agrees_with_id, compare_dates, lunar_equal, lunar_to_solar, lunar_to_solar_all,
                                 normalize_birth_year)
from sync.identity.keys import person_features
from sync.identity.linkage import link_records, shared_phones
from sync.identity.match import match_person
from sync.identity.names import name_variant, normalize_name
from sync.identity.score import NameFrequency, compare


def make_id(birth, seq, area="110105"):
    body = f"{area}{birth.replace('-', '')}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


MOTHER_ID = make_id("1988-03-05", 22)          # even sequence digit: a woman
FATHER_ID = make_id("1960-07-01", 13)
CHILD_ID = make_id("2012-09-01", 35)
#: a register the size of a district's: the batch linker's and the server's thresholds
CITY = NameFrequency(total=50000)


def verdict(a, b, names=None):
    return compare(person_features(a), person_features(b), names)


def kind(a, b, names=None):
    return verdict(a, b, names)[0]


# --- the ID number carries the birth date -------------------------------------------------------
STORED = {"name": "李秀兰", "id_number": MOTHER_ID, "birth_date": "1988-03-05", "gender": "F",
          "address": "幸福小区5栋3单元501室"}


@pytest.mark.parametrize("typed_birth", [
    "1998-03-05",                  # the year typed wrong (1988 → 1998)
    "1989-03-05",                  # the last digit of the year
    "1988-05-03",                  # day and month swapped
    "1988年1月18日",                # the lunar birthday (1988-01-18 lunar is 1988-03-05)
    "1988",                        # the year alone
    "1988年",
])
def test_same_valid_number_outweighs_a_birth_field_typed_wrong(typed_birth):
    other = {"name": "李秀兰", "id_number": MOTHER_ID, "birth_date": typed_birth, "phone": "13900000001"}
    assert person_features(other).birth == "1988-03-05"          # the number's date
    assert not person_features(other).id_foreign
    result = verdict(other, STORED, CITY)
    assert result[0] == "same", result
    assert result[2]["birth"] == "exact"


def test_a_birth_date_that_fits_no_slip_makes_the_number_a_family_members():
    # a child's school record with the mother's number and the child's own birth date
    school = {"name": "王子轩", "id_number": MOTHER_ID, "birth_date": "2012-09-01", "gender": "M",
              "phone": "13900000001"}
    feats = person_features(school)
    assert feats.id_foreign and feats.birth == "2012-09-01" and feats.gender == "M"
    assert kind(school, STORED, CITY) == "new"                     # never into the number's owner
    own = {"name": "王子轩", "id_number": CHILD_ID, "birth_date": "2012-09-01", "address": "幸福小区5栋3单元501室"}
    assert kind(school, own, CITY) == "same"                       # but linked to the child himself


def test_a_gender_that_contradicts_the_number_without_a_birth_date():
    school = {"name": "王子轩", "id_number": MOTHER_ID, "gender": "男"}
    assert person_features(school).id_foreign
    assert "id" not in verdict(school, STORED, CITY)[2]


def test_siblings_both_carrying_a_parents_number_stay_apart():
    a = {"name": "王子轩", "id_number": FATHER_ID, "birth_date": "2012-09-01", "gender": "M"}
    b = {"name": "王雨桐", "id_number": FATHER_ID, "birth_date": "2015-04-11", "gender": "F"}
    assert kind(a, b, CITY) == "new"
    c = dict(a, birth_date="", gender="")                          # nothing tells it is foreign
    d = {"name": "王雨桐", "id_number": FATHER_ID, "birth_date": "2015-04-11", "gender": "F"}
    assert kind(c, d, CITY) != "same"                              # the names differ


def test_a_namesake_son_with_his_fathers_number_and_his_own_birth_date():
    father = {"name": "张伟", "id_number": FATHER_ID, "birth_date": "1960-07-01", "phone": "13500000000"}
    son = {"name": "张伟", "id_number": FATHER_ID, "birth_date": "1988-08-08", "phone": "13500000000"}
    result = verdict(son, father, CITY)
    assert result[0] != "same" and "id" not in result[2], result


def test_fifteen_digit_number_and_a_typed_date_with_a_slip():
    old = {"name": "李秀兰", "id_number": MOTHER_ID[:6] + MOTHER_ID[8:17], "birth_date": "1988-03-08"}
    assert kind(old, STORED, CITY) == "same"


# --- names ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("a,b,level", [
    ("王涵安", "王涵", "dropped"),
    ("欧阳娜娜", "欧阳娜", "dropped"),
    ("徐妍琪", "徐琪妍", "transposed"),
    ("刘明", "牛明", "surname_near"),            # n/l
    ("黄丽", "王丽", "surname_near"),            # huang/wang
    ("胡建国", "符建国", "surname_near"),        # h/f
    ("李明", "小明", "nickname"),
    ("李明", "阿明", "nickname"),
    ("李明", "明明", "nickname"),
    ("张子涵", "张子轩", None),                  # twins' names
    ("王伟", "李伟", None),
    ("李明", "小亮", None),
])
def test_name_variants(a, b, level):
    assert name_variant(normalize_name(a), normalize_name(b)) == level
    assert name_variant(normalize_name(b), normalize_name(a)) == level


def test_traditional_characters_are_the_same_name():
    assert normalize_name("陳偉") == normalize_name("陈伟") == "陈伟"
    assert normalize_name("Wang Wei") == "wangwei"
    a = {"name": "陳偉", "birth_date": "1975-02-27", "phone": "13912345678"}
    b = {"name": "陈伟", "birth_date": "1975-02-27", "address": "方公寓16栋4单元1204室"}
    result = verdict(a, b, CITY)
    assert result[2]["name"] == "exact" and result[0] == "same"


BASE = {"birth_date": "2001-06-15", "gender": "F", "phone": "13711112222", "address": "幸福小区5栋3单元501室"}


@pytest.mark.parametrize("a,b,expected", [
    ("徐妍琪", "徐琪妍", "same"),                 # swapped, with the birth date and the door
    ("刘明", "牛明", "same"),                     # near-homophone surname
    ("李晓明", "小明", "same"),                   # a nickname, the birth date, the door, the gender
    ("王涵安", "王涵", "maybe"),                  # a dropped character without a number: a twin's
    ("李远雨", "李玉", "maybe"),                  # name can look just like it (李远雨 / 李玉)
])
def test_names_typed_another_way_without_a_number(a, b, expected):
    assert kind(dict(BASE, name=a), dict(BASE, name=b), CITY) == expected


def test_a_dropped_character_is_linked_by_the_number():
    number = make_id("2001-06-15", 42)
    a = {"name": "王涵安", "id_number": number, "birth_date": "2001-06-15"}
    b = {"name": "王涵", "id_number": number}
    assert kind(a, b, CITY) == "same"
    # with no birth date typed on either, a family member's number cannot be ruled out
    assert kind(dict(a, birth_date=""), b, CITY) == "maybe"


# --- records without a number --------------------------------------------------------------------
def test_lunar_birthday_without_a_number():
    assert lunar_equal("1950-02-09", lunar_to_solar("1950-02-09"))
    a = {"name": "赵桂英", "birth_date": "1950-02-09", "phone": "13600000000", "address": "幸福小区5栋3单元501室"}
    b = {"name": "赵桂英", "birth_date": lunar_to_solar("1950-02-09"), "phone": "13600000000"}
    assert verdict(a, b, CITY)[2]["birth"] == "close"
    assert kind(a, b, CITY) == "same"


def test_a_year_alone_against_a_date():
    a = {"name": "赵桂英", "birth_date": "1950", "phone": "13600000000"}
    b = {"name": "赵桂英", "birth_date": "1950-03-29", "phone": "13600000000"}
    assert verdict(a, b, CITY)[2]["birth"] == "year"
    assert kind(a, b, CITY) == "same"
    assert verdict(dict(a, birth_date="1951年"), b, CITY)[0] != "same"


def test_name_and_phone_alone_in_a_city_register_ask():
    # a father and his namesake son: the same name, the household's phone, the same door
    thin = {"name": "龚波洪", "phone": "13479288805", "address": "邹嘉园10栋4单元503室"}
    son = {"name": "龚波洪", "birth_date": "1992-11-08", "phone": "134-79288805", "address": "邹嘉园10-4-503"}
    assert kind(thin, son, CITY) == "maybe"
    assert kind(thin, son) == "same"               # a device's small register knows its households


def test_common_name_and_birth_date_alone_in_a_city_register_ask():
    a = {"name": "李静", "birth_date": "1974-09-13", "gender": "F"}
    b = {"name": "李静", "birth_date": "1974-09-13", "gender": "F", "address": "徐新村2栋1单元504室"}
    names = NameFrequency({"李静": 40}, 50000)
    assert kind(a, b, names) == "maybe"


# --- a household's details on every member ------------------------------------------------------
def test_twins_with_the_household_phone_door_and_birth_date_stay_apart():
    twin_a = dict(BASE, name="李远雨")
    twin_b = dict(BASE, name="李玉")
    other_a = dict(BASE, name="李远雨", phone="")
    clusters = link_records([dict(twin_a, record_id="a1"), dict(other_a, record_id="a2"),
                             dict(twin_b, record_id="b1")])
    assert clusters["a1"] == clusters["a2"] and clusters["b1"] == "b1"


def test_a_phone_on_several_persons_is_the_households():
    records = [person_features({"name": "王海涛", "birth_date": "1981-08-19", "phone": "17614920673"}),
               person_features({"name": "王海涛", "birth_date": "2011-12-17", "phone": "17614920673"}),
               person_features({"name": "李娜", "birth_date": "1990-01-01", "phone": "13800000000"}),
               person_features({"name": "李娜", "birth_date": "1990-01-01", "phone": "13800000000"})]
    assert shared_phones(records) == {"17614920673"}
    names = NameFrequency(total=50000, shared_phones=shared_phones(records))
    result = compare(records[0], records[1], names)
    assert result[2]["phone"] == "shared" and result[0] != "same"
    assert compare(records[2], records[3], names)[2]["phone"] == "exact"


def test_the_batch_linker_keeps_a_childs_school_record_off_the_parent():
    rows = [
        {"record_id": "m1", "name": "李秀兰", "id_number": MOTHER_ID, "birth_date": "1988-03-05",
         "phone": "13900000001", "address": "幸福小区5栋3单元501室"},
        {"record_id": "m2", "name": "李秀兰", "id_number": MOTHER_ID, "birth_date": "1998-03-05"},
        {"record_id": "c1", "name": "王子轩", "id_number": MOTHER_ID, "birth_date": "2012-09-01",
         "phone": "13900000001", "address": "幸福小区5栋3单元501室"},
        {"record_id": "c2", "name": "王子轩", "id_number": CHILD_ID, "birth_date": "2012/9/1",
         "address": "幸福小区五幢三单元501"},
    ]
    review = []
    clusters = link_records(rows, review=review)
    assert clusters == {"m1": "m1", "m2": "m1", "c1": "c1", "c2": "c1"}
    assert review == []


# --- dates ---------------------------------------------------------------------------------------
def test_date_helpers():
    assert normalize_birth_year("1990") == normalize_birth_year("1990年") == normalize_birth_year("一九九〇年") == "1990"
    assert normalize_birth_year("1990-01-01") is None and normalize_birth_year("") is None
    assert lunar_to_solar("1988-01-18") == "1988-03-05"
    assert lunar_to_solar("1988-02-30") is None                    # no such lunar day that year
    assert agrees_with_id("1998-03-05", "1988-03-05") and agrees_with_id("1988", "1988-03-05")
    assert not agrees_with_id("2012-09-01", "1988-03-05")
    assert agrees_with_id("1969-12-16", "1970-12-16")               # a year off by one (an age counted)
    # 1952 repeats its fifth lunar month: a typed 1952-05-01 is either month's first day
    assert lunar_to_solar_all("1952-05-01") == ("1952-05-24", "1952-06-22")
    assert agrees_with_id("1952-05-01", "1952-06-22")
    assert compare_dates("1965-03-12", "1995-03-12") == "different"   # without a number: a parent and child
