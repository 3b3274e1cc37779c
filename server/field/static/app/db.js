// The replica in IndexedDB (through idb, vendored): loaded whole when the app starts (a
// worker's grids hold a few thousand records), and after each action the keys it touched are
// written in one transaction, so a closed tab or a flat battery loses at most the action under way.
import { deleteDB, openDB } from "../vendor/idb/idb.js";

import { RECORDS, Replica } from "../core/replica.js";

const NAME = "gridsync-field";
const STORES = ["records", "shadows", "visits", "events", "outbox", "refused", "meta"];

export async function openStore(name = NAME) {
  const db = await openDB(name, 1, {
    upgrade(db) {
      for (const s of STORES) db.createObjectStore(s);
    },
  });
  return new Store(db, name);
}

export class Store {
  constructor(db, name) {
    this.db = db;
    this.name = name;
  }

  async load() {
    const r = new Replica();
    const tx = this.db.transaction(STORES, "readonly");
    const all = async (store) => {
      const [keys, values] = await Promise.all([tx.objectStore(store).getAllKeys(), tx.objectStore(store).getAll()]);
      return keys.map((k, i) => [k, values[i]]);
    };
    const [records, shadows, visits, events, outbox, refused, meta] = await Promise.all(STORES.map(all));
    for (const [k, v] of records) {
      const [entity, id] = k.split("|");
      if (RECORDS.includes(entity)) r.records[entity].set(id, v);
    }
    for (const [k, v] of shadows) {
      const [entity, id] = k.split("|");
      if (RECORDS.includes(entity)) r.shadows[entity].set(id, v);
    }
    for (const [k, v] of visits) r.visits.set(k, v);
    for (const [k, v] of events) r.events.set(k, v);
    for (const [k, v] of outbox.sort((a, b) => a[1].seq - b[1].seq)) r.outbox.set(k, v.change);
    for (const [k, v] of refused) r.refused.set(k, v);
    for (const [k, v] of meta) r.meta[k] = v;
    await tx.done;
    return r;
  }

  /** Write what the replica touched since the last save, in one transaction. */
  async save(r) {
    if (!r.touched.size) return;
    const touched = [...r.touched];
    r.touched.clear();
    const tx = this.db.transaction(STORES, "readwrite");
    let seq = r.meta.out_seq || 0;
    for (const key of touched) {
      const [kind, a, b] = key.split("|");
      if (kind === "rec" || kind === "shadow") {
        const store = tx.objectStore(kind === "rec" ? "records" : "shadows");
        const value = (kind === "rec" ? r.records : r.shadows)[a].get(b);
        if (value) store.put(value, `${a}|${b}`);
        else store.delete(`${a}|${b}`);
      } else if (kind === "visit" || kind === "event") {
        const value = (kind === "visit" ? r.visits : r.events).get(a);
        const store = tx.objectStore(kind === "visit" ? "visits" : "events");
        if (value) store.put(value, a);
        else store.delete(a);
      } else if (kind === "out") {
        const change = r.outbox.get(a);
        if (change) tx.objectStore("outbox").put({ seq: ++seq, change }, a);
        else tx.objectStore("outbox").delete(a);
      } else if (kind === "refused") {
        const value = r.refused.get(a);
        if (value) tx.objectStore("refused").put(value, a);
        else tx.objectStore("refused").delete(a);
      } else if (kind === "meta") {
        tx.objectStore("meta").put(r.meta[a] ?? null, a);
      }
    }
    r.meta.out_seq = seq;
    tx.objectStore("meta").put(seq, "out_seq");
    await tx.done;
  }

  /** Everything but the device's own id and clock (a different worker takes the tablet). */
  async clear() {
    const tx = this.db.transaction(STORES, "readwrite");
    for (const s of STORES) if (s !== "meta") tx.objectStore(s).clear();
    const meta = tx.objectStore("meta");
    for (const key of await meta.getAllKeys()) if (!["device_id", "hlc", "out_seq"].includes(key)) meta.delete(key);
    await tx.done;
  }

  static async destroy(name = NAME) {
    await deleteDB(name);
  }
}
