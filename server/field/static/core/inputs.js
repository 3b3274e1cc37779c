// What a typed value must be before it is saved (sync/inputs.py): resident ID numbers by their
// check character, mainland phones, visits not in the future, birth dates within a life, flag
// categories of the city. The same rules run on the server, so what the tablet takes, the server
// takes too. Each refusal names its code and field; the words shown come from i18n by the code.
import { idCheckChar, normalizeIdNumber } from "./identity.js";

export const MAX_FUTURE_S = 3600;
export const MAX_AGE_YEARS = 130;

/** flag categories every city has, by code and Chinese name (either is taken, and kept as sent) */
export const CATEGORY_NAMES = {
  de_facto_unsupported_child: "事实无人抚养儿童",
  children_in_difficulty: "困境儿童",
  unregistered_disability: "未申报残疾人",
  illness_poverty: "因病致贫",
  elderly_alone: "独居老人",
  low_income: "低收入家庭",
  dangerous_housing: "危房",
  food_shortage: "缺粮",
  urgent_check: "紧急情况",
};

export class InputRefused extends Error {
  constructor(message, field, code, params = {}) {
    super(message);
    this.field = field;
    this.code = code;
    this.params = params;
  }
}

// Python's str.isspace() characters (its \s), which JavaScript's \s does not quite match
const WS = "[\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
const PHONE_CHARS = /^[0-9０-９+＋()（）\- ]+$/u;
const EXTENSION = new RegExp(`^([^\\n]*?)${WS}*(?:转|ext\\.?|#)${WS}*(\\p{Nd}{1,6})$`, "iu");
const MOBILE = /^1[3-9][0-9]{9}$/;
const LANDLINE = /^0[1-9][0-9]{1,2}[2-9][0-9]{6,7}$/;
const LOCAL = /^[2-9][0-9]{6,7}$/;
const SERVICE = /^[48]00[0-9]{7}$/;

const realDate = (y, m, d) => {
  const t = new Date(Date.UTC(y, m - 1, d));
  t.setUTCFullYear(y);
  return y >= 1 && t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
};

/** A right check character and a real birth date (sync/identity is_valid_id_number). */
export function isValidIdNumber(raw) {
  const number = normalizeIdNumber(raw);
  if (number === null) return false;
  if (number[17] !== idCheckChar(number)) return false;
  return realDate(+number.slice(6, 10), +number.slice(10, 12), +number.slice(12, 14));
}

export function idNumber(value, field = "id_number") {
  const number = normalizeIdNumber(value);
  if (number === null || !isValidIdNumber(number)) {
    throw new InputRefused(`${field} is not a valid resident ID number (18 characters, the last a digit or X, `
      + "with a right check character and birth date)", field, "invalid_id_number");
  }
  return number;
}

const halfwidthDigits = (text) => text.replace(/[０-９]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xff10 + 0x30));

export function phone(value, field = "phone") {
  let main = value;
  const m = EXTENSION.exec(value);
  if (m) main = m[1];
  let digits = halfwidthDigits(main).replace(/\P{Nd}/gu, "");
  if (digits.startsWith("0086")) digits = digits.slice(4);
  else if (digits.startsWith("86") && digits.length === 13) digits = digits.slice(2);
  if (!(PHONE_CHARS.test(main) && (MOBILE.test(digits) || LANDLINE.test(digits) || LOCAL.test(digits)
    || SERVICE.test(digits)))) {
    throw new InputRefused(`${field} is not a phone number (a mobile 1xxxxxxxxxx or a landline `
      + "such as 010-12345678)", field, "invalid_phone");
  }
  return value;
}

/** Milliseconds (with any microseconds as a fraction) of a checked UTC date-time "…Z". */
function isoMs(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?Z$/.exec(iso);
  const d = new Date(Date.UTC(2000, +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
  d.setUTCFullYear(+m[1]);
  return d.getTime() + Number((m[7] || "").padEnd(6, "0")) / 1000;
}

export function notInFuture(field, iso, nowMs, allowS = MAX_FUTURE_S) {
  if (isoMs(iso) > nowMs + allowS * 1000) {
    throw new InputRefused(`${field} is in the future; check the date (and the device's clock)`, field, "date_in_future");
  }
}

/** When a household came into being as this replica knows it: the wall time of its earliest
 * field stamp (sync/inputs.py household_born_ms), or null. */
export function householdBornMs(stamps) {
  const walls = Object.values(stamps || {}).filter((s) => typeof s === "string" && /^\d{13}/.test(s))
    .map((s) => Number(s.slice(0, 13)));
  return walls.length ? Math.min(...walls) : null;
}

/** A visit is not dated before its household existed, less the clock skew a device is allowed. */
export function notBeforeHousehold(field, iso, bornMs, allowS = MAX_FUTURE_S) {
  if (bornMs === null || bornMs === undefined) return;
  if (isoMs(iso) < bornMs - allowS * 1000) {
    throw new InputRefused(`${field} is before the household was registered; check the date (and the device's clock)`,
      field, "before_household");
  }
}

export function birthDate(field, iso, nowMs) {
  const [y, m, d] = iso.split("-").map(Number);
  const today = new Date(nowMs);
  const tomorrow = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + 1);
  const born = new Date(Date.UTC(2000, m - 1, d));
  born.setUTCFullYear(y);
  if (born.getTime() > tomorrow) throw new InputRefused(`${field} is in the future`, field, "date_in_future");
  if (y < today.getUTCFullYear() - MAX_AGE_YEARS) {
    throw new InputRefused(`${field} is more than ${MAX_AGE_YEARS} years ago`, field, "birth_date_too_old",
      { years: MAX_AGE_YEARS });
  }
}

/** {code: Chinese name} of the city's flag categories: the common ones and those its settings add. */
export function categories(settings = null) {
  let extra = (settings && settings.flag_categories) || {};
  if (Array.isArray(extra)) extra = Object.fromEntries(extra.filter((c) => typeof c === "string").map((c) => [c, c]));
  else if (typeof extra !== "object") extra = {};
  const own = Object.entries(extra).filter(([, v]) => typeof v === "string");
  return { ...CATEGORY_NAMES, ...Object.fromEntries(own) };
}

export function category(value, settings = null, field = "category") {
  const known = categories(settings);
  if (!Object.hasOwn(known, value) && !Object.values(known).includes(value)) {
    const head = Array.from(value).slice(0, 40).join("");
    throw new InputRefused(`${field} ${pyRepr(head)} is not a flag category of this city; the categories are: `
      + Object.keys(known).join(", "), field, "unknown_category");
  }
  return value;
}

/** Python's repr() of a string (quotes, escapes of the characters Python does not print). */
export function pyRepr(text) {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = "";
  for (const ch of text) {
    const cp = ch.codePointAt(0);
    if (ch === quote || ch === "\\") out += "\\" + ch;
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (cp < 0x20 || cp === 0x7f) out += "\\x" + cp.toString(16).padStart(2, "0");
    else if (!printable(ch)) {
      out += cp <= 0xff ? "\\x" + cp.toString(16).padStart(2, "0")
        : cp <= 0xffff ? "\\u" + cp.toString(16).padStart(4, "0") : "\\U" + cp.toString(16).padStart(8, "0");
    } else out += ch;
  }
  return quote + out + quote;
}

// str.isprintable(): not in Unicode categories Cc, Cf, Cs, Co, Cn, Zl, Zp, Zs (except the space)
const printable = (ch) => ch === " " || !/[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u.test(ch);

/** Every rule of sync/inputs.py check() that concerns `fields` (already type-checked) of `entity`. */
export function checkInputs(entity, fields, { settings = null, now = Date.now() } = {}) {
  if (fields.id_number) fields.id_number = idNumber(fields.id_number, "id_number");
  if (fields.phone) phone(fields.phone);
  if (entity === "person" && fields.birth_date) birthDate("birth_date", fields.birth_date, now);
  else if (entity === "visit" && fields.visited_at) notInFuture("visited_at", fields.visited_at, now);
  else if (entity === "flag" && fields.category !== null && fields.category !== undefined) {
    category(fields.category, settings);
  }
  return fields;
}
