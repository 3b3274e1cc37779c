"""Pairs that are the same person when nothing else fits (``score.ONLY_CANDIDATE``), and the
look-alikes that must stay apart when something else does fit (issue 15, second part)."""
from stdnum.cn import ric

from sync.identity.address import compare_addresses
from sync.identity.dates import compare_dates
from sync.identity.keys import person_features
from sync.identity.linkage import link_records
from sync.identity.match import PersonIndex, match_person
from sync.identity.score import ONLY_CANDIDATE, NameFrequency, compare

CITY = NameFrequency(total=50000)
DOOR = "幸福小区5栋3单元501室"


def make_id(birth, seq, area="110105"):
    body = f"{area}{birth.replace('-', '')}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def verdict(a, b, names=CITY):
    return compare(person_features(a), person_features(b), names)


def _groups(clusters):
    out = {}
    for rid, c in clusters.items():
        out.setdefault(c, set()).add(rid)
    return sorted(sorted(g) for g in out.values())


def _register(*rows, filler=11000):
    """``rows`` in a register of a district's size (strangers, each typed once), so that the
    batch linker asks what it asks of a city register."""
    strangers = [{"record_id": f"z{i}", "name": "路人" + chr(0x4e00 + i % 20000), "birth_date": "1950-01-01"}
                 for i in range(filler)]
    return list(rows) + strangers


# --- the levels ----------------------------------------------------------------------------------
def test_a_year_or_a_decade_off_with_the_day_right_is_a_slip():
    assert compare_dates("1988-03-05", "1998-03-05") == "close"
    assert compare_dates("1988-03-05", "1989-03-05") == "close"
    assert compare_dates("1958-03-05", "1988-03-05") == "different"     # a parent's and a child's
    assert compare_dates("1988-03-05", "1998-03-06") == "different"


def test_a_room_left_out_is_partial_not_different():
    assert compare_addresses(DOOR, "幸福小区5栋3单元") == "partial"
    assert compare_addresses(DOOR, "幸福小区5栋4单元") == "different"
    assert compare_addresses(DOOR, "幸福小区5栋") == "different"        # no unit: not the staircase


def test_a_members_own_phone_against_the_households_counts_nothing():
    a = person_features({"name": "王梅天", "birth_date": "1988-02-04", "phone": "16696239176"})
    b = person_features({"name": "王梅天", "birth_date": "1988-02-04", "phone": "13325868734"})
    plain = compare(a, b, NameFrequency(total=50000))
    household = compare(a, b, NameFrequency(total=50000, shared_phones=frozenset({"13325868734"})))
    assert plain[2]["phone"] == "different" and household[2]["phone"] == "other-shared"
    assert household[1] > plain[1]


def test_the_register_size_without_name_counts():
    names = NameFrequency(register_size=160000)
    assert names.size_bits == 4.0
    assert names.weight("王伟") == NameFrequency().weight("王伟")       # names keep the default


# --- the rule ------------------------------------------------------------------------------------
def test_a_nickname_with_the_birth_date_and_the_door_is_same_if_alone():
    a = {"name": "李晓明", "birth_date": "1984-06-24", "address": DOOR}
    b = {"name": "阿明", "birth_date": "1984-06-24", "address": "幸福小区5-3-501"}
    kind, _, levels, rule = verdict(a, b)
    assert (kind, rule, levels["name"]) == ("maybe", ONLY_CANDIDATE, "nickname")
    assert _groups(link_records([dict(a, record_id="a"), dict(b, record_id="b")])) == [["a", "b"]]


def test_a_transposed_name_with_the_birth_date_and_the_households_phone_is_same_if_alone():
    household = NameFrequency(total=50000, shared_phones=frozenset({"13311112222"}))
    a = {"name": "王红霞", "birth_date": "1984-06-24", "phone": "13311112222"}
    b = {"name": "王霞红", "birth_date": "1984-06-24", "phone": "133 1111 2222"}
    kind, _, levels, rule = verdict(a, b, household)
    assert (kind, rule, levels["phone"]) == ("maybe", ONLY_CANDIDATE, "shared")


def test_a_common_name_and_a_birth_date_alone_are_not_enough_even_alone():
    names = NameFrequency({"李静": 40}, 50000)
    a = {"name": "李静", "birth_date": "1974-09-13", "gender": "F"}
    b = {"name": "李静", "birth_date": "1974-09-13", "gender": "F", "phone": "13800000000"}
    assert verdict(a, b, names)[3] != ONLY_CANDIDATE                      # two 李静 of a city
    at_door = verdict(dict(a, address=DOOR), dict(b, address=DOOR), names)
    assert at_door[0] == "same" or at_door[3] == ONLY_CANDIDATE


def test_a_rare_name_typed_another_way_born_the_same_day_elsewhere_is_not_enough():
    # 刘娜 / 李娜 born the same day in two communities: a near surname, nothing else in common
    a = {"name": "刘娜", "birth_date": "1994-05-14", "address": "通辽新村1栋3单元702室"}
    b = {"name": "李娜", "birth_date": "1994-05-14", "address": "谭花园25-6-602"}
    assert verdict(a, b)[3] != ONLY_CANDIDATE


def test_a_nickname_that_fits_two_twins_joins_neither():
    twin_a = {"record_id": "a", "name": "李晓明", "birth_date": "2012-03-04", "address": DOOR,
              "id_number": make_id("2012-03-04", 21)}
    twin_b = {"record_id": "b", "name": "李志明", "birth_date": "2012-03-04", "address": DOOR,
              "id_number": make_id("2012-03-04", 23)}
    nick = {"record_id": "n", "name": "阿明", "birth_date": "2012-03-04", "address": "幸福小区5-3-501"}
    assert verdict(nick, twin_a)[3] == ONLY_CANDIDATE and verdict(nick, twin_b)[3] == ONLY_CANDIDATE
    assert _groups(link_records([twin_a, twin_b, nick])) == [["a"], ["b"], ["n"]]
    assert _groups(link_records([twin_a, nick])) == [["a", "n"]]          # one twin alone: that one


def test_a_twin_whose_name_looks_dropped_is_never_joined_on_the_door():
    # 李玉 reads like 李远雨 with a character left out; a twin may have no other record
    rows = [{"record_id": "a", "name": "李远雨", "birth_date": "2001-06-15", "phone": "13711112222", "address": DOOR},
            {"record_id": "b", "name": "李玉", "birth_date": "2001-06-15", "phone": "13711112222", "address": DOOR}]
    assert _groups(link_records(_register(*rows)))[:2] == [["a"], ["b"]]


def test_clusters_of_both_genders_do_not_join_on_context():
    a = {"record_id": "a", "name": "李晓明", "birth_date": "1984-06-24", "address": DOOR, "gender": "M"}
    b = {"record_id": "b", "name": "阿明", "birth_date": "1984-06-24", "address": DOOR, "gender": "F"}
    assert verdict(a, b)[3] == ONLY_CANDIDATE
    assert _groups(link_records([a, b])) == [["a"], ["b"]]


# --- a parent's number on a child's record ----------------------------------------------------------
FATHER_ID = make_id("1960-07-01", 13)
FATHER = {"record_id": "f1", "name": "张国强", "id_number": FATHER_ID, "birth_date": "1960-07-01",
          "phone": "13311112222", "address": DOOR}
SON = {"record_id": "s1", "name": "张国强", "birth_date": "1988-08-08", "phone": "13311112222",
       "address": "幸福小区5-3-501"}
#: the father's number, no birth date: the father's record, or the namesake son's with it typed
UNSURE = {"record_id": "u", "name": "张国强", "id_number": FATHER_ID, "phone": "13311112222", "address": DOOR}


def test_a_number_that_may_be_a_parents_joins_neither_namesake():
    assert _groups(link_records([FATHER, SON, UNSURE])) == [["f1"], ["s1"], ["u"]]


def test_without_a_namesake_the_number_links():
    assert _groups(link_records([FATHER, UNSURE])) == [["f1", "u"]]


def test_a_son_a_decade_and_a_half_younger_is_a_namesake_a_decade_is_a_slip():
    # the only birth date on the other record a decade off: a slip of the year, not a son
    slip = dict(SON, birth_date="1970-07-01")
    assert _groups(link_records([FATHER, slip, UNSURE])) == [["f1", "s1", "u"]]


def test_the_device_asks_about_a_number_that_may_be_a_parents():
    index = PersonIndex([dict(FATHER, id="f1"), dict(SON, id="s1")])
    decision = index.lookup(dict(UNSURE, id="u"))
    assert decision.kind == "maybe"
    assert decision.candidates[0].id == "f1"
    alone = match_person(dict(UNSURE, id="u"), [dict(FATHER, id="f1")])
    assert alone.kind == "same"


def test_a_pupil_on_a_school_list_with_an_adults_number_holds_a_parents():
    pupil = {"name": "张国强", "id_number": FATHER_ID, "source": "school", "address": DOOR}
    feats = person_features(pupil)
    assert feats.id_foreign and not feats.birth
    assert verdict(pupil, FATHER)[0] != "same"
    assert not person_features(dict(pupil, source="grid")).id_foreign    # any other list: his own
    child_id = make_id("2014-09-01", 35)
    assert not person_features(dict(pupil, id_number=child_id, source="学籍名单")).id_foreign


# --- the device --------------------------------------------------------------------------------------
def test_the_device_answers_same_for_the_only_candidate_that_fits():
    held = [{"id": "p1", "name": "李晓明", "birth_date": "1984-06-24", "address": DOOR},
            {"id": "p2", "name": "刘明", "birth_date": "1950-01-01", "address": DOOR}]
    typed = {"name": "阿明", "birth_date": "1984-06-24", "address": "幸福小区5-3-501"}
    decision = PersonIndex(held).lookup(typed)
    assert decision.kind == "same" and decision.best.id == "p1"
    assert "rule:" + ONLY_CANDIDATE in decision.best.reasons
    held.append({"id": "p3", "name": "李志明", "birth_date": "1984-06-24", "address": DOOR})     # a twin
    assert PersonIndex(held).lookup(typed).kind == "maybe"               # two fit: the worker chooses
