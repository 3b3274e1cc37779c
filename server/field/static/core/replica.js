// What the device holds, and the rules it is kept by: pulled pages merged field by field
// (docs/protocol.md §7.4, §11), the worker's own writes queued in the outbox, and refused changes
// undone with what hangs on them, from a copy of each record as the server has it (§6.6, as
// client_sdk/rebase.py does). Pure: no IndexedDB, no network; `touched` names what to persist.
import { DEFAULT_LEVEL, DEFAULT_REVISIT_DAYS, OPEN_STATES, foldFlag } from "./flags.js";
import { mergeFields } from "./merge.js";

export const RECORDS = ["household", "person", "flag"];
export const REFERENCES = ["household_id", "person_id", "flag_id", "amends_id", "visit_id"];
/** push results after which a change is in the server's log */
export const DONE = new Set(["applied", "already_applied", "merged_with_conflict"]);
const MAX_CHAIN = 16;
const clone = (v) => (v === undefined ? v : JSON.parse(JSON.stringify(v)));

export class Replica {
  constructor() {
    this.records = { household: new Map(), person: new Map(), flag: new Map() };  // id -> {values, stamps}
    this.shadows = { household: new Map(), person: new Map(), flag: new Map() };  // id -> {present, values, stamps}
    this.visits = new Map();   // id -> {id, stamp, fields}
    this.events = new Map();   // id -> {id, stamp, fields}
    this.outbox = new Map();   // change_id -> change (insertion order is outbox order)
    this.refused = new Map();  // change_id -> {change, reason, at, group}
    this.meta = {};
    this.touched = new Set();  // "rec|household|id", "shadow|…", "visit|id", "event|id", "out|cid", "refused|cid", "meta|key"
  }

  touch(...parts) {
    this.touched.add(parts.join("|"));
  }

  setMeta(key, value) {
    this.meta[key] = value;
    this.touch("meta", key);
  }

  // --- pulled pages -------------------------------------------------------------------------
  /** Apply changes the server accepted: records field by field, events if new. Idempotent. */
  replay(changes) {
    for (const c of changes) {
      const f = c.fields;
      if (RECORDS.includes(c.entity)) {
        let rec = this.records[c.entity].get(c.entity_id);
        const fresh = !rec;
        if (fresh) this.records[c.entity].set(c.entity_id, (rec = { values: {}, stamps: {} }));
        const { changed } = mergeFields(rec.values, rec.stamps, f, c.stamp, c.base);
        if (changed.length || fresh) this.touch("rec", c.entity, c.entity_id);
      } else if (c.entity === "visit") {
        if (!this.visits.has(c.entity_id)) {
          this.visits.set(c.entity_id, { id: c.entity_id, stamp: c.stamp, fields: f });
          this.touch("visit", c.entity_id);
        }
      } else if (c.entity === "flag_event") {
        if (!this.events.has(c.entity_id)) {
          this.events.set(c.entity_id, { id: c.entity_id, stamp: c.stamp, fields: f });
          this.touch("event", c.entity_id);
        }
      }
    }
  }

  /** Changes the server holds (pulled, or accepted from here): into the server copies. */
  confirm(changes) {
    for (const c of changes) {
      if (!RECORDS.includes(c.entity)) continue;
      const copy = this.shadows[c.entity].get(c.entity_id);
      if (!copy) continue;
      if (!copy.present) Object.assign(copy, { present: true, values: {}, stamps: {} });
      mergeFields(copy.values, copy.stamps, c.fields, c.stamp, c.base);
      this.touch("shadow", c.entity, c.entity_id);
    }
  }

  // --- the worker's own writes --------------------------------------------------------------
  /** Before the first unsent change to a record, the record as it stands is the server's. */
  keepServerCopy(entity, id) {
    if (!RECORDS.includes(entity) || this.shadows[entity].has(id)) return;
    const rec = this.records[entity].get(id);
    this.shadows[entity].set(id, rec ? { present: true, values: clone(rec.values), stamps: { ...rec.stamps } }
      : { present: false, values: {}, stamps: {} });
    this.touch("shadow", entity, id);
  }

  /** Apply a change made here and queue it. `change`: {change_id, entity, entity_id, stamp, fields, base?}. */
  write(change) {
    this.keepServerCopy(change.entity, change.entity_id);
    if (RECORDS.includes(change.entity)) {
      let rec = this.records[change.entity].get(change.entity_id);
      if (!rec) this.records[change.entity].set(change.entity_id, (rec = { values: {}, stamps: {} }));
      mergeFields(rec.values, rec.stamps, change.fields, change.stamp, change.base);
      this.touch("rec", change.entity, change.entity_id);
    } else {
      this.replay([change]);
    }
    this.outbox.set(change.change_id, change);
    this.touch("out", change.change_id);
    return change;
  }

  // --- a pushed batch's answers -------------------------------------------------------------
  /** Accepted changes leave the outbox (into the server copies); refused ones, with their
   * dependants, are set aside and undone. Returns the number set aside. */
  settle(batch, results, at) {
    const accepted = [], refused = [];
    batch.forEach((c, i) => {
      const r = results[i] || {};
      if (DONE.has(r.status)) accepted.push(c);
      else if (r.status === "rejected") refused.push([c, r.reason || {}]);
    });
    this.confirm(accepted);
    for (const c of accepted) {
      this.outbox.delete(c.change_id);
      this.touch("out", c.change_id);
    }
    const aside = refused.length ? this.undo(refused, at) : [];
    this.forgetCopies([...accepted, ...aside]);
    return aside.length;
  }

  serverLacks(change) {
    if (!RECORDS.includes(change.entity)) return true;   // a visit or flag event is only ever created
    const copy = this.shadows[change.entity].get(change.entity_id);
    return Boolean(copy) && !copy.present;
  }

  undo(refused, at) {
    const rootOf = new Map(), reasons = new Map(), aside = [];
    const hangsOn = (c) => {
      for (const n of [c.entity_id, ...REFERENCES.map((k) => c.fields[k])]) if (n && rootOf.has(n)) return rootOf.get(n);
      return null;
    };
    const take = (c, reason) => {
      let root = hangsOn(c);
      if (root === null) {
        root = c.change_id;
        reasons.set(root, reason);
      } else {
        const first = reasons.get(root) || {};
        reason = { code: "depends_on_refused", field: null,
          message: `it depends on change ${root}, which the server refused (${first.code}: ${first.message || ""})` };
      }
      aside.push([c, reason, root]);
      if (this.serverLacks(c) && !rootOf.has(c.entity_id)) rootOf.set(c.entity_id, root);
    };
    for (const [c, reason] of refused) take(c, reason);
    const taken = new Set(aside.map(([c]) => c.change_id));
    for (let grew = true; grew;) {
      grew = false;
      for (const c of this.outbox.values()) {
        if (!taken.has(c.change_id) && hangsOn(c) !== null) {
          take(c, null);
          taken.add(c.change_id);
          grew = true;
        }
      }
    }
    for (const [c, reason, root] of aside) {
      this.outbox.delete(c.change_id);
      this.touch("out", c.change_id);
      this.refused.set(c.change_id, { change: c, reason, at, group: root });
      this.touch("refused", c.change_id);
    }
    this.rebuild(aside.map(([c]) => c));
    return aside.map(([c]) => c);
  }

  /** Records: the server's copy plus what is still unsent; visits and events: taken out. */
  rebuild(changes) {
    for (const c of changes) {
      if (c.entity === "visit" && this.visits.delete(c.entity_id)) this.touch("visit", c.entity_id);
      if (c.entity === "flag_event" && this.events.delete(c.entity_id)) this.touch("event", c.entity_id);
    }
    for (const entity of RECORDS) {
      const ids = new Set(changes.filter((c) => c.entity === entity).map((c) => c.entity_id));
      for (const id of ids) {
        const copy = this.shadows[entity].get(id);
        let rec = null;
        if (!copy) rec = this.records[entity].get(id) || null;        // no copy: as the server sent it
        else if (copy.present) rec = { values: clone(copy.values), stamps: { ...copy.stamps } };
        for (const c of this.outbox.values()) {
          if (c.entity !== entity || c.entity_id !== id) continue;
          if (!rec) rec = { values: {}, stamps: {} };
          mergeFields(rec.values, rec.stamps, c.fields, c.stamp, c.base);
        }
        if (rec) this.records[entity].set(id, rec);
        else this.records[entity].delete(id);
        this.touch("rec", entity, id);
      }
    }
  }

  /** A record with nothing left unsent is again just what the server has: drop its copy. */
  forgetCopies(changes) {
    const pending = new Set([...this.outbox.values()].map((c) => `${c.entity}|${c.entity_id}`));
    for (const c of changes) {
      if (!RECORDS.includes(c.entity) || pending.has(`${c.entity}|${c.entity_id}`)) continue;
      if (this.shadows[c.entity].delete(c.entity_id)) this.touch("shadow", c.entity, c.entity_id);
    }
  }

  dismissRefused(changeId) {
    const entry = this.refused.get(changeId);
    if (!entry) return 0;
    let n = 0;
    for (const [cid, e] of [...this.refused]) {
      if (e.group === entry.group) {
        this.refused.delete(cid);
        this.touch("refused", cid);
        n += 1;
      }
    }
    return n;
  }

  /** After a full pull for new grids: drop what lies outside them, keeping what unsent changes touch. */
  prune(grids) {
    const inGrids = new Set(grids);
    const keep = new Set();
    for (const c of this.outbox.values()) {
      keep.add(c.entity_id);
      for (const k of ["household_id", "flag_id", "person_id"]) if (c.fields[k]) keep.add(c.fields[k]);
    }
    for (const id of [...keep]) {
      const flag = this.records.flag.get(id);
      if (flag?.values.household_id) keep.add(flag.values.household_id);
    }
    let dropped = 0;
    const gone = (hid) => {
      const h = this.records.household.get(hid);
      return !keep.has(hid) && !(h && inGrids.has(h.values.grid_id));
    };
    for (const entity of ["person", "flag"]) {
      for (const [id, rec] of [...this.records[entity]]) {
        if (!keep.has(id) && gone(rec.values.household_id)) {
          this.records[entity].delete(id);
          this.touch("rec", entity, id);
          dropped += 1;
        }
      }
    }
    for (const [id, v] of [...this.visits]) {
      if (gone(v.fields.household_id)) {
        this.visits.delete(id);
        this.touch("visit", id);
        dropped += 1;
      }
    }
    for (const [id, e] of [...this.events]) {
      if (!this.records.flag.has(e.fields.flag_id) && !keep.has(id)) {
        this.events.delete(id);
        this.touch("event", id);
        dropped += 1;
      }
    }
    for (const [id, rec] of [...this.records.household]) {
      if (!keep.has(id) && !inGrids.has(rec.values.grid_id)) {
        this.records.household.delete(id);
        this.touch("rec", "household", id);
        dropped += 1;
      }
    }
    return dropped;
  }

  // --- reading ------------------------------------------------------------------------------
  survivor(entity, id) {
    let cur = id;
    for (let i = 0; i < MAX_CHAIN; i++) {
      const next = this.records[entity].get(cur)?.values.merged_into;
      if (!next || next === cur) break;
      cur = next;
    }
    return cur;
  }

  /** The household and the duplicates the server merged into it. */
  copiesOf(hid) {
    const out = new Set([hid]);
    for (const [id, rec] of this.records.household) {
      if (rec.values.merged_into && this.survivor("household", id) === hid) out.add(id);
    }
    return out;
  }

  gridOf(entity, values) {
    if (entity === "household") return values.grid_id ?? null;
    const h = this.records.household.get(values.household_id);
    return h ? h.values.grid_id ?? null : null;
  }

  households({ gridId = null } = {}) {
    const out = [];
    for (const [id, rec] of this.records.household) {
      if (rec.values.deleted) continue;
      if (gridId && rec.values.grid_id !== gridId) continue;
      out.push({ id, ...rec.values });
    }
    const key = (h) => [h.address || "", h.building || "", h.unit || "", h.room || "", h.id].join("\u0000");
    return out.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  }

  persons(hid) {
    const homes = this.copiesOf(hid);
    const out = [];
    for (const [id, rec] of this.records.person) {
      if (!rec.values.deleted && homes.has(rec.values.household_id)) out.push({ id, ...rec.values });
    }
    return out.sort((a, b) => (a.relation !== "head") - (b.relation !== "head") || (a.name || "").localeCompare(b.name || ""));
  }

  visitsOf(hid) {
    const homes = this.copiesOf(hid);
    return [...this.visits.values()].filter((v) => homes.has(v.fields.household_id))
      .map((v) => ({ id: v.id, stamp: v.stamp, ...v.fields }))
      .sort((a, b) => (a.visited_at < b.visited_at ? 1 : a.visited_at > b.visited_at ? -1 : 0));
  }

  eventsOf(fid) {
    return [...this.events.values()].filter((e) => e.fields.flag_id === fid)
      .map((e) => ({ id: e.id, stamp: e.stamp, ...e.fields }))
      .sort((a, b) => (a.stamp < b.stamp ? -1 : 1));
  }

  flag(fid) {
    const rec = this.records.flag.get(fid);
    if (!rec) return null;
    const events = this.eventsOf(fid);
    const fold = foldFlag(rec.values.colour, rec.values.level, events);
    const stamps = Object.values(rec.stamps).sort();
    return { id: fid, ...rec.values, raised_colour: rec.values.colour, ...fold, events,
      raised_stamp: stamps[0] || null, household_id: rec.values.household_id,
      home: this.survivor("household", rec.values.household_id) };
  }

  flags({ householdId = null, open = false } = {}) {
    const homes = householdId ? this.copiesOf(householdId) : null;
    const rank = { red: 0, yellow: 1, green: 2 };
    const out = [];
    for (const [id, rec] of this.records.flag) {
      if (homes && !homes.has(rec.values.household_id)) continue;
      const f = this.flag(id);
      if (open && !["reported", "confirmed", "in_progress", "resolved", "verified"].includes(f.state)) continue;
      out.push(f);
    }
    return out.sort((a, b) => (rank[a.colour] ?? 3) - (rank[b.colour] ?? 3) || (a.id < b.id ? -1 : 1));
  }

  /** Flagged households due a visit, soonest first (client_sdk/casework.py due_visits). */
  dueVisits(now = new Date(), table = null) {
    table = table || this.meta.config?.revisit_days || DEFAULT_REVISIT_DAYS;
    const last = new Map();
    for (const v of this.visits.values()) {
      const home = this.survivor("household", v.fields.household_id);
      const when = Date.parse(v.fields.visited_at);
      if (!last.has(home) || when > last.get(home)) last.set(home, when);
    }
    const out = [];
    for (const f of this.flags()) {
      const raised = f.raised_stamp ? Number(f.raised_stamp.slice(0, 13)) : now.getTime();
      const changed = f.state_stamp ? Number(f.state_stamp.slice(0, 13)) : raised;
      let due = null, why = null;
      if (f.state === "resolved") [due, why] = [changed, "verify"];
      else if (OPEN_STATES.includes(f.state)) {
        const days = table[f.colour] ?? DEFAULT_REVISIT_DAYS[f.colour] ?? 14;
        const since = Math.max(raised, last.get(f.home) ?? -Infinity);
        [due, why] = [since + days * 86400000, "revisit"];
      }
      if (due !== null) {
        out.push({ household_id: f.home, flag_id: f.id, category: f.category, colour: f.colour, flag_state: f.state,
          why, due_at: new Date(due).toISOString(), overdue: due <= now.getTime() });
      }
    }
    return out.sort((a, b) => (a.due_at < b.due_at ? -1 : a.due_at > b.due_at ? 1 : a.flag_id < b.flag_id ? -1 : 1));
  }

  pendingCount() {
    return this.outbox.size;
  }
}

export { DEFAULT_LEVEL };
