// Rules that turn a visit's answers into suggested flags (sync/rules.py), run on the device so
// the worker sees the warning at the door, offline. The rules come from the city's
// configuration (GET /config, or the exchange's `config`).
import { COLOURS } from "./flags.js";
import { pyCmp, pyEq, pyIn } from "./pyvalue.js";

const CHECK_KEYS = ["income", "food", "clothing", "children", "health", "housing"];
const OPS = {
  "<": (a, b) => { const c = pyCmp(a, b); return c === null ? null : c < 0; },
  "<=": (a, b) => { const c = pyCmp(a, b); return c === null ? null : c <= 0; },
  ">": (a, b) => { const c = pyCmp(a, b); return c === null ? null : c > 0; },
  ">=": (a, b) => { const c = pyCmp(a, b); return c === null ? null : c >= 0; },
  "==": (a, b) => pyEq(a, b),
  "!=": (a, b) => !pyEq(a, b),
  in: (a, b) => pyIn(a, b),
};

function answer(checks, path) {
  const dot = path.indexOf(".");
  const item = path.slice(0, dot), question = path.slice(dot + 1);
  const answers = ((checks[item] || {}).answers) || {};
  return answers[question] ?? null;
}

function compare(actual, cond, settings) {
  let expected = cond.value;
  if (expected && typeof expected === "object" && !Array.isArray(expected) && "setting" in expected) {
    expected = settings[expected.setting] ?? null;
  }
  if (actual === null || actual === undefined || expected === null || expected === undefined) return false;
  return Boolean(OPS[cond.op](actual, expected));   // a TypeError in Python (null here) is no match
}

function compile(cond) {
  if ("all" in cond) {
    const parts = cond.all.map(compile);
    return (checks, settings, row) => parts.every((p) => p(checks, settings, row));
  }
  if ("rows" in cond) {
    const path = cond.rows, inner = compile(cond.any);
    return (checks, settings) => {
      const rows = answer(checks, path);
      // Python iterates whatever is there: a list's items (a string's characters are not objects)
      const items = Array.isArray(rows) ? rows : [];
      return items.some((r) => r && typeof r === "object" && !Array.isArray(r) && inner(checks, settings, r));
    };
  }
  if ("any" in cond) {
    const parts = cond.any.map(compile);
    return (checks, settings, row) => parts.some((p) => p(checks, settings, row));
  }
  if ("status" in cond) {
    const items = cond.status === "*" ? CHECK_KEYS : [cond.status];
    return (checks) => items.some((k) => cond.in.includes((checks[k] || {}).status));
  }
  if ("field" in cond) {
    return (checks, settings, row) => row !== null && row !== undefined && compare(row[cond.field] ?? null, cond, settings);
  }
  return (checks, settings) => compare(answer(checks, cond.answer), cond, settings);
}

/** The rules of a city, compiled once; `evaluate(checks, settings)` gives the suggestions. */
export class Rules {
  constructor(rules) {
    const order = Object.fromEntries(COLOURS.map((c, i) => [c, i]));
    this.compiled = rules.map((r) => ({
      order: order[r.colour],
      suggestion: { rule_id: r.id, category: r.category, colour: r.colour, reason: r.reason ?? r.id },
      test: compile(r.when),
    })).map((c, i) => ({ ...c, i }))
      .sort((a, b) => a.order - b.order || a.i - b.i);
  }

  /** The suggestions a visit's checks raise, most urgent colour first. */
  evaluate(checks, settings = {}) {
    return this.compiled.filter((c) => c.test(checks || {}, settings || {}, null)).map((c) => c.suggestion);
  }
}
