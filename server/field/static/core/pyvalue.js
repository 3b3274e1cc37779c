// Python's equality and ordering on JSON values, so that the rules and the merge decide as
// sync/ does: true == 1, 1 == 1.0, lists and objects by value; ordering between a number and
// a string is a TypeError in Python, which the rules treat as "no match" (null here).
const isNum = (v) => typeof v === "number" || typeof v === "boolean";

export function pyEq(a, b) {
  if (a === null || a === undefined || b === null || b === undefined) return (a ?? null) === (b ?? null);
  if (isNum(a) && isNum(b)) return Number(a) === Number(b);
  if (typeof a !== typeof b) return false;
  if (typeof a === "string") return a === b;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => pyEq(x, b[i]));
  }
  const ka = Object.keys(a), kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && pyEq(a[k], b[k]));
}

/** -1, 0, 1 as Python orders a and b, or null where Python raises TypeError. */
export function pyCmp(a, b) {
  if (isNum(a) && isNum(b)) return Number(a) < Number(b) ? -1 : Number(a) > Number(b) ? 1 : 0;
  if (typeof a === "string" && typeof b === "string") {
    // Python compares code points; JS strings compare UTF-16 units: the same for the BMP
    const ca = Array.from(a), cb = Array.from(b);
    for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
      const x = ca[i].codePointAt(0), y = cb[i].codePointAt(0);
      if (x !== y) return x < y ? -1 : 1;
    }
    return ca.length === cb.length ? 0 : ca.length < cb.length ? -1 : 1;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      if (pyEq(a[i], b[i])) continue;
      return pyCmp(a[i], b[i]);
    }
    return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
  }
  return null;
}

/** Python's `a in b`: membership in a list, a substring in a string, a key of an object. */
export function pyIn(a, b) {
  if (Array.isArray(b)) return b.some((x) => pyEq(a, x));
  if (typeof b === "string") return typeof a === "string" ? b.includes(a) : null;
  if (b && typeof b === "object") return typeof a === "string" ? Object.prototype.hasOwnProperty.call(b, a) : null;
  return null;
}
