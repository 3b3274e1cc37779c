// Field-level last-writer-wins for records (sync/merge.py). Every replica keeps the value with
// the greatest stamp; a write made without seeing another device's value is a conflict.
import { nodeOf } from "./hlc.js";
import { pyEq } from "./pyvalue.js";

/**
 * Merge one change into `values`/`stamps` (both updated in place). Returns
 * {changed: [field names whose value or stamp moved], conflicts: [...]}.
 */
export function mergeFields(values, stamps, fields, stamp, base) {
  const changed = [], conflicts = [];
  base = base || {};
  for (const [name, value] of Object.entries(fields)) {
    const current = stamps[name] ?? null;
    if (current === null || stamp > current) {
      if (current !== null && (base[name] ?? null) !== current && !pyEq(values[name] ?? null, value)
          && nodeOf(current) !== nodeOf(stamp)) {
        conflicts.push({ field: name, kept_value: value, kept_stamp: stamp, lost_value: values[name] ?? null,
          lost_stamp: current, lost_side: "current" });
      }
      changed.push(name);
      values[name] = value;
      stamps[name] = stamp;
    } else if (stamp < current && !pyEq(values[name] ?? null, value)) {
      conflicts.push({ field: name, kept_value: values[name] ?? null, kept_stamp: current, lost_value: value,
        lost_stamp: stamp, lost_side: "incoming" });
    }
  }
  return { changed, conflicts };
}
