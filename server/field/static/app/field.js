// The app's state: the device's id and clock, the replica and its store, the session (token and
// its expiry), the worker's own writes (checked as the server will check them, then queued),
// matching before a household or person is entered twice, and sync.
import { indexChecklists } from "../core/checklist.js";
import { Invalid, cleanFields, newId } from "../core/entities.js";
import { DEFAULT_LEVEL, SUMMONS_STEPS, TRANSITIONS, mayAct, mayRaise, summonsRefusal } from "../core/flags.js";
import { HybridClock } from "../core/hlc.js";
import { householdBornMs, notBeforeHousehold } from "../core/inputs.js";
import { doorKey, nameInitials, normalizeIdNumber, normalizeName, normalizePhone } from "../core/identity.js";
import { Rules } from "../core/rules.js";
import { Syncer, SyncError } from "../core/syncer.js";
import { openStore } from "./db.js";
import { request } from "./transport.js";

export class FieldApp {
  constructor() {
    this.listeners = new Set();
    this.syncing = null;
  }

  static async open() {
    const app = new FieldApp();
    app.store = await openStore();
    app.replica = await app.store.load();
    const meta = app.replica.meta;
    if (!meta.device_id) app.replica.setMeta("device_id", `field-${newId()}`);
    app.clock = new HybridClock(app.replica.meta.device_id, { last: meta.hlc || null });
    await app.save();
    return app;
  }

  get meta() {
    return this.replica.meta;
  }

  get deviceId() {
    return this.meta.device_id;
  }

  get worker() {
    return this.meta.worker || null;
  }

  async save() {
    await this.store.save(this.replica);
    for (const fn of this.listeners) fn();
  }

  onChange(fn) {
    this.listeners.add(fn);
  }

  // --- the session ------------------------------------------------------------------------
  tokenValid(now = Date.now()) {
    return Boolean(this.meta.token) && Date.parse(this.meta.expires_at || 0) > now;
  }

  async login(username, password) {
    const body = await request("POST", "/auth/token", {
      body: { username, password, device_id: this.deviceId, device_name: "field web app" }, retries: 1 });
    const previous = this.worker;
    if (previous && previous.id !== body.worker.id) {
      if (this.replica.outbox.size || this.replica.refused.size) {
        throw new SyncError("unsent work of another worker is on this tablet", { code: "other_worker", status: 409 });
      }
      await this.store.clear();
      this.replica = await this.store.load();
      this.replica.setMeta("device_id", this.deviceId || body.device_id);
    }
    const r = this.replica;
    r.setMeta("token", body.token);
    r.setMeta("expires_at", body.expires_at);
    r.setMeta("worker", body.worker);
    r.setMeta("auth_error", null);
    if (body.resync_required) r.setMeta("cursor", null);
    await this.save();
    return body.worker;
  }

  async logout() {
    const token = this.meta.token;
    this.replica.setMeta("token", null);
    await this.save();
    if (token) request("POST", "/auth/revoke", { token, retries: 0 }).catch(() => {});
  }

  // --- sync -------------------------------------------------------------------------------
  /** One sync, unless one is running (then its promise). Never throws: the outcome is in meta. */
  sync() {
    if (!this.syncing) this.syncing = this.syncOnce().finally(() => { this.syncing = null; this.save(); });
    return this.syncing;
  }

  async syncOnce() {
    const r = this.replica;
    if (!this.tokenValid()) {
      r.setMeta("last_error", { code: this.meta.token ? "token_expired" : "auth_required", at: new Date().toISOString() });
      await this.save();
      return null;
    }
    r.setMeta("sync_started", new Date().toISOString());
    const syncer = new Syncer({ replica: r, clock: this.clock, deviceId: this.deviceId,
      exchange: (body) => request("POST", "/sync/exchange", { token: this.meta.token, body }),
      persist: () => this.save() });
    try {
      const report = await syncer.run(() => this.save());
      r.setMeta("last_report", report);
      this.fetchGridNames();
      return report;
    } catch (err) {
      const code = err.code || "error";
      r.setMeta("last_error", { code, status: err.status || 0, message: err.message, at: new Date().toISOString() });
      if (err.status === 401) r.setMeta("token", null);
      await this.save();
      return null;
    }
  }

  async fetchGridNames() {
    try {
      const areas = await request("GET", "/areas", { token: this.meta.token, retries: 0 });
      const list = Array.isArray(areas) ? areas : areas.areas || areas.items || [];
      const names = Object.fromEntries(list.filter((a) => a && a.id).map((a) => [a.id, a.name]));
      this.replica.setMeta("grid_names", { ...(this.meta.grid_names || {}), ...names });
      await this.save();
    } catch {
      // names are a nicety: the grid's short id is shown without them
    }
  }

  // --- configuration ----------------------------------------------------------------------
  checklists() {
    const config = this.meta.config;
    if (!config) return null;
    if (this._cl?.src !== config) this._cl = { src: config, value: indexChecklists(config.checklists) };
    return this._cl.value;
  }

  rules() {
    const config = this.meta.config;
    if (!config) return null;
    if (this._rules?.src !== config) this._rules = { src: config, value: new Rules(config.rules) };
    return this._rules.value;
  }

  suggestions(checks) {
    const rules = this.rules(), cl = this.checklists();
    return rules && cl ? rules.evaluate(checks, cl.settings) : [];
  }

  grids() {
    return (this.worker?.grid_ids || []).map((id) => ({ id, name: (this.meta.grid_names || {})[id] || null }));
  }

  // --- writes -----------------------------------------------------------------------------
  async commit(entity, entityId, fields, { creating, base = null }) {
    // the city's checklists: a visit's checks, and its settings' own flag categories
    const clean = cleanFields(entity, fields, { creating, checklists: this.checklists() });
    const change = { change_id: newId(), entity, entity_id: entityId, stamp: this.clock.now(), fields: clean };
    if (base) change.base = Object.fromEntries(Object.keys(clean).map((k) => [k, base[k] ?? null]));
    this.replica.write(change);
    this.replica.setMeta("hlc", this.clock.peek());
    await this.save();
    return change;
  }

  requireLive(entity, id) {
    const rec = this.replica.records[entity].get(id);
    if (!rec) throw new Invalid(`no ${entity} ${id} on this device`, `${entity}_id`, "not_found");
    if (rec.values.deleted) throw new Invalid(`the ${entity} is deleted`, `${entity}_id`, "deleted");
    return rec;
  }

  async createHousehold(fields) {
    if (!(this.worker?.grid_ids || []).includes(fields.grid_id)) {
      throw new Invalid("the household is outside your grids", "grid_id", "out_of_scope");
    }
    const id = newId();
    await this.commit("household", id, given(fields), { creating: true });
    return id;
  }

  async updateRecord(entity, id, fields) {
    const rec = this.replica.records[entity].get(id);
    if (!rec) throw new Invalid(`no ${entity} ${id} on this device`, `${entity}_id`, "not_found");
    await this.commit(entity, id, fields, { creating: false, base: rec.stamps });
  }

  async addPerson(householdId, fields) {
    this.requireLive("household", householdId);
    const id = newId();
    await this.commit("person", id, given({ ...fields, household_id: householdId }), { creating: true });
    return id;
  }

  async recordVisit(householdId, checks, note = null) {
    const home = this.requireLive("household", householdId);
    const cl = this.checklists();
    if (!cl) throw new Invalid("the checklist has not been synced yet", "checklist_version", "no_config");
    const id = newId();
    // now as the device best knows it: its clock, or the latest stamp it has seen if that is later
    const visitedAt = new Date(Math.max(Date.now(), Number(this.clock.peek().slice(0, 13)))).toISOString();
    // the rule the server applies where the visit lands (sync/replica.py, sync/inputs.py)
    notBeforeHousehold("visited_at", visitedAt, householdBornMs(home.stamps));
    await this.commit("visit", id, given({ household_id: householdId, visited_at: visitedAt,
      checklist_version: cl.latest, checks, note }), { creating: true });
    return id;
  }

  async raiseFlag(householdId, { category, colour, personId = null, note = null }) {
    this.requireLive("household", householdId);
    const role = this.worker?.role;
    if (!mayRaise(role, DEFAULT_LEVEL)) {
      throw new Invalid(`the ${role} role may not raise a flag at ${DEFAULT_LEVEL} level`, "level", "not_allowed");
    }
    const id = newId();
    await this.commit("flag", id, given({ household_id: householdId, person_id: personId, category, colour, note,
      level: DEFAULT_LEVEL }), { creating: true });
    return id;
  }

  async moveFlag(flagId, action, { note = null, visitId = null, departmentId = null, assigneeId = null } = {}) {
    const flag = this.replica.flag(flagId);
    if (!flag) throw new Invalid(`no flag ${flagId} on this device`, "flag_id", "not_found");
    const role = this.worker?.role;
    if (!mayAct(role, action, flag.level)) {
      throw new Invalid(`the ${role} role may not ${action} a flag at ${flag.level} level`, "action", "not_allowed");
    }
    if (action === "close" || Object.hasOwn(SUMMONS_STEPS, action)) {
      // 部门报到: a case closes once every summoned department has answered or been released
      const why = summonsRefusal(action, departmentId, flag.summons || {});
      if (why) {
        throw action === "close" ? new Invalid(why, "action", "summons_open")
          : new Invalid(why, "department_id", "summons_state");
      }
    }
    const fields = given({ flag_id: flagId, action, from_state: flag.state, at_level: flag.level, note,
      visit_id: visitId, department_id: departmentId, assignee_id: assigneeId });
    if (!Object.hasOwn(TRANSITIONS, action)) delete fields.from_state;
    const id = newId();
    await this.commit("flag_event", id, fields, { creating: true });
    return id;
  }

  async dismissRefused(changeId) {
    this.replica.dismissRefused(changeId);
    await this.save();
  }

  // --- finding ----------------------------------------------------------------------------
  /** Households matching a search: name (characters or pinyin initials), door, or phone. */
  search(query, gridId = null) {
    const list = this.replica.households({ gridId });
    const q = (query || "").trim();
    if (!q) return list;
    const name = normalizeName(q) || "";
    const digits = normalizePhone(q);
    const door = doorKey({ address: q });
    const lower = q.toLowerCase();
    return list.filter((h) => {
      const names = [h.head_name, ...this.replica.persons(h.id).map((p) => p.name)].filter(Boolean);
      if (name && names.some((n) => (normalizeName(n) || "").includes(name))) return true;
      if (/^[a-z]+$/i.test(q) && names.some((n) => nameInitials(n).startsWith(lower))) return true;
      if (digits && digits.length >= 4) {
        const phones = [h.phone, ...this.replica.persons(h.id).map((p) => p.phone)].map(normalizePhone).filter(Boolean);
        if (phones.some((p) => p.includes(digits))) return true;
      }
      if (door && doorKey(h).replaceAll("|", "").includes(door.replaceAll("|", ""))) return true;
      return false;
    });
  }

  /** What the device already holds that is the same household: the same door or phone. */
  sameHousehold(fields) {
    const key = doorKey(fields);
    const phone = normalizePhone(fields.phone);
    return this.replica.households().filter((h) => (key && doorKey(h) === key)
      || (phone && phone.length >= 7 && normalizePhone(h.phone) === phone));
  }

  /** Persons on the device with the same normalised ID number or phone (the server's linker
   * does the rest once it has both). */
  samePerson(fields) {
    const id = normalizeIdNumber(fields.id_number);
    const phone = normalizePhone(fields.phone);
    const out = [];
    for (const [pid, rec] of this.replica.records.person) {
      const v = rec.values;
      if (v.deleted) continue;
      if ((id && normalizeIdNumber(v.id_number) === id) || (phone && phone.length >= 7 && normalizePhone(v.phone) === phone)) {
        out.push({ id: pid, ...v });
      }
    }
    return out;
  }

  /** The warning at the door: what the city's rules say about the household's last visit,
   * and its open flags. */
  doorWarning(householdId) {
    const last = this.replica.visitsOf(householdId)[0];
    return { suggestions: last ? this.suggestions(last.checks) : [], flags: this.replica.flags({ householdId, open: true }) };
  }

  status() {
    const r = this.replica;
    return { pending: r.outbox.size, refused: r.refused.size, lastSync: this.meta.last_sync || null,
      lastError: this.meta.last_error || null, syncing: Boolean(this.syncing), loggedIn: this.tokenValid(),
      online: typeof navigator === "undefined" ? true : navigator.onLine };
  }
}

/** The fields that were given (null and "" left out of a new record). */
function given(fields) {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== null && v !== undefined && v !== ""));
}
