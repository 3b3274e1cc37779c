// The fields of each entity and how a value is checked and normalised before it is stored on
// the device (sync/entities.py): text stripped and counted, choices, dates, the ID number in its
// 18-character form. A change the device would refuse never reaches the outbox.
import { validateChecks } from "./checklist.js";
import { ACTIONS, COLOURS, LEVELS, STATES, checkEvent } from "./flags.js";
import { checkInputs } from "./inputs.js";

export const RELATIONS = ["head", "spouse", "child", "parent", "grandchild", "grandparent", "sibling", "other"];
export const GENDERS = ["M", "F", "U"];

const t = (n, extra = {}) => ({ kind: "text", max: n, ...extra });
export const ENTITIES = {
  household: { kind: "record", fields: {
    grid_id: { kind: "uuid", required: true }, address: t(200, { required: true }),
    building: t(32), unit: t(32), room: t(32), head_name: t(64), phone: t(32), note: t(2000),
    deleted: { kind: "bool" }, merged_into: { kind: "uuid" } } },
  person: { kind: "record", fields: {
    household_id: { kind: "uuid", required: true }, relation: { kind: "choice", choices: RELATIONS },
    name: t(64, { required: true }), gender: { kind: "choice", choices: GENDERS }, birth_date: { kind: "date" },
    id_number: t(32), phone: t(32), note: t(2000), deleted: { kind: "bool" }, merged_into: { kind: "uuid" } } },
  visit: { kind: "event", fields: {
    household_id: { kind: "uuid", required: true }, visited_at: { kind: "datetime", required: true },
    checklist_version: { kind: "int", required: true }, checks: { kind: "object", required: true },
    note: t(2000), amends_id: { kind: "uuid" } } },
  flag: { kind: "record", fields: {
    household_id: { kind: "uuid", required: true }, person_id: { kind: "uuid" }, category: t(64, { required: true }),
    colour: { kind: "choice", required: true, choices: COLOURS }, level: { kind: "choice", choices: LEVELS },
    note: t(2000) } },
  flag_event: { kind: "event", fields: {
    flag_id: { kind: "uuid", required: true }, action: { kind: "choice", required: true, choices: ACTIONS },
    from_state: { kind: "choice", choices: STATES }, at_level: { kind: "choice", choices: LEVELS },
    level: { kind: "choice", choices: LEVELS }, colour: { kind: "choice", choices: COLOURS },
    visit_id: { kind: "uuid" }, note: t(2000), reason: { kind: "object" }, assignee_id: { kind: "uuid" },
    department_id: { kind: "uuid" } } },
};

export class Invalid extends Error {
  constructor(message, field, code = "invalid_change") {
    super(message);
    this.field = field;
    this.code = code;
  }
}

function clean1(name, spec, value) {
  if (value === null || value === undefined) {
    if (spec.required) throw new Invalid(`${name} is required and may not be null`, name);
    return null;
  }
  switch (spec.kind) {
    case "text": {
      if (typeof value !== "string") throw new Invalid(`${name} must be a string`, name);
      if (value.includes("\0")) throw new Invalid(`${name} contains a NUL character`, name);
      const v = pyStrip(value);
      if (spec.max && Array.from(v).length > spec.max) throw new Invalid(`${name} is longer than ${spec.max} characters`, name);
      if (spec.required && !v) throw new Invalid(`${name} may not be empty`, name);
      return v;
    }
    case "choice":
      if (!spec.choices.includes(value)) throw new Invalid(`${name} must be one of ${spec.choices.join(", ")}`, name);
      return value;
    case "uuid":
      return canonicalUuid(value, name);
    case "bool":
      if (typeof value !== "boolean") throw new Invalid(`${name} must be true or false`, name);
      return value;
    case "int":
      if (!Number.isInteger(value)) throw new Invalid(`${name} must be an integer`, name);
      return value;
    case "date": {
      if (typeof value !== "string" || value.length !== 10) throw new Invalid(`${name} must be a date YYYY-MM-DD`, name);
      const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
      if (!m || !realDate(+m[1], +m[2], +m[3])) throw new Invalid(`${name} is not a valid date YYYY-MM-DD`, name);
      if (+m[1] < 1850 || +m[1] > 2200) throw new Invalid(`${name} is out of range (years 1850 to 2200)`, name);
      return value;
    }
    case "datetime":
      return utcDatetime(value, name);
    case "object":
      if (!value || typeof value !== "object" || Array.isArray(value)) throw new Invalid(`${name} must be an object`, name);
      return value;
    default:
      throw new Invalid(`${name}: unknown kind`, name);
  }
}

const realDate = (y, m, d) => {
  const t = new Date(Date.UTC(y, m - 1, d));
  return y >= 1 && t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
};

// Python's str.strip(): the characters str.isspace() names
const PY_SPACE = /^[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;
const pyStrip = (text) => text.replace(PY_SPACE, "");

// 32 ASCII hex digits, hyphenated 8-4-4-4-12 or not at all, in any case: no braces, no "urn:uuid:"
const ASCII_UUID = /^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})$/;

/** The lowercase hyphenated form of an id (sync/entities.py canonical_uuid). */
export function canonicalUuid(value, name) {
  if (typeof value !== "string") throw new Invalid(`${name} must be a UUID`, name);
  if (!ASCII_UUID.test(value)) throw new Invalid(`${name} is not a valid UUID`, name);
  const x = value.replaceAll("-", "").toLowerCase();
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

const DATETIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** ISO 8601 with an offset, in UTC with "Z" (microseconds only when there are any), as the server stores it. */
function utcDatetime(value, name) {
  if (typeof value !== "string" || value.length > 40) throw new Invalid(`${name} must be an ISO 8601 date-time`, name);
  const m = DATETIME.exec(value);
  if (!m || !realDate(+m[1], +m[2], +m[3]) || +m[4] > 23 || +m[5] > 59 || +(m[6] || 0) > 59) {
    throw new Invalid(`${name} is not a valid ISO 8601 date-time`, name);
  }
  if (!m[8]) throw new Invalid(`${name} must carry a UTC offset`, name);
  if (+m[1] < 1900 || +m[1] > 2200) throw new Invalid(`${name} is out of range (years 1900 to 2200)`, name);
  let offset = 0;
  if (m[8] !== "Z") {
    const sign = m[8][0] === "-" ? -1 : 1;
    const digits = m[8].slice(1).replace(":", "");
    offset = sign * (+digits.slice(0, 2) * 60 + +digits.slice(2, 4));
  }
  const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0)) - offset * 60000;
  const iso = new Date(ms).toISOString().slice(0, 19);
  const micro = (m[7] || "").padEnd(6, "0");
  return `${iso}${/^0+$/.test(micro) ? "" : `.${micro}`}Z`;
}

/** Check and normalise a change's fields; throws Invalid naming the field. A visit's checks are
 * checked against its checklist version (`checklists`: indexChecklists of the city's), a flag
 * event's shape as sync/flags.py does. */
export function cleanFields(entity, fields, { creating, checklists = null, now = Date.now() }) {
  const spec = ENTITIES[entity];
  if (!fields || typeof fields !== "object" || !Object.keys(fields).length) {
    throw new Invalid("fields must be a non-empty object", "fields");
  }
  const out = {};
  for (const [name, value] of Object.entries(fields)) {
    const f = Object.hasOwn(spec.fields, name) ? spec.fields[name] : null;
    if (!f) throw new Invalid(`${name} is not a field of ${entity}`, `fields.${name}`);
    out[name] = clean1(name, f, value);
  }
  // ID numbers in one spelling, phones, dates and categories by the rules of sync/inputs.py
  checkInputs(entity, out, { settings: checklists ? checklists.settings : null, now });
  if (creating || spec.kind === "event") {
    const missing = Object.entries(spec.fields).filter(([n, f]) => f.required && (out[n] ?? null) === null).map(([n]) => n);
    if (missing.length) throw new Invalid(`a new ${entity} needs ${missing.join(", ")}`, missing[0]);
  }
  if (entity === "visit" && checklists) {
    const problem = validateChecks(out.checks, out.checklist_version, checklists);
    if (problem) throw new Invalid(problem.message, problem.field);
  } else if (entity === "flag_event") {
    checkEvent(out);
  }
  return out;
}

/** A random (version 4) UUID, also where crypto.randomUUID is missing (plain http on a LAN). */
export function newId() {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID();
  const b = globalThis.crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
