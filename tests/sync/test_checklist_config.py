"""The six checks as versioned configuration: the built-in file loads, a bad city file is refused
with a message that says where, visits are checked against the version they name (old ones stay
valid after a city adds questions), and typed answers are checked with the answer's path."""
import copy
import json

import pytest

from sync.checklist import (CHECK_KEYS, DEFAULT_PATH, ChecklistConfigError, Checklists, load_checklists,
                            validate_checks)
from sync.errors import InvalidChange

with open(DEFAULT_PATH, encoding="utf-8") as _fh:
    BUILT_IN = json.load(_fh)


def city_data():
    return copy.deepcopy(BUILT_IN)


def write(tmp_path, data, name="city.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


def checks(**answers):
    """All six items ok; ``answers`` maps an item to its answers."""
    out = {k: {"status": "ok", "answers": {}, "note": ""} for k in CHECK_KEYS}
    for key, given in answers.items():
        out[key]["answers"] = given
    return out


def refused(tmp_path, data):
    path = write(tmp_path, data)
    with pytest.raises(ChecklistConfigError) as exc:
        load_checklists(path)
    message = str(exc.value)
    assert message.startswith(path + ":"), message
    return message


# --- the built-in file ------------------------------------------------------------------------

def test_the_built_in_checklist_loads_with_the_six_checks():
    cl = load_checklists()
    assert cl.latest == 1 and list(cl.versions) == [1]
    assert sorted(cl.versions[1]) == sorted(CHECK_KEYS)
    assert cl.versions[1]["income"]["phrase"] == "点点钱袋子"
    assert cl.versions[1]["children"]["questions"]["children"]["fields"]["carer"]["type"] == "choice"
    assert cl.versions[1]["children"]["questions"]["children"]["fields"]["age"] == {"type": "integer"}
    assert cl.settings["minimum_living_line"] == 850
    assert cl.as_dict()["latest"] == 1 and cl.as_dict()["versions"][0]["version"] == 1


def test_a_plain_visit_against_the_built_in_checklist_is_valid():
    c = checks()
    assert validate_checks(c, 1) is c


# --- bad files --------------------------------------------------------------------------------

def test_missing_items_are_named(tmp_path):
    data = city_data()
    del data["versions"][0]["items"]["housing"]
    msg = refused(tmp_path, data)
    assert "versions[0]" in msg and "items must be exactly" in msg and "housing" in msg


def test_an_extra_item_is_refused(tmp_path):
    data = city_data()
    data["versions"][0]["items"]["pets"] = {"questions": {}}
    assert "items must be exactly" in refused(tmp_path, data)


def test_a_duplicate_version_is_named(tmp_path):
    data = city_data()
    data["versions"].append(copy.deepcopy(data["versions"][0]))
    msg = refused(tmp_path, data)
    assert "versions[1]" in msg and "version 1 appears twice" in msg


@pytest.mark.parametrize("number", [0, -1, "1", True, None, 1.5])
def test_a_version_number_must_be_a_positive_integer(tmp_path, number):
    data = city_data()
    data["versions"][0]["version"] = number
    assert "versions[0]: 'version' must be a positive integer" in refused(tmp_path, data)


@pytest.mark.parametrize("data", [{}, {"versions": []}, {"versions": {}}, [], '"x"'])
def test_a_file_without_versions_is_refused(tmp_path, data):
    assert "needs a non-empty 'versions' list" in refused(tmp_path, data)


def test_a_bad_question_type_names_the_question(tmp_path):
    data = city_data()
    data["versions"][0]["items"]["income"]["questions"]["savings"] = {"type": "money"}
    msg = refused(tmp_path, data)
    assert "versions[0].items.income.questions.savings: type must be one of" in msg
    assert "number" in msg and "rows" in msg


def test_a_choice_without_options_names_the_question(tmp_path):
    for options in (None, [], "A,B"):
        data = city_data()
        spec = data["versions"][0]["items"]["housing"]["questions"]["danger_grade"]
        spec.pop("options")
        if options is not None:
            spec["options"] = options
        msg = refused(tmp_path, data)
        assert "versions[0].items.housing.questions.danger_grade: a choice needs a non-empty options list" in msg


def test_rows_need_fields_and_a_bad_field_is_named(tmp_path):
    data = city_data()
    data["versions"][0]["items"]["children"]["questions"]["children"]["fields"] = {}
    assert "items.children.questions.children: rows need a fields object" in refused(tmp_path, data)
    data = city_data()
    data["versions"][0]["items"]["children"]["questions"]["children"]["fields"]["age"] = "years"
    assert "items.children.questions.children.fields.age: type must be one of" in refused(tmp_path, data)


def test_nested_rows_are_refused(tmp_path):
    data = city_data()
    data["versions"][0]["items"]["children"]["questions"]["children"]["fields"]["siblings"] = {
        "type": "rows", "fields": {"name": "text"}}
    msg = refused(tmp_path, data)
    assert "versions[0].items.children.questions.children: rows cannot nest rows" in msg


def test_invalid_json_says_which_line(tmp_path):
    msg = refused(tmp_path, '{"versions": [\n  {"version": 1,,}\n]}')
    assert "not valid JSON (line 2" in msg


def test_an_unreadable_path_is_named(tmp_path):
    missing = str(tmp_path / "nope.json")
    with pytest.raises(ChecklistConfigError) as exc:
        load_checklists(missing)
    assert str(exc.value).startswith(missing + ": cannot read")
    with pytest.raises(ChecklistConfigError, match="cannot read"):
        load_checklists(str(tmp_path))      # a directory


def test_an_item_that_is_not_an_object_is_refused_with_its_place(tmp_path):
    data = city_data()
    data["versions"][0]["items"]["food"] = "rice"
    assert "versions[0].items.food" in refused(tmp_path, data)


def test_questions_that_are_not_an_object_are_refused_with_their_place(tmp_path):
    data = city_data()
    data["versions"][0]["items"]["food"]["questions"] = ["meals_per_day"]
    assert "versions[0].items.food" in refused(tmp_path, data)


# --- versions ---------------------------------------------------------------------------------

@pytest.fixture
def two_versions(tmp_path):
    data = city_data()
    v2 = copy.deepcopy(data["versions"][0])
    v2["version"] = 2
    v2["items"]["income"]["questions"]["pension"] = {"type": "number", "label": "养老金(元)"}
    data["versions"].append(v2)
    return load_checklists(write(tmp_path, data))


def test_a_city_adds_a_question_in_version_2(two_versions):
    assert two_versions.latest == 2 and sorted(two_versions.versions) == [1, 2]
    v2 = checks(income={"income_per_person": 600, "pension": 300})
    assert validate_checks(v2, 2, two_versions) is v2


def test_a_visit_against_version_1_may_not_answer_the_new_question(two_versions):
    with pytest.raises(InvalidChange) as exc:
        validate_checks(checks(income={"pension": 300}), 1, two_versions)
    assert exc.value.field == "checks.income.answers.pension"
    assert "not a question of checklist version 1" in str(exc.value)


def test_old_version_1_visits_still_validate(two_versions):
    old = checks(income={"income_per_person": 600, "assistance": "dibao"},
                 children={"children": [{"age": 9, "carer": "grandparents", "in_school": True}]})
    assert validate_checks(old, 1, two_versions) is old


@pytest.mark.parametrize("version", [3, 0, "1", None, 1.0])
def test_an_unknown_version_is_refused(two_versions, version):
    with pytest.raises(InvalidChange) as exc:
        validate_checks(checks(), version, two_versions)
    assert exc.value.field == "checklist_version"


# --- typed answers ----------------------------------------------------------------------------

@pytest.mark.parametrize("item,question,value", [
    ("income", "income_per_person", 800), ("income", "income_per_person", 812.5), ("income", "debts", 0),
    ("food", "meals_per_day", 3), ("food", "relies_on_aid", False), ("clothing", "bedding", True),
    ("income", "sources", "低保+零工"), ("income", "sources", ""), ("income", "assistance", "tekun"),
    ("housing", "danger_grade", "D"), ("income", "income_per_person", None),
    ("children", "children", []),
    ("children", "children", [{"person_id": "p1", "age": 7, "in_school": True, "carer": "none",
                               "left_behind": True}, {"age": 12}, {"carer": None}]),
])
def test_well_typed_answers_are_accepted(item, question, value):
    validate_checks(checks(**{item: {question: value}}), 1)


@pytest.mark.parametrize("item,question,value,says", [
    ("income", "income_per_person", "800", "must be a number"),
    ("income", "income_per_person", True, "must be a number"),
    ("food", "meals_per_day", 2.5, "must be an integer"),
    ("food", "meals_per_day", 2.0, "must be an integer"),
    ("food", "meals_per_day", False, "must be an integer"),
    ("food", "relies_on_aid", 1, "must be a boolean"),
    ("clothing", "bedding", "yes", "must be a boolean"),
    ("income", "sources", 5, "must be a text"),
    ("income", "sources", "x" * 2001, "must be a text"),
    ("income", "assistance", "DIBAO", "must be one of none, dibao, tekun, temporary"),
    ("housing", "danger_grade", ["C"], "must be one of A, B, C, D"),
    ("children", "children", {"age": 3}, "must be a list of at most 64 rows"),
    ("children", "children", [{"age": 3}] * 65, "must be a list of at most 64 rows"),
    ("children", "children", ["kid"], "row 0 must be an object"),
    ("children", "children", [{"age": 3}, {"shoe_size": 30}], "row 1: shoe_size is not a field"),
    ("children", "children", [{"age": "7"}], "row 0: age must be an integer"),
    ("children", "children", [{"in_school": "no"}], "row 0: in_school must be a boolean"),
    ("children", "children", [{"age": 4}, {"carer": "aunt"}], "row 1: carer must be one of parents"),
])
def test_badly_typed_answers_are_refused_with_their_path(item, question, value, says):
    with pytest.raises(InvalidChange) as exc:
        validate_checks(checks(**{item: {question: value}}), 1)
    path = f"checks.{item}.answers.{question}"
    assert exc.value.field == path
    assert str(exc.value).startswith(path) and says in str(exc.value), str(exc.value)


@pytest.mark.parametrize("mutate,field", [
    (lambda c: c.pop("health"), "checks"),
    (lambda c: c.update(pets={"status": "ok"}), "checks.pets"),
    (lambda c: c.update(food="fine"), "checks.food"),
    (lambda c: c["food"].update(colour="red"), "checks.food"),
    (lambda c: c["food"].update(status="bad"), "checks.food.status"),
    (lambda c: c["food"].pop("status"), "checks.food.status"),
    (lambda c: c["food"].update(answers=[1]), "checks.food.answers"),
    (lambda c: c["food"]["answers"].update(snacks=1), "checks.food.answers.snacks"),
    (lambda c: c["food"].update(note="x" * 2001), "checks.food.note"),
    (lambda c: c["food"].update(note=7), "checks.food.note"),
])
def test_the_shape_of_the_checks_is_enforced(mutate, field):
    c = checks()
    mutate(c)
    with pytest.raises(InvalidChange) as exc:
        validate_checks(c, 1)
    assert exc.value.field == field


def test_checks_that_are_not_an_object_are_refused():
    with pytest.raises(InvalidChange) as exc:
        validate_checks([], 1)
    assert exc.value.field == "checks"


def test_a_checklists_object_can_be_built_from_data_with_a_source_name():
    with pytest.raises(ChecklistConfigError, match=r"^city-x: needs a non-empty 'versions' list"):
        Checklists({"versions": []}, source="city-x")


# --- the server refuses to start on a bad file ------------------------------------------------

def _server_config(tmp_path, **extra):
    from tests.conftest import _config
    return _config(f"sqlite:///{tmp_path / 'unused.db'}", **extra)


def test_a_server_with_a_bad_checklist_file_fails_at_create_app(tmp_path):
    from server import create_app
    data = city_data()
    data["versions"][0]["items"]["health"]["questions"]["disability"] = {"type": "choice"}
    path = write(tmp_path, data)
    with pytest.raises(ChecklistConfigError) as exc:
        create_app(_server_config(tmp_path, CHECKLISTS_FILE=path))
    assert str(exc.value) == (f"{path}: versions[0].items.health.questions.disability: "
                              "a choice needs a non-empty options list")


def test_a_server_with_a_missing_checklist_file_fails_at_create_app(tmp_path):
    from server import create_app
    path = str(tmp_path / "missing.json")
    with pytest.raises(ChecklistConfigError, match="missing.json: cannot read"):
        create_app(_server_config(tmp_path, CHECKLISTS_FILE=path))


def test_a_server_with_a_good_city_file_uses_it(tmp_path, two_versions):
    from server import create_app
    data = city_data()
    data["settings"]["minimum_living_line"] = 1100
    app = create_app(_server_config(tmp_path, CHECKLISTS_FILE=write(tmp_path, data, "good.json")))
    assert app.extensions["checklists"].settings["minimum_living_line"] == 1100
