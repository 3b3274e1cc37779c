// The field app's replica and sync loop without a browser: the outbox, the server's copies of
// changed records, refused changes undone with what hangs on them (as client_sdk/rebase.py),
// exchanges until caught up, and the start-over on 410.
import assert from "node:assert/strict";
import { test } from "node:test";

import { HybridClock } from "../../server/field/static/core/hlc.js";
import { Replica } from "../../server/field/static/core/replica.js";
import { Syncer, SyncError } from "../../server/field/static/core/syncer.js";

const H = "11111111-1111-4111-8111-111111111111";
const P = "22222222-2222-4222-8222-222222222222";
const V = "33333333-3333-4333-8333-333333333333";
const F = "44444444-4444-4444-8444-444444444444";
const G = "99999999-9999-4999-8999-999999999999";
let n = 0;
const cid = () => `00000000-0000-4000-8000-${String(++n).padStart(12, "0")}`;
const change = (entity, entity_id, fields, stamp, base) => ({ change_id: cid(), entity, entity_id, stamp, fields,
  ...(base ? { base } : {}) });

test("a refused new household takes its members, visits and flags with it; nothing else", () => {
  const r = new Replica();
  const hh = r.write(change("household", H, { grid_id: G, address: "a" }, "0000000000001-0000-t"));
  const person = r.write(change("person", P, { household_id: H, name: "x" }, "0000000000002-0000-t"));
  const visit = r.write(change("visit", V, { household_id: H, checks: {} }, "0000000000003-0000-t"));
  const flag = r.write(change("flag", F, { household_id: H, person_id: P, category: "c", colour: "red" }, "0000000000004-0000-t"));
  const other = r.write(change("household", G, { grid_id: G, address: "b" }, "0000000000005-0000-t"));
  const aside = r.settle([hh, person], [{ index: 0, status: "rejected", reason: { code: "out_of_scope", message: "no" } },
    { index: 1, status: "rejected", reason: { code: "unknown_reference", message: "no" } }], "now");
  assert.equal(aside, 4);
  assert.deepEqual([...r.outbox.keys()], [other.change_id]);
  assert.equal(r.records.household.has(H), false);
  assert.equal(r.records.person.has(P), false);
  assert.equal(r.records.flag.has(F), false);
  assert.equal(r.visits.has(V), false);
  assert.equal(r.records.household.has(G), true);
  const groups = new Set([...r.refused.values()].map((e) => e.group));
  assert.deepEqual([...groups], [hh.change_id]);
  assert.equal(r.refused.get(visit.change_id).reason.code, "depends_on_refused");
  assert.equal(r.refused.get(flag.change_id).reason.code, "depends_on_refused");
  assert.equal(r.dismissRefused(visit.change_id), 4);
  assert.equal(r.refused.size, 0);
});

test("a refused edit of a record the server has goes back to the server's value, keeping unsent edits", () => {
  const r = new Replica();
  r.replay([change("household", H, { grid_id: G, address: "a", note: "server", room: "1" }, "0000000000001-0000-s")]);
  const edit = r.write(change("household", H, { note: "mine" }, "0000000000002-0000-t", { note: "0000000000001-0000-s" }));
  const room = r.write(change("household", H, { room: "2" }, "0000000000003-0000-t"));
  // the server meanwhile changed the address; the device pulls it before the answer comes
  r.replay([change("household", H, { address: "b" }, "0000000000004-0000-s")]);
  r.confirm([change("household", H, { address: "b" }, "0000000000004-0000-s")]);
  r.settle([edit], [{ index: 0, status: "rejected", reason: { code: "invalid_change", message: "no" } }], "now");
  const v = r.records.household.get(H).values;
  assert.deepEqual([v.address, v.note, v.room], ["b", "server", "2"]);
  assert.ok(r.shadows.household.has(H), "a copy is kept while the room edit is unsent");
  r.settle([room], [{ index: 0, status: "applied" }], "now");
  assert.equal(r.shadows.household.has(H), false);
  assert.equal(r.records.household.get(H).values.room, "2");
});

test("a pulled page merges field by field, in any order, twice", () => {
  const page = [change("household", H, { grid_id: G, address: "a", note: "new" }, "0000000000009-0000-s"),
    change("household", H, { note: "old", room: "5" }, "0000000000002-0000-x"),
    change("visit", V, { household_id: H, visited_at: "2026-01-01T00:00:00Z", checks: {} }, "0000000000003-0000-x")];
  const one = new Replica(), two = new Replica();
  one.replay(page);
  two.replay([...page].reverse());
  two.replay(page);
  assert.deepEqual(one.records.household.get(H), two.records.household.get(H));
  assert.equal(one.records.household.get(H).values.note, "new");
  assert.equal(two.visits.size, 1);
});

function fakeServer({ goneOnce = false } = {}) {
  const log = [];
  const calls = [];
  let gone = goneOnce;
  return {
    calls,
    log,
    async exchange(body) {
      calls.push(body);
      if (gone && body.cursor) {
        gone = false;
        throw new SyncError("this cursor is ahead of the server's change log", { status: 410, code: "resync_required" });
      }
      const device = body.device_id || "tab";          // the token's device when the body names none
      const results = (body.changes || []).map((c, index) => {
        if (log.some((x) => x.change_id === c.change_id)) return { index, change_id: c.change_id, status: "already_applied" };
        log.push({ ...c, device_id: device });
        return { index, change_id: c.change_id, status: "applied" };
      });
      const after = body.cursor ? Number(body.cursor.split(".")[1]) : 0;
      const page = log.slice(after, after + 2).filter((c) => c.device_id !== device);
      const cursor = `e.${Math.min(log.length, after + 2)}`;
      // as the server answers: what is empty or what the device holds already is left out
      const resp = {};
      if (results.length || page.length) resp.server_stamp = "0000000000100-0000-server-1";
      if (cursor !== body.cursor) resp.cursor = cursor;
      if (after + 2 < log.length) resp.more = true;
      if (results.length) resp.results = results;
      if (page.length) resp.changes = page;
      if ((body.have || {}).grids !== "g1" || (body.have || {}).config !== "c1") resp.versions = { grids: "g1", config: "c1" };
      if ((body.have || {}).grids !== "g1") resp.worker = { id: "w", role: "grid_worker", grid_ids: [G] };
      if ((body.have || {}).config !== "c1") resp.config = { checklists: { versions: [] }, rules: [] };
      return resp;
    },
  };
}

test("exchanges push in batches and pull until caught up; grids and config only when changed", async () => {
  const server = fakeServer();
  server.log.push(...[1, 2, 3].map((i) => ({ ...change("household", `${i + 4}`.repeat(8) + H.slice(8), { grid_id: G, address: `a${i}` },
    `000000000000${i}-0000-other`), device_id: "other" })));
  const r = new Replica();
  const clock = new HybridClock("tab", { wall: () => 50 });
  r.write(change("household", H, { grid_id: G, address: "mine" }, clock.now()));
  const syncer = new Syncer({ replica: r, clock, deviceId: "tab", exchange: (b) => server.exchange(b), persist: async () => {} });
  const report = await syncer.run();
  assert.equal(r.outbox.size, 0);
  assert.equal(r.records.household.size, 4);
  assert.equal(report.pushed, 1);
  assert.equal(r.meta.cursor, "e.4");
  assert.ok(clock.peek() > "0000000000100-0000", "the clock observed the server's stamp");
  assert.ok("worker" in r.meta && r.meta.config);
  assert.deepEqual(server.calls.map((c) => (c.changes || []).length), [1, 0]);
  assert.ok(!("device_id" in server.calls[0]) && !("changes" in server.calls[1]), "defaults are left out");
  assert.deepEqual(server.calls[1].have, { grids: "g1", config: "c1" });
});

test("a 410 drops the cursor and pulls from the start once; the outbox is kept and sent", async () => {
  const server = fakeServer({ goneOnce: true });
  const r = new Replica();
  r.setMeta("cursor", "old.7");
  const clock = new HybridClock("tab", { wall: () => 50 });
  r.write(change("household", H, { grid_id: G, address: "mine" }, clock.now()));
  const syncer = new Syncer({ replica: r, clock, deviceId: "tab", exchange: (b) => server.exchange(b), persist: async () => {} });
  const report = await syncer.run();
  assert.equal(report.resynced, true);
  assert.equal(server.calls[0].cursor, "old.7");
  assert.ok(!("cursor" in server.calls[1]), "the second exchange starts over: no cursor");
  assert.equal(r.outbox.size, 0);
  assert.equal(server.log.length, 1);
});

test("an answer with the wrong number of results is a failed request: nothing leaves the outbox", async () => {
  const r = new Replica();
  const clock = new HybridClock("tab", { wall: () => 50 });
  r.write(change("household", H, { grid_id: G, address: "mine" }, clock.now()));
  const syncer = new Syncer({ replica: r, clock, deviceId: "tab", persist: async () => {},
    exchange: async () => ({ results: [], changes: [], cursor: "e.0", more: false, versions: {}, server_stamp: "0000000000001-0000-s" }) });
  await assert.rejects(syncer.run(), (e) => e.code === "bad_response");
  assert.equal(r.outbox.size, 1);
});
