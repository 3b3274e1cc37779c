// ID numbers, phones and names in the form the server stores and compares (sync/identity):
// a person is entered once because the device finds the same number, phone or door first.
import { INITIALS } from "./pinyin-initials.js";

const CANONICAL_ID = /^\d{17}[\dX]$/;
// stdnum's clean(): the Unicode dashes it folds to "-" (which then is not a digit)
const DASHES = /[\u2010-\u2015\u2212\u2043\u02d7\uff0d\ufe63\u2796]/g;

/** ISO 7064 mod 11-2 over the first 17 digits (stdnum.cn.ric.calc_check_digit). */
export function idCheckChar(number) {
  let rest = 0;
  for (const d of number.slice(0, 17)) rest = (rest * 13 + Number(d)) % 11;
  const sum = (((1 - 2 * rest) % 11) + 11) % 11;
  return sum === 10 ? "X" : String(sum);
}

/** The 18-character form of a resident ID number, or null if it cannot be one. */
export function normalizeIdNumber(raw) {
  if (!raw || typeof raw !== "string") return null;
  if (CANONICAL_ID.test(raw)) return raw;
  let number = raw.normalize("NFKC").replaceAll(" ", "").replaceAll("-", "").replace(DASHES, "-")
    .toUpperCase().trim();
  if (number.length === 15 && /^\d+$/.test(number)) {
    const body = number.slice(0, 6) + "19" + number.slice(6);
    number = body + idCheckChar(body + "0");
  }
  if (number.length !== 18 || !/^\d{17}$/.test(number.slice(0, 17)) || !"0123456789X".includes(number[17])) return null;
  return number;
}

/** Digits only, without a +86 / 0086 country prefix; null if nothing is left. */
export function normalizePhone(raw) {
  if (!raw || typeof raw !== "string") return null;
  let digits = raw.normalize("NFKC").replace(/\D/g, "");
  for (const prefix of ["0086", "86"]) {
    if (digits.startsWith(prefix) && digits.length - prefix.length === 11) digits = digits.slice(prefix.length);
  }
  return digits || null;
}

export function maskIdNumber(value) {
  if (!value) return value;
  value = normalizeIdNumber(value) || value;
  return value.length > 7 ? value.slice(0, 3) + "*".repeat(Math.max(value.length - 7, 0)) + value.slice(-4)
    : "*".repeat(value.length);
}

export function maskPhone(value) {
  if (!value) return value;
  const digits = normalizePhone(value) || value;
  return digits.length >= 11 ? digits.slice(0, 3) + "****" + digits.slice(-4) : "*".repeat(digits.length);
}

/** The comparable characters of a name, or null. */
export function normalizeName(raw) {
  if (!raw || typeof raw !== "string") return null;
  const text = raw.normalize("NFKC").replace(/[^\p{L}\p{N}]+/gu, "").toLowerCase();
  return text || null;
}

const LETTER = new Map();
for (const [letter, chars] of Object.entries(INITIALS)) for (const c of chars) LETTER.set(c, letter);

/** First letters of a name's pinyin syllables (王建国 → wjg); a Latin or digit run gives its first. */
export function nameInitials(raw) {
  const name = normalizeName(raw);
  if (!name) return "";
  let out = "";
  for (const piece of name.match(/[a-z0-9]+|./gsu) || []) {
    out += piece.length === 1 && piece.charCodeAt(0) > 127 ? (LETTER.get(piece) || piece) : piece[0];
  }
  return out;
}

const CN_DIGITS = { 零: 0, 〇: 0, 一: 1, 二: 2, 两: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9 };

/** A door's key for exact matching on the device: address, building, unit and room with
 * full-width folded, spaces and punctuation gone, 栋/幢/号楼 read as one word, a village group
 * (组/村民小组/小组/队/社) as one word, and Chinese numerals up to 99 as digits. Two doors with the
 * same key are the same door. */
export function doorKey(h) {
  const parts = [h.address, h.building, h.unit, h.room].map((p) => (p || "").normalize("NFKC").toLowerCase()
    .replace(/[\s\p{P}]+/gu, "")
    .replace(/([零〇一二两三四五六七八九十]+)/g, (m) => String(cnNumber(m)))
    .replace(/(号楼|幢|栋|座)/g, "栋").replace(/(单元)/g, "单元").replace(/(室|房)$/g, "")
    // a village's group and door: 第五村民小组 = 5小组 = 5队 = 5社 = 5组; 5组12 = 5组12号
    .replace(/第?(\d+)(?:村民小组|小组|组|队|社)/g, "$1组").replace(/组(\d+)$/, "组$1号"));
  return parts.some(Boolean) ? parts.join("|") : "";
}

function cnNumber(text) {
  if (!text.includes("十")) return Number([...text].map((c) => CN_DIGITS[c]).join(""));
  const [tens, ones] = text.split("十");
  return (tens ? CN_DIGITS[tens] : 1) * 10 + (ones ? CN_DIGITS[ones] : 0);
}
