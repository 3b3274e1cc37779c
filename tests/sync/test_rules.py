"""Rules from configuration turn a visit's answers into suggested flags: each built-in rule fires
on the answers it names and not otherwise, red comes first, a city's own rules file works with
all/any/rows conditions, and a bad rules file is refused when it is loaded."""
import json

import pytest

from sync.checklist import CHECK_KEYS, ChecklistConfigError, default_checklists
from sync.rules import DEFAULT_PATH, Rules, Suggestion, load_rules

RULES = load_rules()
SETTINGS = default_checklists().settings


def checks(statuses=None, **answers):
    out = {k: {"status": "ok", "answers": {}, "note": ""} for k in CHECK_KEYS}
    for key, given in answers.items():
        out[key]["answers"] = given
    for key, status in (statuses or {}).items():
        out[key]["status"] = status
    return out


def fired(c, rules=RULES, settings=SETTINGS):
    return [s.rule_id for s in rules.evaluate(c, settings)]


def child(**kw):
    return {"children": [dict({"age": 9, "in_school": True, "carer": "parents"}, **kw)]}


def test_the_built_in_rules_load():
    with open(DEFAULT_PATH, encoding="utf-8") as fh:
        ids = [r["id"] for r in json.load(fh)["rules"]]
    assert [r["id"] for r in RULES.rules] == ids
    assert {"unsupported_child", "below_minimum_line", "dangerous_house", "urgent_check"} <= set(ids)


def test_a_visit_with_nothing_wrong_suggests_nothing():
    assert RULES.evaluate(checks(), SETTINGS) == []
    assert fired(checks(income={"income_per_person": 2000}, food={"meals_per_day": 3},
                        housing={"danger_grade": "A"}, health={"disability": "certified"},
                        children=child())) == []


def test_a_child_with_no_carer_is_a_red_de_facto_unsupported_child():
    (s,) = RULES.evaluate(checks(children={"children": [{"age": 12, "carer": "parents", "in_school": True},
                                                        {"age": 7, "carer": "none", "in_school": True}]}),
                          SETTINGS)
    assert s == Suggestion("unsupported_child", "de_facto_unsupported_child", "red",
                           "a child has no one caring for them")


@pytest.mark.parametrize("carer", ["parents", "one_parent", "grandparents", "relatives", None])
def test_a_child_with_a_carer_is_not_unsupported(carer):
    assert "unsupported_child" not in fired(checks(children=child(carer=carer)))


@pytest.mark.parametrize("age,in_school,fires", [
    (6, False, True), (10, False, True), (15, False, True),
    (5, False, False), (16, False, False), (10, True, False), (None, False, False), (10, None, False),
])
def test_a_school_age_child_out_of_school_is_a_yellow_child_in_difficulty(age, in_school, fires):
    got = RULES.evaluate(checks(children=child(age=age, in_school=in_school)), SETTINGS)
    assert [(s.rule_id, s.category, s.colour) for s in got] == (
        [("child_out_of_school", "children_in_difficulty", "yellow")] if fires else [])


@pytest.mark.parametrize("income,fires", [(0, True), (849.99, True), (850, False), (2000, False), (None, False)])
def test_income_under_the_minimum_line_setting_is_yellow(income, fires):
    got = RULES.evaluate(checks(income={"income_per_person": income}), SETTINGS)
    assert [(s.category, s.colour) for s in got] == ([("low_income", "yellow")] if fires else [])


def test_the_minimum_line_comes_from_the_settings():
    c = checks(income={"income_per_person": 900})
    assert fired(c) == []
    assert fired(c, settings={"minimum_living_line": 1000}) == ["below_minimum_line"]
    assert fired(c, settings={}) == []          # no line set: nothing to compare with
    assert fired(c, settings=None) == []


@pytest.mark.parametrize("grade,fires", [("A", False), ("B", False), ("C", True), ("D", True)])
def test_a_dangerous_house_graded_c_or_d_is_red(grade, fires):
    got = RULES.evaluate(checks(housing={"danger_grade": grade}), SETTINGS)
    assert [(s.category, s.colour) for s in got] == ([("dangerous_housing", "red")] if fires else [])


@pytest.mark.parametrize("disability,fires", [("not_certified", True), ("certified", False), ("none", False)])
def test_an_uncertified_disability_is_yellow(disability, fires):
    got = RULES.evaluate(checks(health={"disability": disability}), SETTINGS)
    assert [(s.category, s.colour) for s in got] == ([("unregistered_disability", "yellow")] if fires else [])


@pytest.mark.parametrize("illness,debt,fires", [
    (True, 5000, True), (True, 0, False), (False, 5000, False), (True, None, False), (None, 5000, False)])
def test_serious_illness_with_medical_debt_is_yellow_illness_poverty(illness, debt, fires):
    got = fired(checks(health={"serious_illness": illness}, income={"medical_debt": debt}))
    assert got == (["illness_poverty"] if fires else [])


def test_an_elderly_person_alone_is_green():
    (s,) = RULES.evaluate(checks(health={"elderly_alone": True}), SETTINGS)
    assert (s.category, s.colour) == ("elderly_alone", "green")
    assert fired(checks(health={"elderly_alone": False})) == []


@pytest.mark.parametrize("meals,fires", [(0, True), (1, True), (2, False), (3, False)])
def test_fewer_than_two_meals_a_day_is_red(meals, fires):
    got = RULES.evaluate(checks(food={"meals_per_day": meals}), SETTINGS)
    assert [(s.category, s.colour) for s in got] == ([("food_shortage", "red")] if fires else [])


@pytest.mark.parametrize("item", CHECK_KEYS)
def test_any_check_marked_urgent_is_red_and_concern_is_not(item):
    got = RULES.evaluate(checks({item: "urgent"}), SETTINGS)
    assert [(s.rule_id, s.colour) for s in got] == [("urgent_check", "red")]
    assert fired(checks({item: "concern"})) == []


def test_suggestions_come_red_first_then_yellow_then_green():
    c = checks({"clothing": "urgent"}, health={"elderly_alone": True, "disability": "not_certified"},
               income={"income_per_person": 300}, housing={"danger_grade": "D"},
               children=child(carer="none", in_school=False))
    got = RULES.evaluate(c, SETTINGS)
    assert [s.colour for s in got] == ["red"] * 3 + ["yellow"] * 3 + ["green"]
    # within a colour, the order of the rules file
    assert [s.rule_id for s in got] == ["unsupported_child", "dangerous_house", "urgent_check",
                                        "child_out_of_school", "below_minimum_line", "unregistered_disability",
                                        "elderly_alone"]


# --- a city's own rules -----------------------------------------------------------------------

CITY_RULES = {"rules": [
    {"id": "alone_and_cold", "category": "elderly_alone", "colour": "red", "reason": "alone without heating",
     "when": {"all": [{"answer": "health.elderly_alone", "op": "==", "value": True},
                      {"any": [{"answer": "housing.heating", "op": "==", "value": False},
                               {"answer": "clothing.winter_clothing", "op": "==", "value": False}]}]}},
    {"id": "left_behind_young", "category": "left_behind_child", "colour": "yellow",
     "when": {"rows": "children.children", "any": {"all": [
         {"field": "left_behind", "op": "==", "value": True},
         {"field": "carer", "op": "in", "value": ["grandparents", "relatives"]},
         {"field": "age", "op": "<", "value": 12}]}}},
    {"id": "housing_worry", "category": "housing", "colour": "green",
     "when": {"any": [{"status": "housing", "in": ["concern", "urgent"]},
                      {"answer": "housing.persons_per_room", "op": ">=", "value": 3}]}},
    {"id": "on_aid", "category": "on_aid", "colour": "green",
     "when": {"answer": "income.assistance", "op": "!=", "value": "none"}},
]}


@pytest.fixture
def city_rules(tmp_path):
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(CITY_RULES), encoding="utf-8")
    return load_rules(str(path))


def test_all_and_any_combine(city_rules):
    alone = {"elderly_alone": True}
    assert fired(checks(health=alone, housing={"heating": False}), city_rules) == ["alone_and_cold"]
    assert fired(checks(health=alone, clothing={"winter_clothing": False}), city_rules) == ["alone_and_cold"]
    assert fired(checks(health=alone, housing={"heating": True}, clothing={"winter_clothing": True}),
                 city_rules) == []
    assert fired(checks(health={"elderly_alone": False}, housing={"heating": False}), city_rules) == []


def test_a_rows_condition_needs_one_row_matching_every_part(city_rules):
    def rows(*kids):
        return checks(children={"children": list(kids)})
    match = {"left_behind": True, "carer": "grandparents", "age": 8}
    assert fired(rows({"age": 14}, match), city_rules) == ["left_behind_young"]
    # the parts hold in different rows, never all in one: no suggestion
    assert fired(rows({"left_behind": True, "carer": "parents", "age": 8},
                      {"left_behind": False, "carer": "relatives", "age": 8}), city_rules) == []
    assert fired(rows(dict(match, age=12)), city_rules) == []
    assert fired(rows(), city_rules) == []


def test_status_and_comparison_conditions(city_rules):
    assert fired(checks({"housing": "concern"}), city_rules) == ["housing_worry"]
    assert fired(checks({"food": "urgent"}), city_rules) == []
    assert fired(checks(housing={"persons_per_room": 3}), city_rules) == ["housing_worry"]
    assert fired(checks(housing={"persons_per_room": 2.5}), city_rules) == []
    assert fired(checks(income={"assistance": "dibao"}), city_rules) == ["on_aid"]
    assert fired(checks(income={"assistance": "none"}), city_rules) == []
    assert fired(checks(income={}), city_rules) == []          # unanswered: no suggestion


def test_an_answer_of_the_wrong_type_does_not_fire_or_crash(city_rules):
    assert fired(checks(housing={"persons_per_room": "many"}), city_rules) == []
    assert fired(checks(children={"children": ["not a row", {"age": "eight", "left_behind": True,
                                                            "carer": "relatives"}]}), city_rules) == []


# --- bad rules files --------------------------------------------------------------------------

def _rule(**over):
    return dict({"id": "r", "category": "c", "colour": "red",
                 "when": {"answer": "food.meals_per_day", "op": "<", "value": 2}}, **over)


@pytest.mark.parametrize("data,says", [
    ({}, "needs a 'rules' list"),
    ([], "needs a 'rules' list"),
    ({"rules": {"r": {}}}, "needs a 'rules' list"),
    ({"rules": ["r"]}, "rules[0]: must be an object"),
    ({"rules": [_rule(), {k: v for k, v in _rule(id="s").items() if k != "colour"}]}, "rules[1]: missing 'colour'"),
    ({"rules": [{k: v for k, v in _rule().items() if k != "when"}]}, "rules[0]: missing 'when'"),
    ({"rules": [{k: v for k, v in _rule().items() if k != "id"}]}, "rules[0]: missing 'id'"),
    ({"rules": [{k: v for k, v in _rule().items() if k != "category"}]}, "rules[0]: missing 'category'"),
    ({"rules": [_rule(colour="blue")]}, "rules[0]: colour must be one of red, yellow, green"),
    ({"rules": [_rule(), _rule()]}, "rules[1]: id 'r' appears twice"),
    ({"rules": [_rule(when="meals < 2")]}, "rules[0].when: a condition must be an object"),
    ({"rules": [_rule(when={"all": []})]}, "rules[0].when: all/any need a non-empty list"),
    ({"rules": [_rule(when={"any": {"status": "*", "in": ["urgent"]}})]}, "rules[0].when: all/any need"),
    ({"rules": [_rule(when={"all": [{"status": "*", "in": ["urgent"]}, {"nonsense": 1}]})]},
     "rules[0].when[1]: not a condition"),
    ({"rules": [_rule(when={"answer": "food.meals_per_day", "op": "~", "value": 2})]},
     "rules[0].when: op must be one of"),
    ({"rules": [_rule(when={"rows": "children.children", "any": {"field": "age", "op": "=<", "value": 2}})]},
     "rules[0].when.any: op must be one of"),
    ({"rules": [_rule(when={"rows": "children.children"})]}, "rules[0].when.any: a condition must be an object"),
    ({"rules": [_rule(when={"status": "pets", "in": ["urgent"]})]}, "status names an unknown item 'pets'"),
])
def test_bad_rules_are_refused_with_their_place(data, says):
    with pytest.raises(ChecklistConfigError) as exc:
        Rules(data, source="city-rules.json")
    assert str(exc.value).startswith("city-rules.json: ") and says in str(exc.value), str(exc.value)


def test_a_comparison_without_a_value_is_refused_at_load_not_at_the_first_visit():
    with pytest.raises(ChecklistConfigError, match=r"rules\[0\]\.when"):
        Rules({"rules": [_rule(when={"answer": "food.meals_per_day", "op": "<"})]})


def test_a_status_condition_without_its_statuses_is_refused_at_load():
    with pytest.raises(ChecklistConfigError, match=r"rules\[0\]\.when"):
        Rules({"rules": [_rule(when={"status": "food"})]})


def test_an_answer_naming_an_unknown_check_item_is_refused_like_a_status_is():
    with pytest.raises(ChecklistConfigError, match=r"rules\[0\]\.when"):
        Rules({"rules": [_rule(when={"answer": "wallet.income_per_person", "op": "<", "value": 850})]})


def test_bad_rules_files_on_disk_are_named(tmp_path):
    bad = tmp_path / "rules.json"
    bad.write_text('{"rules": [\n  {"id": "x",}\n]}', encoding="utf-8")
    with pytest.raises(ChecklistConfigError, match=r"rules.json: not valid JSON \(line 2"):
        load_rules(str(bad))
    with pytest.raises(ChecklistConfigError, match="nope.json: cannot read"):
        load_rules(str(tmp_path / "nope.json"))


def test_a_server_with_a_bad_rules_file_fails_at_create_app(tmp_path):
    from server import create_app
    from tests.conftest import _config
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"rules": [_rule(colour="amber")]}), encoding="utf-8")
    with pytest.raises(ChecklistConfigError, match=r"rules\[0\]: colour must be one of"):
        create_app(_config(f"sqlite:///{tmp_path / 'unused.db'}", RULES_FILE=str(path)))
