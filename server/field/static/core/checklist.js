// The six checks (六查) validated against the checklist version a visit names
// (sync/checklist.py): the first problem, named as the server names it, or null.
export const CHECK_KEYS = ["income", "food", "clothing", "children", "health", "housing"];
export const STATUSES = ["ok", "concern", "urgent"];
const MAX_TEXT = 2000;
const MAX_ROWS = 64;
const ITEM_KEYS = ["status", "answers", "note"];

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const isInt = (v) => typeof v === "number" && Number.isInteger(v);
// JSON cannot tell 2.0 from 2; the vectors and the server read "2.5" as a float, "2" as an int
const textLength = (s) => Array.from(s).length;

/** A question spec in its long form ({type, options?, fields?}). */
export function question(spec) {
  if (typeof spec === "string") return { type: spec };
  if (spec.type === "rows") {
    return { ...spec, fields: Object.fromEntries(Object.entries(spec.fields).map(([k, f]) => [k, question(f)])) };
  }
  return spec;
}

/** The versions of the city's checklists ({settings, latest, versions: [{version, items}]}), indexed. */
export function indexChecklists(config) {
  const versions = new Map();
  for (const v of config.versions) {
    const items = {};
    for (const [key, item] of Object.entries(v.items)) {
      items[key] = { phrase: item.phrase ?? key,
        questions: Object.fromEntries(Object.entries(item.questions || {}).map(([q, s]) => [q, question(s)])) };
    }
    versions.set(v.version, items);
  }
  return { settings: config.settings || {}, latest: config.latest ?? Math.max(...versions.keys()), versions };
}

function answerProblem(spec, value) {
  if (value === null || value === undefined) return null;
  const kind = spec.type;
  let ok;
  if (kind === "number") ok = typeof value === "number";
  else if (kind === "integer") ok = isInt(value);
  else if (kind === "boolean") ok = typeof value === "boolean";
  else if (kind === "text") ok = typeof value === "string" && textLength(value) <= MAX_TEXT && !value.includes("\0");
  else if (kind === "choice") {
    if (!spec.options.some((o) => o === value)) return `must be one of ${spec.options.map(String).join(", ")}`;
    ok = true;
  } else {
    if (!Array.isArray(value) || value.length > MAX_ROWS) return `must be a list of at most ${MAX_ROWS} rows`;
    for (let i = 0; i < value.length; i++) {
      const row = value[i];
      if (!isObject(row)) return `row ${i} must be an object`;
      for (const [name, cell] of Object.entries(row)) {
        const field = spec.fields[name];
        if (!field) return `row ${i}: ${name} is not a field of this question`;
        const pyRepr = (v) => (typeof v === "string" ? `'${v}'` : v === null || v === undefined ? "None"
  : v === true ? "True" : v === false ? "False" : String(v));
const problem = answerProblem(field, cell);
        if (problem) return `row ${i}: ${name} ${problem}`;
      }
    }
    return null;
  }
  return ok ? null : `must be ${"aeiou".includes(kind[0]) ? "an" : "a"} ${kind}`;
}

const pyRepr = (v) => (typeof v === "string" ? `'${v}'` : v === null || v === undefined ? "None"
  : v === true ? "True" : v === false ? "False" : String(v));
const problem = (message, field) => ({ message, field, code: "invalid_change" });

/** The first problem with a visit's checks against checklist `version`, or null. */
export function validateChecks(checks, version, registry) {
  const items = isInt(version) ? registry.versions.get(version) : undefined;
  if (!items) return problem(`unknown checklist version ${pyRepr(version)}`, "checklist_version");
  if (!isObject(checks)) return problem("checks must be an object keyed by check item", "checks");
  // in the checklist's own order (a file lists the six items as CHECK_KEYS does)
  const order = [...CHECK_KEYS.filter((k) => k in items), ...Object.keys(items).filter((k) => !CHECK_KEYS.includes(k))];
  const missing = order.filter((k) => !(k in checks));
  if (missing.length) return problem(`checks is missing ${missing.join(", ")}`, "checks");
  for (const [key, item] of Object.entries(checks)) {
    const where = `checks.${key}`;
    const spec = items[key];
    if (!spec) return problem(`${where}: not an item of checklist version ${version}`, where);
    if (!isObject(item)) return problem(`${where}: must be an object`, where);
    const unknown = Object.keys(item).filter((k) => !ITEM_KEYS.includes(k)).sort();
    if (unknown.length) return problem(`${where}: unknown keys ${unknown.join(", ")}`, where);
    if (!STATUSES.includes(item.status)) return problem(`${where}.status must be one of ${STATUSES.join(", ")}`, `${where}.status`);
    const answers = "answers" in item ? item.answers : {};
    if (!isObject(answers)) return problem(`${where}.answers must be an object`, `${where}.answers`);
    for (const [name, value] of Object.entries(answers)) {
      const q = spec.questions[name];
      if (!q) return problem(`${where}.answers.${name}: not a question of checklist version ${version}`, `${where}.answers.${name}`);
      const p = answerProblem(q, value);
      if (p) return problem(`${where}.answers.${name} ${p}`, `${where}.answers.${name}`);
    }
    const note = item.note ?? null;
    if (note !== null && (typeof note !== "string" || textLength(note) > MAX_TEXT || note.includes("\0"))) {
      return problem(`${where}.note must be text of at most ${MAX_TEXT} characters`, `${where}.note`);
    }
  }
  return null;
}
