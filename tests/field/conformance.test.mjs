// The conformance vectors generated from sync/ (tests/conformance/vectors), run over the field
// app's own modules: a rule in sync/ that the app does not follow fails here.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { indexChecklists, validateChecks } from "../../server/field/static/core/checklist.js";
import { allowedActions, checkEvent, foldFlag, mayAct, mayRaise, summonsRefusal } from "../../server/field/static/core/flags.js";
import { HybridClock, parseStamp } from "../../server/field/static/core/hlc.js";
import { maskIdNumber, maskPhone, nameInitials, normalizeIdNumber, normalizeName, normalizePhone }
  from "../../server/field/static/core/identity.js";
import { mergeFields } from "../../server/field/static/core/merge.js";
import { Rules } from "../../server/field/static/core/rules.js";

const vectors = (name) => JSON.parse(readFileSync(new URL(`../conformance/vectors/${name}.json`, import.meta.url), "utf8"));

test("HLC: parsing", () => {
  for (const v of vectors("hlc").parse) {
    if (v.ok) assert.deepEqual(parseStamp(v.stamp), [v.ms, v.counter, v.node], v.stamp);
    else assert.throws(() => parseStamp(v.stamp), (e) => e.code === v.error, String(v.stamp));
  }
});

test("HLC: string order is clock order", () => {
  const { order } = vectors("hlc");
  assert.deepEqual([...order].reverse().sort(), order);
});

test("HLC: now and observe against a scripted wall clock", () => {
  for (const script of vectors("hlc").clocks) {
    let wall = 0;
    const clock = new HybridClock(script.node, { wall: () => wall });
    for (const step of script.steps) {
      wall = step.wall;
      if (step.op === "now") assert.equal(clock.now(), step.expect);
      else {
        clock.observe(step.stamp);
        assert.equal(clock.peek(), step.expect);
      }
    }
  }
});

test("merge: field-level last writer wins, conflicts kept", () => {
  for (const c of vectors("merge").cases) {
    const values = structuredClone(c.values), stamps = { ...c.stamps };
    for (const step of c.steps) {
      const out = mergeFields(values, stamps, step.fields, step.stamp, step.base);
      assert.deepEqual(out.changed, step.changed, c.about);
      assert.deepEqual(out.conflicts, step.conflicts, c.about);
    }
    assert.deepEqual(values, c.final_values, c.about);
    assert.deepEqual(stamps, c.final_stamps, c.about);
  }
});

test("flags: folding events", () => {
  for (const c of vectors("flags").fold) {
    assert.deepEqual(foldFlag(c.colour, c.level, c.events), c.expect, c.about);
  }
});

test("flags: the shape of one event", () => {
  for (const c of vectors("flags").check_event) {
    if (c.ok) assert.doesNotThrow(() => checkEvent({ ...c.fields }), JSON.stringify(c.fields));
    else {
      assert.throws(() => checkEvent({ ...c.fields }), (e) => e.message === c.error.message && e.field === c.error.field
        && e.code === c.error.code, JSON.stringify(c.fields));
    }
  }
});

test("flags: who may act, and the actions offered", () => {
  const v = vectors("flags");
  for (const c of v.may_act) assert.equal(mayAct(c.role, c.action, c.level), c.expect, JSON.stringify(c));
  for (const c of v.allowed_actions) {
    assert.deepEqual(allowedActions(c.role, c.state, c.level, c.summons ?? null), c.expect, JSON.stringify(c));
  }
  for (const c of v.may_raise) assert.equal(mayRaise(c.role, c.level), c.expect, JSON.stringify(c));
  for (const c of v.summons_refusal) {
    assert.equal(summonsRefusal(c.action, c.department_id, c.summons), c.expect, JSON.stringify(c));
  }
});

test("rules: suggested flags, most urgent first", () => {
  for (const set of vectors("rules").sets) {
    const rules = new Rules(set.rules);
    for (const c of set.cases) assert.deepEqual(rules.evaluate(c.checks, set.settings), c.expect, `${set.about}: ${c.about}`);
  }
});

test("identity: ID numbers, phones, masks, names and initials", () => {
  const v = vectors("identity");
  for (const c of v.id_number) assert.equal(normalizeIdNumber(c.raw), c.expect, String(c.raw));
  for (const c of v.phone) assert.equal(normalizePhone(c.raw), c.expect, String(c.raw));
  for (const c of v.mask_id_number) assert.equal(maskIdNumber(c.raw), c.expect, c.raw);
  for (const c of v.mask_phone) assert.equal(maskPhone(c.raw), c.expect, c.raw);
  for (const c of v.name) {
    assert.equal(normalizeName(c.raw), c.normalised, String(c.raw));
    assert.equal(nameInitials(c.raw), c.initials, String(c.raw));
  }
});

test("checklist: a visit's checks against its version", () => {
  const v = vectors("checklist");
  const registry = indexChecklists(v.checklists);
  for (const c of v.cases) {
    const got = validateChecks(c.checks, c.version, registry);
    if (c.ok) assert.equal(got, null, c.about);
    else assert.deepEqual(got, c.error, c.about);
  }
});

test("entities: a change's fields checked and normalised before they are stored", async () => {
  const { cleanFields } = await import("../../server/field/static/core/entities.js");
  const v = vectors("entities");
  const registry = indexChecklists({ ...vectors("checklist").checklists, settings: v.settings });
  for (const c of v.cases) {
    const what = `${c.entity} ${JSON.stringify(c.fields).slice(0, 120)}`;
    if (c.ok) assert.deepEqual(cleanFields(c.entity, structuredClone(c.fields), { creating: c.creating, checklists: registry, now: v.now }), c.expect, what);
    else {
      assert.throws(() => cleanFields(c.entity, structuredClone(c.fields), { creating: c.creating, checklists: registry, now: v.now }),
        (e) => { assert.deepEqual({ message: e.message, field: e.field, code: e.code }, c.error, what); return true; }, what);
    }
  }
});

test("visit times: not before the household came into being, less the clock allowance", async () => {
  const { householdBornMs, notBeforeHousehold } = await import("../../server/field/static/core/inputs.js");
  for (const c of vectors("visit_times").cases) {
    const what = `${c.visited_at} ${JSON.stringify(c.stamps)}`;
    assert.equal(householdBornMs(c.stamps), c.born_ms, what);
    if (c.ok) notBeforeHousehold("visited_at", c.visited_at, c.born_ms);
    else {
      assert.throws(() => notBeforeHousehold("visited_at", c.visited_at, c.born_ms),
        (e) => { assert.deepEqual({ message: e.message, field: e.field, code: e.code }, c.error, what); return true; }, what);
    }
  }
});
