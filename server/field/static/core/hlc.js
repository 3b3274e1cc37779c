// Hybrid logical clock stamps (sync/clock.py): "<13-digit ms>-<4-digit counter>-<node>".
// Fixed widths make string order the clock order, so stamps compare with < and >.
const STAMP = /^(\d{13})-(\d{4})-([A-Za-z0-9_.:-]{1,64})$/;
export const MAX_COUNTER = 9999;

export function formatStamp(ms, counter, node) {
  return `${String(ms).padStart(13, "0")}-${String(counter).padStart(4, "0")}-${node}`;
}

/** [ms, counter, node], or throws an Error whose code is "bad_stamp". */
export function parseStamp(stamp) {
  const m = typeof stamp === "string" ? STAMP.exec(stamp) : null;
  if (!m) {
    const err = new Error(`malformed stamp ${JSON.stringify(String(stamp).slice(0, 80))}`);
    err.code = "bad_stamp";
    throw err;
  }
  return [Number(m[1]), Number(m[2]), m[3]];
}

export const isStamp = (s) => typeof s === "string" && STAMP.test(s);
export const nodeOf = (stamp) => stamp.split("-").slice(2).join("-");

/** A device's clock. `wall` gives the wall clock in ms; `last` restores a persisted stamp. */
export class HybridClock {
  constructor(node, { wall = () => Date.now(), last = null } = {}) {
    if (!STAMP.test(formatStamp(0, 0, node))) throw new Error(`bad clock node id ${node}`);
    this.node = node;
    this.wall = wall;
    this.ms = 0;
    this.counter = 0;
    if (last) this.observe(last);
  }

  now() {
    const wall = this.wall();
    if (wall > this.ms) {
      this.ms = wall;
      this.counter = 0;
    } else this.tick();
    return formatStamp(this.ms, this.counter, this.node);
  }

  observe(stamp) {
    const [rMs, rCounter] = parseStamp(stamp);
    const wall = this.wall();
    if (wall > this.ms && wall > rMs) {
      this.ms = wall;
      this.counter = 0;
    } else if (rMs > this.ms) {
      this.ms = rMs;
      this.counter = rCounter;
      this.tick();
    } else if (rMs === this.ms) {
      this.counter = Math.max(this.counter, rCounter);
      this.tick();
    } else this.tick();
  }

  /** The last stamp issued or observed (persisted with every local write). */
  peek() {
    return formatStamp(this.ms, this.counter, this.node);
  }

  tick() {
    // a full counter moves into the next millisecond rather than wrapping: order is kept
    if (this.counter >= MAX_COUNTER) {
      this.ms += 1;
      this.counter = 0;
    } else this.counter += 1;
  }
}
