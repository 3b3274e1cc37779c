// One sync: exchanges (POST /api/v1/sync/exchange: push a batch, pull a page, hear of new grids
// or configuration) until the outbox is sent and the pull caught up (docs/protocol.md; the
// Python SDK's client_sdk/syncer.py). Each exchange's outcome is persisted before the next
// request, so a connection cut anywhere loses nothing: re-sent changes come back
// already_applied, a re-pulled page changes nothing.
import { DONE } from "./replica.js";

export const SCHEMA_VERSION = 1;
/** changes per push: half the server's limit (MAX_BATCH 1,000), as the SDK sends */
export const PUSH_BATCH = 500;
/** changes per page: the most the server gives (MAX_PAGE) */
export const PULL_PAGE = 5000;

export class SyncError extends Error {
  constructor(message, { status = 0, code = "error", field = null } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

function need(ok, what) {
  if (!ok) throw new SyncError(`the server's answer is not usable: ${what}`, { code: "bad_response" });
}

/** The shapes relied on in an exchange's answer (client_sdk/replies.py). What the server
 * leaves out is empty or unchanged (docs/protocol.md §6.7): no results when nothing was sent,
 * no changes on an empty page, no versions when they are the ones named in `have`. */
export function checkExchange(body, sent, have = {}, cursor = null) {
  need(body && typeof body === "object" && !Array.isArray(body), "not a JSON object");
  if (!("changes" in body)) body.changes = [];
  if (!("more" in body)) body.more = false;
  if (!("cursor" in body) && cursor !== null) body.cursor = cursor;
  if (!sent && !("results" in body)) body.results = [];
  if (!("versions" in body)) body.versions = { ...have };
  need(Array.isArray(body.changes), "the page has no list of changes");
  need(typeof body.cursor === "string" && typeof body.more === "boolean", "the page has no cursor");
  for (const c of body.changes) {
    need(c && typeof c.entity === "string" && typeof c.entity_id === "string" && typeof c.stamp === "string"
      && c.fields && typeof c.fields === "object", "a pulled change is not {entity, entity_id, stamp, fields}");
  }
  need(Array.isArray(body.results) && body.results.length === sent, `${body.results?.length} results for ${sent} changes`);
  need(body.versions && typeof body.versions === "object", "the answer has no versions");
  if ("worker" in body) need(Array.isArray(body.worker?.grid_ids), "grid_ids must be a list of ids");
  if ("config" in body) need(body.config?.checklists && Array.isArray(body.config?.rules), "the configuration lacks its checklists or rules");
  return body;
}

export class Syncer {
  /** `exchange(body)` posts one exchange and returns the decoded answer, or throws SyncError
   * (status 410 for resync_required); `persist()` writes what the replica touched. */
  constructor({ replica, clock, exchange, persist, deviceId, pageSize = PULL_PAGE, now = () => new Date() }) {
    Object.assign(this, { replica, clock, exchange, persist, deviceId, pageSize, now });
    this.report = { pushed: 0, already_applied: 0, conflicts: 0, rejected: 0, pulled: 0, pages: 0, resynced: false,
      grids_changed: false, dropped: 0 };
  }

  async run(progress = () => {}) {
    const r = this.replica;
    let restarted = false;
    for (;;) {
      const batch = [...r.outbox.values()].slice(0, PUSH_BATCH);
      const cursor = r.meta.cursor ?? null;
      const have = r.meta.versions || {};
      // defaults left out (the token names the device): a no-op is a few bytes on a cheap link
      const body = { schema_version: SCHEMA_VERSION };
      if (batch.length) body.changes = batch;
      if (cursor !== null) body.cursor = cursor;
      if (this.pageSize !== PULL_PAGE) body.limit = this.pageSize;
      if (Object.keys(have).length) body.have = have;
      // what is still waiting besides this batch (administrators see it); left out, it is 0
      if (r.outbox.size > batch.length) body.pending = r.outbox.size - batch.length;
      let resp;
      try {
        resp = checkExchange(await this.exchange(body), batch.length, have, cursor);
      } catch (err) {
        // the designed start-over signal: drop the cursor and pull everything again (the outbox
        // is untouched: nothing of that request was applied)
        if (err.status === 410 && !restarted && cursor !== null) {
          restarted = this.report.resynced = true;
          r.setMeta("cursor", null);
          await this.persist();
          progress("resync");
          continue;
        }
        throw err;
      }
      if (batch.length) this.finishBatch(batch, resp);
      this.writePage(resp);
      await this.persist();
      progress("page", this.report);
      if (!resp.more && r.outbox.size === 0) break;
    }
    if (r.meta.regrid) {
      this.report.dropped = r.prune(r.meta.regrid);
      r.setMeta("synced_grids", r.meta.regrid);
      r.setMeta("regrid", null);
    }
    r.setMeta("last_sync", this.now().toISOString());
    r.setMeta("last_error", null);
    await this.persist();
    return this.report;
  }

  finishBatch(batch, resp) {
    const byIndex = new Map(resp.results.map((x) => [x.index, x]));
    const results = batch.map((_, i) => byIndex.get(i) || {});
    const unknown = results.filter((x) => !DONE.has(x.status) && x.status !== "rejected");
    need(byIndex.size === batch.length && !unknown.length, `${byIndex.size} results for ${batch.length} changes`);
    const aside = this.replica.settle(batch, results, this.now().toISOString());
    this.observe(resp.server_stamp);
    const count = (s) => results.filter((x) => x.status === s).length;
    this.report.conflicts += count("merged_with_conflict");
    this.report.already_applied += count("already_applied");
    this.report.pushed += results.filter((x) => DONE.has(x.status)).length;
    this.report.rejected += aside;
  }

  writePage(page) {
    const r = this.replica;
    this.takeNews(page);
    r.replay(page.changes);
    r.confirm(page.changes);
    if (page.changes.length) this.observe(page.changes.reduce((m, c) => (c.stamp > m ? c.stamp : m), ""));
    this.observe(page.server_stamp);
    r.setMeta("cursor", page.cursor);
    this.report.pulled += page.changes.length;
    this.report.pages += 1;
  }

  /** The worker's grids and the city's configuration, when the server sent them (they changed). */
  takeNews(resp) {
    const r = this.replica;
    if ("config" in resp) r.setMeta("config", resp.config);
    if ("worker" in resp) {
      r.setMeta("worker", { ...(r.meta.worker || {}), ...resp.worker });
      const grids = [...resp.worker.grid_ids].map(String).sort();
      const synced = r.meta.synced_grids;
      if (!synced || JSON.stringify([...synced].sort()) !== JSON.stringify(grids)) {
        r.setMeta("regrid", grids);
        this.report.grids_changed = Boolean(synced);
      } else r.setMeta("regrid", null);
    }
    r.setMeta("versions", resp.versions);
  }

  observe(stamp) {
    // whatever this device writes next must order after everything it has seen
    if (stamp) {
      this.clock.observe(stamp);
      this.replica.setMeta("hlc", this.clock.peek());
    }
  }
}
