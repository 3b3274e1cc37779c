"""The conformance vectors every client of the protocol must pass, generated from ``sync/``.

Run ``python -m tests.conformance.generate`` after changing a rule in ``sync/``: it rewrites
``tests/conformance/vectors/*.json``. The Python side checks that the committed vectors equal a
fresh generation (so a rule changed without regenerating fails), and the field app's node tests
(tests/field/*.test.mjs) run the same vectors over its JavaScript modules (so a rule the app does
not follow fails). Inputs are written here by hand; every expected output is computed by
``sync/``'s own functions, never typed in.
"""
import copy
import json
import os
import sys

from sync.casework import allowed_actions, may_act, may_raise, summons_refusal
from sync.checklist import CHECK_KEYS, Checklists, default_checklists, validate_checks
from sync.clock import HybridClock, parse_stamp
from sync.errors import SyncError
from sync.flags import ACTIONS, LEVELS, STATES, check_event, fold_flag
from sync.identity import mask_id_number, mask_phone, normalize_id_number, normalize_phone
from sync.identity.names import name_initials, normalize_name
from sync.merge import merge_fields
from sync.rules import load_rules

VECTORS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
#: the field app's table of pinyin initials, generated with the vectors from the same reading
INITIALS_TABLE = os.path.join(ROOT, "server", "field", "static", "core", "pinyin-initials.js")


def _error(exc):
    return {"message": exc.message, "field": exc.field, "code": exc.code}


# --- HLC ----------------------------------------------------------------------------------------
def hlc():
    parse = []
    for stamp in ["1795457675266-0001-tablet-1", "0000000000000-0000-a", "1795457675266-9999-server-e1286fb2",
                  "1795457675266-0001-node.with:all_kinds-ok", "1795457675266-0001-" + "n" * 64,
                  "1795457675266-0001-" + "n" * 65, "2024-05-01 10:00", "179545767526-0001-tablet-1",
                  "1795457675266-001-tablet-1", "1795457675266-0001-", "1795457675266-0001-tablet 1",
                  "1795457675266-0001-平板", "", "1795457675266-0001-tablet-1\n", 1795457675266, None]:
        try:
            ms, counter, node = parse_stamp(stamp)
            parse.append({"stamp": stamp, "ok": True, "ms": ms, "counter": counter, "node": node})
        except SyncError as exc:
            parse.append({"stamp": stamp, "ok": False, "error": exc.code})
    order = sorted(["1795457675266-0001-tablet-1", "1795457675266-0001-tablet-10", "1795457675266-0000-z",
                    "1795457675267-0000-a", "0795457675266-9999-tablet-1", "1795457675266-0001-tablet-1a",
                    "1795457675266-0001-Tablet-1", "1795457675266-0010-a", "1795457675266-0001-server-e1286fb2"])
    clocks = []
    scripts = [
        # (node, [(op, wall, stamp-or-None)])
        ("tablet-1", [("now", 1000, None), ("now", 1000, None), ("now", 999, None), ("now", 2000, None)]),
        ("tablet-1", [("observe", 1000, "0000000005000-0003-server-1"), ("now", 1000, None),
                      ("observe", 1000, "0000000005000-0007-tablet-2"), ("now", 6000, None)]),
        ("tablet-1", [("now", 5000, None), ("observe", 5000, "0000000005000-0002-tablet-2"),
                      ("observe", 4000, "0000000003000-0009-tablet-2"), ("now", 4000, None)]),
        ("t", [("observe", 10, "0000000000100-9998-x"), ("now", 10, None), ("now", 10, None),
               ("observe", 10, "0000000000101-9999-y"), ("now", 50, None)]),
        ("server-e1286fb2", [("now", 1795457675266, None), ("observe", 1795457675000, "1795457675300-0000-tablet-1"),
                             ("now", 1795457675266, None)]),
    ]
    for node, steps in scripts:
        wall = {"ms": 0}
        clock = HybridClock(node, wall=lambda: wall["ms"])
        out = []
        for op, at, stamp in steps:
            wall["ms"] = at
            if op == "now":
                out.append({"op": "now", "wall": at, "expect": clock.now()})
            else:
                clock.observe(stamp)
                out.append({"op": "observe", "wall": at, "stamp": stamp, "expect": clock.peek()})
        clocks.append({"node": node, "steps": out})
    return {"about": "HLC stamps (sync/clock.py): parsing, string order, and a clock's now/observe "
                     "against a scripted wall clock (expect: the stamp now() returns, or peek() after observe)",
            "parse": parse, "order": order, "clocks": clocks}


# --- merge --------------------------------------------------------------------------------------
def merge():
    a, b = "1795457675266-0000-tablet-1", "1795457675355-0000-tablet-2"
    later_a, older_b = "1795457675360-0000-tablet-1", "1795457615364-0000-tablet-2"
    cases = [
        ("a new record takes every field", {}, {}, [({"address": "和平路12号", "room": "401"}, a, None)]),
        ("a later stamp wins, made on what it saw: no conflict", {"note": "x"}, {"note": a},
         [({"note": "y"}, b, {"note": a})]),
        ("an unseen overwrite by another device is a conflict (current lost)", {"note": "x"}, {"note": a},
         [({"note": "y"}, b, {"note": "1795457675000-0000-tablet-9"})]),
        ("no base at all: an overwrite of another device's different value conflicts", {"note": "x"}, {"note": a},
         [({"note": "y"}, b, None)]),
        ("the same value overwritten unseen: no conflict, the stamp moves", {"note": "x"}, {"note": a},
         [({"note": "x"}, b, None)]),
        ("a device's own later write never conflicts", {"note": "x"}, {"note": a},
         [({"note": "y"}, later_a, None)]),
        ("an older stamp loses; a different value is a conflict (incoming lost)",
         {"note": "ground floor", "room": "401"}, {"note": later_a, "room": a},
         [({"note": "old idea", "room": "402"}, older_b, None)]),
        ("an older stamp with the same value: nothing", {"room": "401"}, {"room": b}, [({"room": "401"}, a, None)]),
        ("the same stamp twice: nothing changes", {"room": "401"}, {"room": a}, [({"room": "999"}, a, None)]),
        ("different fields by two devices both survive", {"room": "401", "phone": "1"}, {"room": a, "phone": a},
         [({"room": "402"}, b, {"room": a}), ({"phone": "2"}, later_a, {"phone": a})]),
        ("order does not matter: newer first, then older", {}, {},
         [({"note": "new"}, later_a, None), ({"note": "old"}, b, None)]),
        ("order does not matter: older first, then newer", {}, {},
         [({"note": "old"}, b, None), ({"note": "new"}, later_a, None)]),
        ("a tombstone and an edit at the same time both stand", {"deleted": False, "note": "n"},
         {"deleted": a, "note": a}, [({"deleted": True}, b, {"deleted": a}), ({"note": "m"}, later_a, {"note": a})]),
        ("null clears a field", {"phone": "138"}, {"phone": a}, [({"phone": None}, b, {"phone": a})]),
        ("a tie on the clock is broken by the node", {"note": "x"}, {"note": "1795457675266-0000-tablet-1"},
         [({"note": "y"}, "1795457675266-0000-tablet-2", None)]),
        ("numbers equal across int and float do not conflict", {"n": 1}, {"n": a}, [({"n": 1.0}, b, None)]),
        ("objects compare by value", {"o": {"a": [1, 2]}}, {"o": a}, [({"o": {"a": [1, 2]}}, b, None)]),
    ]
    out = []
    for about, values, stamps, changes in cases:
        vals, sts = copy.deepcopy(values), dict(stamps)
        steps = []
        for fields, stamp, base in changes:
            changed, conflicts = merge_fields(vals, sts, fields, stamp, base)
            steps.append({"fields": fields, "stamp": stamp, "base": base,
                          "changed": changed,
                          "conflicts": [{"field": c.field, "kept_value": c.kept_value, "kept_stamp": c.kept_stamp,
                                         "lost_value": c.lost_value, "lost_stamp": c.lost_stamp,
                                         "lost_side": c.lost_side} for c in conflicts]})
        out.append({"about": about, "values": values, "stamps": stamps, "steps": steps,
                    "final_values": vals, "final_stamps": sts})
    return {"about": "Field-level last-writer-wins (sync/merge.py merge_fields), change after change",
            "cases": out}


# --- flags and casework -------------------------------------------------------------------------
def _ev(i, stamp, action, **kw):
    return dict({"id": f"e{i}", "stamp": f"17954576{stamp:05d}-0000-t", "action": action}, **kw)


def flags():
    folds = [
        ("no events", "red", None, []),
        ("the closed loop", "yellow", "community", [
            _ev(1, 1, "confirm", from_state="reported"), _ev(2, 2, "start", from_state="confirmed"),
            _ev(3, 3, "resolve", from_state="in_progress"), _ev(4, 4, "verify", from_state="resolved", visit_id="v"),
            _ev(5, 5, "close", from_state="verified")]),
        ("a stale reject synced late is off the path", "red", "community", [
            _ev(1, 20, "confirm", from_state="reported"), _ev(2, 10, "reject", from_state="reported")]),
        ("events in any order fold the same", "red", "community", [
            _ev(3, 30, "escalate", level="street"), _ev(1, 10, "confirm", from_state="reported", at_level="community"),
            _ev(2, 20, "recolour", colour="yellow")]),
        ("a confirm made at a level the flag had left is concurrent", "red", "community", [
            _ev(1, 10, "escalate", level="street"), _ev(2, 20, "confirm", from_state="reported", at_level="community")]),
        ("reopen and again", "green", "street", [
            _ev(1, 1, "reject", from_state="reported"), _ev(2, 2, "reopen", from_state="rejected"),
            _ev(3, 3, "confirm", from_state="reported"), _ev(4, 4, "note"), _ev(5, 5, "route", level="district")]),
        ("two confirms on the same view: both on the path? only the later", "red", None, [
            _ev(1, 1, "confirm", from_state="reported"), _ev(2, 2, "confirm", from_state="reported")]),
        ("a transition from a state the later one did not lead from", "red", None, [
            _ev(1, 1, "confirm", from_state="reported"), _ev(2, 2, "start", from_state="confirmed"),
            _ev(3, 3, "reject", from_state="confirmed")]),
        ("an assignment holds the case at its level; an escalation leaves the holder behind", "red", "community", [
            _ev(1, 1, "assign", assignee_id="p1", at_level="community"), _ev(2, 2, "escalate", level="street")]),
        ("the latest assignment at the level holds; one made at a level the flag left does not", "red", "community", [
            _ev(1, 1, "assign", assignee_id="p1"), _ev(2, 2, "escalate", level="street"),
            _ev(3, 3, "assign", assignee_id="p2", at_level="community"),
            _ev(4, 4, "assign", assignee_id="p3", at_level="street")]),
        ("a route to the same level keeps the holder", "red", "street", [
            _ev(1, 1, "assign", assignee_id="p1"), _ev(2, 2, "route", level="street")]),
        ("departments summoned, reporting in, answering, released, summoned again", "yellow", "street", [
            _ev(1, 1, "summon", department_id="d1", note="n"), _ev(2, 2, "summon", department_id="d2", note="n"),
            _ev(3, 3, "report_in", department_id="d1"), _ev(4, 4, "answer", department_id="d1", note="n"),
            _ev(5, 5, "release", department_id="d2"), _ev(6, 6, "summon", department_id="d1", note="again"),
            _ev(7, 7, "summon", department_id="d3", note="n")]),
        ("department steps out of order change nothing; a step without a department is ignored", "red", "street", [
            _ev(3, 3, "answer", department_id="d1", note="n"), _ev(1, 1, "report_in", department_id="d1"),
            _ev(2, 2, "summon", department_id="d1", note="n"), _ev(4, 4, "summon", department_id="d1", note="twice"),
            _ev(5, 5, "release"), _ev(6, 6, "hand_over", department_id="d1")]),
    ]
    fold = [{"about": about, "colour": colour, "level": level, "events": events,
             "expect": fold_flag(colour, level, events)} for about, colour, level, events in folds]
    checks = []
    samples = [
        {"action": "confirm", "from_state": "reported"}, {"action": "confirm"},
        {"action": "confirm", "from_state": "closed"}, {"action": "verify", "from_state": "resolved"},
        {"action": "verify", "from_state": "resolved", "visit_id": "v"}, {"action": "reject", "from_state": "confirmed"},
        {"action": "reopen", "from_state": "in_progress"}, {"action": "escalate"}, {"action": "escalate", "level": "city"},
        {"action": "route", "level": "street"}, {"action": "recolour", "colour": "blue"},
        {"action": "recolour", "colour": "green"}, {"action": "note"}, {"action": "close", "from_state": "verified"},
        {"action": "assign"}, {"action": "assign", "assignee_id": "p"}, {"action": "summon"},
        {"action": "summon", "department_id": "d"}, {"action": "summon", "department_id": "d", "note": "请到场"},
        {"action": "report_in", "department_id": "d"}, {"action": "report_in"}, {"action": "answer", "department_id": "d"},
        {"action": "answer", "department_id": "d", "note": "已处理"}, {"action": "release", "department_id": "d"},
        {"action": "release", "note": "x"},
    ]
    for fields in samples:
        try:
            check_event(dict(fields))
            checks.append({"fields": fields, "ok": True})
        except SyncError as exc:
            checks.append({"fields": fields, "ok": False, "error": _error(exc)})
    roles = ("grid_worker", "community", "street", "district", "bureau", "department", "system", "nobody")
    allowed = [{"role": r, "state": s, "level": lv, "expect": allowed_actions(r, s, lv)}
               for r in roles for s in STATES for lv in LEVELS]
    summonses = ({}, {"d1": "answered", "d2": "released"}, {"d1": "answered", "d2": "reported_in"}, {"d1": "summoned"})
    allowed += [{"role": r, "state": "verified", "level": "street", "summons": sm,
                 "expect": allowed_actions(r, "verified", "street", sm)} for r in ("street", "system") for sm in summonses]
    acts = [{"role": r, "action": a, "level": lv, "expect": may_act(r, a, lv)}
            for r in roles for a in ACTIONS for lv in LEVELS]
    raise_ = [{"role": r, "level": lv, "expect": may_raise(r, lv)} for r in roles for lv in LEVELS]
    refusals = [{"action": a, "department_id": d, "summons": sm, "expect": summons_refusal(a, d, sm)}
                for a in ("close", "summon", "report_in", "answer", "release", "confirm", "note")
                for d in ("d1", "d2", "d9") for sm in summonses]
    return {"about": "Flags (sync/flags.py, sync/casework.py): folding events into state, level, colour, "
                     "concurrent events, holder and summons; the shape of one event; who may take which action "
                     "at which level, who may raise a flag where, and when a department step or a close is refused",
            "fold": fold, "check_event": checks, "allowed_actions": allowed, "may_act": acts, "may_raise": raise_,
            "summons_refusal": refusals}


# --- rules --------------------------------------------------------------------------------------
def _checks(statuses=None, **answers):
    out = {k: {"status": "ok", "answers": {}, "note": ""} for k in CHECK_KEYS}
    for key, given in answers.items():
        out[key]["answers"] = given
    for key, status in (statuses or {}).items():
        out[key]["status"] = status
    return out


def rules():
    built_in = load_rules()
    settings = default_checklists().settings
    child = lambda **kw: {"children": [dict({"age": 9, "in_school": True, "carer": "parents"}, **kw)]}  # noqa: E731
    samples = [
        ("all fine", _checks()),
        ("a child with no carer", _checks(children=child(carer="none"))),
        ("a school-age child out of school", _checks(children=child(in_school=False))),
        ("a child of five out of school is not flagged", _checks(children=child(in_school=False, age=5))),
        ("age 15 is school age, 16 is not", _checks(children={"children": [
            {"age": 15, "in_school": False}, {"age": 16, "in_school": False}]})),
        ("income under the line", _checks(income={"income_per_person": 620})),
        ("income on the line", _checks(income={"income_per_person": 850})),
        ("income as a float under the line", _checks(income={"income_per_person": 849.5})),
        ("dangerous house C", _checks(housing={"danger_grade": "C"})),
        ("house grade B", _checks(housing={"danger_grade": "B"})),
        ("illness with debt", _checks(health={"serious_illness": True}, income={"medical_debt": 30000})),
        ("illness without debt", _checks(health={"serious_illness": True}, income={"medical_debt": 0})),
        ("elderly alone", _checks(health={"elderly_alone": True})),
        ("one meal a day", _checks(food={"meals_per_day": 1})),
        ("an urgent status", _checks({"housing": "urgent"})),
        ("everything at once", _checks({"food": "urgent"}, children=child(carer="none", in_school=False),
                                       income={"income_per_person": 100, "medical_debt": 5},
                                       health={"serious_illness": True, "disability": "not_certified",
                                               "elderly_alone": True},
                                       housing={"danger_grade": "D"}, food={"meals_per_day": 0})),
        ("null answers fire nothing", _checks(income={"income_per_person": None}, food={"meals_per_day": None})),
        ("a string where a number is meant is not compared", _checks(income={"income_per_person": "abc"})),
        ("a boolean is a number in comparisons", _checks(food={"meals_per_day": True})),
        ("rows that are not objects are skipped", _checks(children={"children": ["x", None, {"carer": "none"}]})),
        ("missing items and answers", {"income": {"status": "ok"}}),
    ]
    city = {"rules": [
        {"id": "substring", "category": "c1", "colour": "green",
         "when": {"answer": "income.sources", "op": "in", "value": "pension and rent"}},
        {"id": "ne", "category": "c2", "colour": "yellow",
         "when": {"answer": "housing.danger_grade", "op": "!=", "value": "A"}},
        {"id": "any_of", "category": "c3", "colour": "red",
         "when": {"any": [{"status": "food", "in": ["concern", "urgent"]},
                          {"answer": "food.grain_days", "op": "<=", "value": 3}]}},
        {"id": "ge_setting", "category": "c4", "colour": "yellow",
         "when": {"answer": "housing.persons_per_room", "op": ">=", "value": {"setting": "crowded"}}},
        {"id": "text_order", "category": "c5", "colour": "green",
         "when": {"answer": "income.sources", "op": ">", "value": "m"}},
        {"id": "missing_setting", "category": "c6", "colour": "red",
         "when": {"answer": "income.debts", "op": ">", "value": {"setting": "nowhere"}}},
    ]}
    city_rules = load_rules.__globals__["Rules"](city, source="city")
    city_settings = {"crowded": 3}
    city_samples = [
        ("nothing", _checks()),
        ("a substring and a grade", _checks(income={"sources": "rent"}, housing={"danger_grade": "B"})),
        ("not a substring", _checks(income={"sources": "wages"})),
        ("a concern on food", _checks({"food": "concern"})),
        ("three days of grain", _checks(food={"grain_days": 3})),
        ("crowded", _checks(housing={"persons_per_room": 3.5})),
        ("a number compared with a string", _checks(income={"sources": 5})),
        ("a debt with no setting", _checks(income={"debts": 100000})),
    ]

    def run(rs, sett, samples_):
        return [{"about": about, "checks": c,
                 "expect": [{"rule_id": s.rule_id, "category": s.category, "colour": s.colour, "reason": s.reason}
                            for s in rs.evaluate(c, sett)]} for about, c in samples_]

    with open(load_rules.__globals__["DEFAULT_PATH"], encoding="utf-8") as fh:
        built_in_data = json.load(fh)
    return {"about": "Rules → suggested flags (sync/rules.py Rules.evaluate), most urgent colour first",
            "sets": [{"about": "the built-in rules", "rules": built_in_data["rules"], "settings": settings,
                      "cases": run(built_in, settings, samples)},
                     {"about": "a city's own rules", "rules": city["rules"], "settings": city_settings,
                      "cases": run(city_rules, city_settings, city_samples)}]}


# --- identity -----------------------------------------------------------------------------------
def identity():
    ids = ["11010519491231002X", "11010519491231002x", "１１０１０５１９４９１２３１００２ｘ", "110105 1949 1231 002X",
           "110105-19491231-002X", "110105491231002", "11010549123100", "abc", "", None, "1101051949123100AX",
           "  11010519491231002X  ", "110105194912310021", "440524188001010014", "４４０５２４８００１０１００１"]
    phones = ["13800138000", "+86 138-0013-8000", "0086 13800138000", "8613800138000", "１３８００１３８０００",
              "(010) 6512-3456", "86123", "", None, "abc", "+8613800138000 ext 2"]
    names = ["王建国", "王 建国", "欧阳娜娜", "买买提·艾力", "Wang Wei", "单田芳", "覃小明", "张三", "李4", "", None,
             "吕布", "曾国藩", "ＡＢＣ", "长孙无忌"]
    return {"about": "ID numbers and phones as the server stores and compares them (sync/identity), masks, and "
                     "a name's pinyin initials for search (sync/identity/names.py)",
            "id_number": [{"raw": r, "expect": normalize_id_number(r)} for r in ids],
            "phone": [{"raw": r, "expect": normalize_phone(r)} for r in phones],
            "mask_id_number": [{"raw": r, "expect": mask_id_number(r)} for r in ids if r],
            "mask_phone": [{"raw": r, "expect": mask_phone(r)} for r in phones if r],
            "name": [{"raw": r, "normalised": normalize_name(r), "initials": name_initials(r)} for r in names]}


# --- checklist ----------------------------------------------------------------------------------
def checklist():
    reg = default_checklists()
    good = _checks()
    cases = []

    def case(about, checks, version=1):
        try:
            validate_checks(copy.deepcopy(checks), version, reg)
            cases.append({"about": about, "checks": checks, "version": version, "ok": True})
        except SyncError as exc:
            cases.append({"about": about, "checks": checks, "version": version, "ok": False, "error": _error(exc)})

    def with_(key, **item):
        c = copy.deepcopy(good)
        c[key].update(item)
        return c

    case("six fine checks", good)
    case("an unknown version", good, 2)
    case("a version that is not an integer", good, "1")
    case("checks not an object", ["income"])
    missing = copy.deepcopy(good)
    del missing["food"], missing["housing"]
    case("two items missing", missing)
    extra = copy.deepcopy(good)
    extra["x"] = {"status": "ok"}
    case("an item that is not in the version", extra)
    case("an item that is not an object", dict(good, food="ok"))
    case("unknown keys in an item", with_("food", extra=1))
    case("a bad status", with_("food", status="fine"))
    case("no status", dict(good, food={"answers": {}}))
    case("answers not an object", with_("food", answers=[1]))
    case("an unknown question", with_("income", answers={"below_minimum_line": True}))
    case("a number", with_("income", answers={"income_per_person": 620.5}))
    case("a number given as text", with_("income", answers={"income_per_person": "620"}))
    case("a boolean is not a number", with_("income", answers={"income_per_person": True}))
    case("an integer", with_("food", answers={"meals_per_day": 3}))
    case("a float is not an integer", with_("food", answers={"meals_per_day": 2.5}))
    case("a boolean", with_("food", answers={"relies_on_aid": False}))
    case("a number is not a boolean", with_("food", answers={"relies_on_aid": 0}))
    case("text", with_("income", answers={"sources": "退休金"}))
    case("text too long", with_("income", answers={"sources": "x" * 2001}))
    case("text with NUL", with_("income", answers={"sources": "a\x00b"}))
    case("a choice", with_("income", answers={"assistance": "dibao"}))
    case("not one of the options", with_("health", answers={"disability": "maybe"}))
    case("null answers are allowed", with_("health", answers={"disability": None, "serious_illness": None}))
    case("rows", with_("children", answers={"children": [{"age": 9, "in_school": False, "carer": "none"}]}))
    case("rows not a list", with_("children", answers={"children": {"age": 9}}))
    case("too many rows", with_("children", answers={"children": [{}] * 65}))
    case("a row not an object", with_("children", answers={"children": [5]}))
    case("a row field that is not in the question", with_("children", answers={"children": [{"name": "x"}]}))
    case("a row field of the wrong type", with_("children", answers={"children": [{"age": "nine"}]}))
    case("a row choice", with_("children", answers={"children": [{"carer": "aunt"}]}))
    case("a note", with_("food", note="ok"))
    case("a null note", with_("food", note=None))
    case("a note not text", with_("food", note=5))
    case("a note too long", with_("food", note="y" * 2001))
    return {"about": "A visit's checks against its checklist version (sync/checklist.py validate_checks); the "
                     "first problem found, as the server names it",
            "checklists": reg.as_dict(), "cases": cases}


def initials_table():
    """The first letter of the everyday reading (sync/identity/names.py char_pinyin) of each of
    GB2312's 6,763 characters, grouped by letter: about 20 KB that lets the app search names by
    initials offline. Characters outside it (rare in names typed on a tablet) match as themselves."""
    from sync.identity.names import char_pinyin
    groups = {}
    for hi in range(0xB0, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                char = bytes([hi, lo]).decode("gb2312")
            except UnicodeDecodeError:
                continue
            reading = char_pinyin(char)
            groups.setdefault(reading[0], []).append(char)
    lines = ["// Generated by tests/conformance/generate.py from sync/identity/names.py: do not edit.",
             "// The first letter of each GB2312 character's everyday pinyin reading, by letter.",
             "export const INITIALS = {"]
    lines += [f'  {letter}: "{"".join(chars)}",' for letter, chars in sorted(groups.items())]
    lines.append("};")
    return "\n".join(lines) + "\n"


# --- entities -----------------------------------------------------------------------------------
#: the checking replica's clock for the entity vectors (2026-11-30T04:00:00Z), so that dates in
#: the future and birth dates a life ago are judged the same on every run
ENTITIES_NOW = 1796011200000
#: a city's settings that add a flag category of its own
ENTITIES_SETTINGS = {"minimum_living_line": 850, "flag_categories": {"left_behind_elderly": "留守老人"}}


def entities_checklists(settings):
    """The built-in checklist versions with ``settings`` (the entity vectors' city)."""
    data = default_checklists().as_dict()
    return Checklists({"settings": settings, "versions": [{"version": x["version"], "items": x["items"]}
                                                          for x in data["versions"]]})


def entities():
    from sync.entities import ENTITIES
    g = "af8596cb-71fc-4b67-9ce6-fd29c68d7f2c"
    at = lambda when: {"household_id": g, "visited_at": when, "checklist_version": 1, "checks": _checks()}  # noqa: E731
    samples = [
        ("household", True, {"grid_id": g, "address": "  和平路 12号 ", "room": "401"}),
        ("household", True, {"grid_id": g.upper(), "address": "x"}),
        ("household", True, {"grid_id": "{" + g + "}", "address": "x"}),
        ("household", True, {"grid_id": "urn:uuid:" + g.replace("-", ""), "address": "x"}),
        ("household", True, {"grid_id": "not-a-uuid", "address": "x"}),
        ("household", True, {"grid_id": 5, "address": "x"}),
        ("household", True, {"grid_id": g.replace("-", ""), "address": "x"}),
        ("household", True, {"grid_id": g.replace("-", "").upper(), "address": "x"}),
        ("household", True, {"grid_id": "urn:uuid:" + g, "address": "x"}),
        ("household", True, {"grid_id": "{" + g.replace("-", "") + "}", "address": "x"}),
        ("household", True, {"grid_id": g[:8] + g[9:], "address": "x"}),
        ("household", True, {"grid_id": g.replace("-", "")[:8] + "-" + g.replace("-", "")[8:], "address": "x"}),
        ("household", True, {"grid_id": " " + g, "address": "x"}),
        ("household", True, {"grid_id": g + "\n", "address": "x"}),
        ("household", True, {"grid_id": "af8596cb-71fc-4b67-9ce6-fd29c68d7f2\uff43", "address": "x"}),
        ("household", True, {"grid_id": "\uff10" * 32, "address": "x"}),
        ("household", True, {"grid_id": "\u0660" * 32, "address": "x"}),
        ("household", True, {"grid_id": g.replace("-", "") + "0", "address": "x"}),
        ("household", True, {"grid_id": g}),
        ("household", False, {"phone": "13800138000"}),
        ("household", False, {"phone": "+86 138-0013-8000"}),
        ("household", False, {"phone": "0086 13800138000"}),
        ("household", False, {"phone": "8613800138000"}),
        ("household", False, {"phone": "\uff11\uff13\uff18\uff10\uff10\uff11\uff13\uff18\uff10\uff10\uff10"}),
        ("household", False, {"phone": "(010) 6512-3456"}),
        ("household", False, {"phone": "010-65123456"}),
        ("household", False, {"phone": "（0755）2345678"}),
        ("household", False, {"phone": "65123456"}),
        ("household", False, {"phone": "400-800-1234"}),
        ("household", False, {"phone": "010-65123456转123"}),
        ("household", False, {"phone": "13800138000 ext. 5"}),
        ("household", False, {"phone": "13800138000 EXT 5"}),
        ("household", False, {"phone": "010-65123456 #12"}),
        ("household", False, {"phone": "010-65123456转1234567"}),
        ("household", False, {"phone": "12800138000"}),
        ("household", False, {"phone": "1380013800"}),
        ("household", False, {"phone": "138001380001"}),
        ("household", False, {"phone": "01065123456"}),
        ("household", False, {"phone": "010-15123456"}),
        ("household", False, {"phone": "12345"}),
        ("household", False, {"phone": "138.0013.8000"}),
        ("household", False, {"phone": "\u0661\u0663\u0668\u0660\u0660\u0661\u0663\u0668\u0660\u0660\u0660"}),
        ("household", False, {"phone": "abc"}),
        ("household", False, {"phone": "   "}),
        ("household", False, {"phone": "  13800138000  "}),
        ("household", True, {"grid_id": g, "address": "   "}),
        ("household", True, {"grid_id": g, "address": None}),
        ("household", False, {"note": None, "phone": "+86 138"}),
        ("household", True, {"grid_id": g, "address": "x" * 201}),
        ("household", True, {"grid_id": g, "address": "王" * 200}),
        ("household", False, {"room": 401}),
        ("household", False, {"address": "a\x00b"}),
        ("household", False, {"deleted": "yes"}),
        ("household", False, {"deleted": True}),
        ("household", False, {"age": 3}),
        ("household", False, {"constructor": "x"}),
        ("household", False, {"toString": "x"}),
        ("flag", False, {"hasOwnProperty": "x"}),
        ("household", False, {}),
        ("person", True, {"household_id": g, "name": "王建国", "id_number": "11010519491231002x",
                          "birth_date": "1949-12-31", "gender": "M", "relation": "head"}),
        ("person", True, {"household_id": g, "name": "王", "id_number": "１１０１０５４９１２３１００２"}),
        ("person", True, {"household_id": g, "name": "王", "id_number": "not a number"}),
        ("person", True, {"household_id": g, "name": "王", "id_number": "110105194912310021"}),
        ("person", True, {"household_id": g, "name": "王", "id_number": "110105491231002"}),
        ("person", True, {"household_id": g, "name": "王", "id_number": "110105 1949 1231 002X"}),
        ("person", True, {"household_id": g, "name": "王", "id_number": "440524188001010014"}),
        ("person", True, {"household_id": g, "name": "王", "id_number": "11010519490231002X"}),
        ("person", True, {"household_id": g, "name": "王", "id_number": "   "}),
        ("person", False, {"id_number": "11010519491231002X", "phone": "13800138000"}),
        ("person", False, {"phone": "1380013800"}),
        ("person", False, {"birth_date": "2026-12-01"}),
        ("person", False, {"birth_date": "2026-12-02"}),
        ("person", False, {"birth_date": "2030-01-01"}),
        ("person", False, {"birth_date": "1896-01-01"}),
        ("person", False, {"birth_date": "1895-12-31"}),
        ("person", False, {"birth_date": "2026-11-30"}),
        ("person", False, {"gender": "X"}),
        ("person", False, {"relation": "cousin"}),
        ("person", False, {"birth_date": "1949-02-30"}),
        ("person", False, {"birth_date": "49-12-31"}),
        ("person", False, {"birth_date": "1849-12-31"}),
        ("person", False, {"birth_date": 19491231}),
        ("visit", True, {"household_id": g, "visited_at": "2026-11-23T16:05:00+08:00", "checklist_version": 1,
                         "checks": _checks()}),
        ("visit", True, {"household_id": g, "visited_at": "2026-11-23T08:05:00.250Z", "checklist_version": 1,
                         "checks": _checks()}),
        ("visit", True, {"household_id": g, "visited_at": "2026-11-23T08:05:00.000Z", "checklist_version": 1,
                         "checks": _checks()}),
        ("visit", True, {"household_id": g, "visited_at": "2026-11-23T16:05:00", "checklist_version": 1,
                         "checks": _checks()}),
        ("visit", True, {"household_id": g, "visited_at": "yesterday", "checklist_version": 1, "checks": _checks()}),
        ("visit", True, at("2026-11-30T05:00:00Z")),
        ("visit", True, at("2026-11-30T05:00:00.000001Z")),
        ("visit", True, at("2026-11-30T13:00:00+08:00")),
        ("visit", True, at("2026-11-30T13:00:00.5+08:00")),
        ("visit", True, at("2026-12-01T04:00:00Z")),
        ("visit", True, at("2200-01-01T00:00:00Z")),
        ("visit", True, {"household_id": g, "visited_at": "1899-12-31T23:00:00Z", "checklist_version": 1,
                         "checks": _checks()}),
        ("visit", True, {"household_id": g, "visited_at": "2026-11-23T16:05:00+08:00", "checklist_version": "1",
                         "checks": _checks()}),
        ("visit", True, {"household_id": g, "visited_at": "2026-11-23T16:05:00+08:00", "checklist_version": 1,
                         "checks": []}),
        ("visit", True, {"household_id": g, "visited_at": "2026-11-23T16:05:00+08:00", "checklist_version": 1}),
        ("flag", True, {"household_id": g, "category": "elderly_alone", "colour": "green"}),
        ("flag", True, {"household_id": g, "category": "elderly_alone", "colour": "blue"}),
        ("flag", True, {"household_id": g, "category": "独居老人", "colour": "red"}),
        ("flag", True, {"household_id": g, "category": "left_behind_elderly", "colour": "red"}),
        ("flag", True, {"household_id": g, "category": "留守老人", "colour": "red"}),
        ("flag", True, {"household_id": g, "category": "dance", "colour": "red"}),
        ("flag", True, {"household_id": g, "category": "  elderly_alone ", "colour": "red"}),
        ("flag", True, {"household_id": g, "category": "it's \"odd\"\t" + "长" * 50, "colour": "red"}),
        ("flag", False, {"category": "dance"}),
        ("flag", False, {"category": "urgent_check"}),
        ("flag_event", True, {"flag_id": g, "action": "assign", "assignee_id": g.upper()}),
        ("flag_event", True, {"flag_id": g, "action": "assign"}),
        ("flag_event", True, {"flag_id": g, "action": "summon", "department_id": g, "note": "请到场"}),
        ("flag_event", True, {"flag_id": g, "action": "summon", "department_id": g}),
        ("flag_event", True, {"flag_id": g, "action": "answer", "department_id": "{" + g + "}", "note": "x"}),
        ("flag_event", True, {"flag_id": g, "action": "report_in", "department_id": g}),
        ("flag_event", True, {"flag_id": g, "action": "release"}),
        ("flag_event", True, {"flag_id": g, "action": "note", "reason": {"code": "overdue"}}),
        ("flag_event", True, {"flag_id": g, "action": "note", "reason": "overdue"}),
        ("flag_event", True, {"flag_id": g, "action": "confirm", "from_state": "reported", "at_level": "community"}),
        ("flag_event", True, {"flag_id": g, "action": "confirm"}),
        ("flag_event", True, {"flag_id": g, "action": "escalate", "level": "street"}),
        ("flag_event", True, {"flag_id": g, "action": "dance"}),
    ]
    out = []
    registry = entities_checklists(ENTITIES_SETTINGS)
    for entity, creating, fields in samples:
        try:
            cleaned = ENTITIES[entity].clean(copy.deepcopy(fields), creating=creating, checklists=registry,
                                             now=ENTITIES_NOW)
            out.append({"entity": entity, "creating": creating, "fields": fields, "ok": True, "expect": cleaned})
        except SyncError as exc:
            out.append({"entity": entity, "creating": creating, "fields": fields, "ok": False, "error": _error(exc)})
    return {"about": "A change's fields checked and normalised as every replica stores them (sync/entities.py "
                     "Entity.clean; a visit's checks, a flag event's shape and the typed values of sync/inputs.py "
                     "included), judged at the replica's clock `now` (ms) with the city's `settings`",
            "now": ENTITIES_NOW, "settings": ENTITIES_SETTINGS, "cases": out}


def visit_times():
    from sync import inputs
    born = 1795457675266
    stamps = [{"grid_id": f"{born}-0000-tab-1", "address": f"{born + 86400000}-0003-tab-2"}, {},
              {"grid_id": f"{born}-0000-tab-1", "deleted": None}]
    cases = []
    for held in stamps:
        for visited_at in ["2026-11-23T18:14:35Z", "2026-11-23T17:14:35.266Z", "2026-11-23T17:14:35.265Z",
                           "2026-11-23T17:14:35.265999Z", "2026-11-22T18:14:35Z", "1990-01-01T00:00:00Z"]:
            born_ms = inputs.household_born_ms(held)
            case = {"stamps": held, "visited_at": visited_at, "born_ms": born_ms}
            try:
                inputs.not_before_household("visited_at", visited_at, born_ms)
                case["ok"] = True
            except SyncError as exc:
                case.update(ok=False, error=_error(exc))
            cases.append(case)
    return {"about": "A visit is not dated before its household came into being (the wall time of its earliest "
                     "field stamp), less the clock skew allowed (sync/inputs.py household_born_ms, "
                     "not_before_household)", "cases": cases}


def build():
    return {"hlc": hlc(), "merge": merge(), "flags": flags(), "rules": rules(), "identity": identity(),
            "checklist": checklist(), "entities": entities(), "visit_times": visit_times()}


def dump(data):
    return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def main(argv=None):
    os.makedirs(VECTORS, exist_ok=True)
    for name, data in build().items():
        with open(os.path.join(VECTORS, name + ".json"), "w", encoding="utf-8") as fh:
            fh.write(dump(data))
    with open(INITIALS_TABLE, "w", encoding="utf-8") as fh:
        fh.write(initials_table())
    print(f"wrote the vector files to {VECTORS} and {INITIALS_TABLE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
