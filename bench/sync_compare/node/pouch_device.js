// The PouchDB side of bench/sync_compare: PouchDB devices (LevelDB stores, PouchDB's defaults)
// driven by the Python benchmark, one JSON command a line on stdin, one JSON answer a line on
// stdout. Times are measured here, around PouchDB's own calls only. Every request a device's
// remote makes is counted through PouchDB's `fetch` option (which then calls PouchDB.fetch,
// the one it uses by default).
//
// Connections: in node, PouchDB's fetch (node-fetch 2) sends `Connection: close` unless it is
// given an agent, so each request opens a new connection. A browser, where PouchDB runs on a
// tablet, keeps them open; so by default the devices get a keep-alive agent (in PouchDB's
// favour on a slow link), and `keepalive: false` on `open` measures node's default instead.
'use strict';
const fs = require('fs');
const http = require('http');
const readline = require('readline');
const PouchDB = require('pouchdb');

const devices = new Map();   // name -> {local, remote, counter}

const keepAlive = new http.Agent({keepAlive: true});

function counted(url, keepalive) {
  const counter = {requests: 0};
  const remote = new PouchDB(url, {
    fetch: (u, opts) => {
      counter.requests += 1;
      return PouchDB.fetch(u, keepalive ? {...opts, agent: keepAlive} : opts);
    },
  });
  return {remote, counter};
}

async function bulk(db, docs) {
  // 1,000 documents a call: what an app writing a day's records would never exceed
  for (let i = 0; i < docs.length; i += 1000) {
    const res = await db.bulkDocs(docs.slice(i, i + 1000));
    const bad = res.filter((r) => r.error);
    if (bad.length) throw new Error(`bulkDocs: ${bad.length} refused, first ${JSON.stringify(bad[0])}`);
  }
}

function device(name) {
  const d = devices.get(name);
  if (!d) throw new Error(`no device ${name}`);
  return d;
}

async function timed(names, fn) {
  const ds = names.map(device);
  const before = ds.map((d) => d.counter.requests);
  const t0 = process.hrtime.bigint();
  const out = await Promise.all(ds.map(fn));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const requests = ds.reduce((n, d, i) => n + d.counter.requests - before[i], 0);
  return {seconds, requests, results: out};
}

const ops = {
  async open({name, dir, url, keepalive = true}) {
    const {remote, counter} = counted(url, keepalive);
    devices.set(name, {local: new PouchDB(dir), remote, counter});
    return {};
  },
  async seed_remote({url, file}) {
    const db = new PouchDB(url);
    const docs = JSON.parse(fs.readFileSync(file, 'utf8'));
    await bulk(db, docs);
    return {docs: docs.length};
  },
  async write({name, file}) {
    const docs = JSON.parse(fs.readFileSync(file, 'utf8'));
    await bulk(device(name).local, docs);
    return {docs: docs.length};
  },
  async write_many({names, files}) {
    for (let i = 0; i < names.length; i++) await ops.write({name: names[i], file: files[i]});
    return {};
  },
  async pull({name}) {
    const r = await timed([name], (d) => d.local.replicate.from(d.remote));
    return {seconds: r.seconds, requests: r.requests, docs: r.results[0].docs_written};
  },
  async push({names}) {
    const r = await timed(names, (d) => d.local.replicate.to(d.remote));
    return {seconds: r.seconds, requests: r.requests,
      docs: r.results.reduce((n, x) => n + x.docs_written, 0)};
  },
  async sync({name}) {
    const r = await timed([name], (d) => d.local.sync(d.remote));
    const x = r.results[0];
    return {seconds: r.seconds, requests: r.requests, pushed: x.push.docs_written, pulled: x.pull.docs_written};
  },
  async count({name}) {
    return {docs: (await device(name).local.info()).doc_count};
  },
  async close() {
    for (const d of devices.values()) await d.local.close();
    devices.clear();
    return {};
  },
};

const lines = readline.createInterface({input: process.stdin});
let chain = Promise.resolve();
lines.on('line', (line) => {
  chain = chain.then(async () => {
    let answer;
    try {
      const cmd = JSON.parse(line);
      answer = {ok: true, ...(await ops[cmd.op](cmd))};
    } catch (err) {
      answer = {ok: false, error: String(err && err.stack || err)};
    }
    process.stdout.write(JSON.stringify(answer) + '\n');
  });
});
lines.on('close', () => { chain.then(() => ops.close()).finally(() => process.exit(0)); });
process.stdout.write(JSON.stringify({ok: true, ready: true, node: process.version}) + '\n');
