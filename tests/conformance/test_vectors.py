"""The conformance suite: the committed vectors are what sync/ gives today (a rule changed
without regenerating fails here), the Python side passes them, and the field app's node tests
pass them too (node is required in CI, as Chromium is)."""
import copy
import glob
import json
import os
import shutil
import subprocess

import pytest

from sync.casework import allowed_actions, may_act, may_raise, summons_refusal
from sync.checklist import Checklists, validate_checks
from sync.clock import HybridClock, parse_stamp
from sync.errors import SyncError
from sync.flags import check_event, fold_flag
from sync.identity import mask_id_number, mask_phone, normalize_id_number, normalize_phone
from sync.identity.names import name_initials, normalize_name
from sync.merge import merge_fields
from sync.rules import Rules
from tests.conformance import generate

ROOT = generate.ROOT


def _load(name):
    with open(os.path.join(generate.VECTORS, name + ".json"), encoding="utf-8") as fh:
        return json.load(fh)


def test_committed_vectors_are_what_sync_gives_now():
    fresh = generate.build()
    assert sorted(os.path.basename(p)[:-5] for p in glob.glob(os.path.join(generate.VECTORS, "*.json"))) == sorted(fresh)
    for name, data in fresh.items():
        with open(os.path.join(generate.VECTORS, name + ".json"), encoding="utf-8") as fh:
            assert fh.read() == generate.dump(data), f"{name}.json is stale: run python -m tests.conformance.generate"
    with open(generate.INITIALS_TABLE, encoding="utf-8") as fh:
        assert fh.read() == generate.initials_table(), "pinyin-initials.js is stale: regenerate"


def test_python_side_passes_hlc_and_merge():
    v = _load("hlc")
    for c in v["parse"]:
        if c["ok"]:
            assert parse_stamp(c["stamp"]) == (c["ms"], c["counter"], c["node"])
        else:
            with pytest.raises(SyncError):
                parse_stamp(c["stamp"])
    assert sorted(reversed(v["order"])) == v["order"]
    for script in v["clocks"]:
        wall = {"ms": 0}
        clock = HybridClock(script["node"], wall=lambda: wall["ms"])
        for step in script["steps"]:
            wall["ms"] = step["wall"]
            if step["op"] == "now":
                assert clock.now() == step["expect"]
            else:
                clock.observe(step["stamp"])
                assert clock.peek() == step["expect"]
    for c in _load("merge")["cases"]:
        values, stamps = copy.deepcopy(c["values"]), dict(c["stamps"])
        for step in c["steps"]:
            changed, conflicts = merge_fields(values, stamps, step["fields"], step["stamp"], step["base"])
            assert changed == step["changed"], c["about"]
            assert [x.__dict__ for x in conflicts] == step["conflicts"], c["about"]
        assert (values, stamps) == (c["final_values"], c["final_stamps"]), c["about"]


def test_python_side_passes_flags_rules_identity_and_checklists():
    v = _load("flags")
    for c in v["fold"]:
        assert fold_flag(c["colour"], c["level"], c["events"]) == c["expect"], c["about"]
    for c in v["check_event"]:
        if c["ok"]:
            check_event(dict(c["fields"]))
        else:
            with pytest.raises(SyncError) as err:
                check_event(dict(c["fields"]))
            assert generate._error(err.value) == c["error"]
    assert all(may_act(c["role"], c["action"], c["level"]) == c["expect"] for c in v["may_act"])
    assert all(allowed_actions(c["role"], c["state"], c["level"], c.get("summons")) == c["expect"]
               for c in v["allowed_actions"])
    assert all(may_raise(c["role"], c["level"]) == c["expect"] for c in v["may_raise"])
    assert all(summons_refusal(c["action"], c["department_id"], c["summons"]) == c["expect"]
               for c in v["summons_refusal"])
    for rule_set in _load("rules")["sets"]:
        rules = Rules({"rules": rule_set["rules"]})
        for c in rule_set["cases"]:
            got = [s.__dict__ for s in rules.evaluate(c["checks"], rule_set["settings"])]
            assert got == c["expect"], c["about"]
    ident = _load("identity")
    assert all(normalize_id_number(c["raw"]) == c["expect"] for c in ident["id_number"])
    assert all(normalize_phone(c["raw"]) == c["expect"] for c in ident["phone"])
    assert all(mask_id_number(c["raw"]) == c["expect"] for c in ident["mask_id_number"])
    assert all(mask_phone(c["raw"]) == c["expect"] for c in ident["mask_phone"])
    assert all((normalize_name(c["raw"]), name_initials(c["raw"])) == (c["normalised"], c["initials"])
               for c in ident["name"])
    cl = _load("checklist")
    registry = Checklists({"settings": cl["checklists"]["settings"],
                           "versions": [{"version": x["version"], "items": x["items"]}
                                        for x in cl["checklists"]["versions"]]})
    for c in cl["cases"]:
        if c["ok"]:
            validate_checks(copy.deepcopy(c["checks"]), c["version"], registry)
        else:
            with pytest.raises(SyncError) as err:
                validate_checks(copy.deepcopy(c["checks"]), c["version"], registry)
            assert generate._error(err.value) == c["error"], c["about"]


def test_the_field_app_passes_the_vectors_and_its_unit_tests_under_node():
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("node is required in CI (.ci/run installs it): the field app's tests cannot run")
        pytest.skip("no node on this machine")
    files = sorted(glob.glob(os.path.join(ROOT, "tests", "field", "*.test.mjs")))
    assert files, "the field app has no node tests"
    done = subprocess.run([node, "--test", *files], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "# fail 0" in done.stdout


def test_python_side_passes_entities():
    from sync.entities import ENTITIES
    v = _load("entities")
    registry = generate.entities_checklists(v["settings"])
    for c in v["cases"]:
        kw = {"creating": c["creating"], "checklists": registry, "now": v["now"]}
        if c["ok"]:
            assert ENTITIES[c["entity"]].clean(copy.deepcopy(c["fields"]), **kw) == c["expect"]
        else:
            with pytest.raises(SyncError) as err:
                ENTITIES[c["entity"]].clean(copy.deepcopy(c["fields"]), **kw)
            assert generate._error(err.value) == c["error"], c
