"""gridsync against PouchDB, side by side in one run: the same households, persons and visits
through each system's real client over HTTP.

- gridsync: ``FieldClient`` (client_sdk/, SQLite stores) against gunicorn serving the app on a
  scratch PostgreSQL database that this benchmark creates, migrates, seeds and drops.
- PouchDB 9 in node (LevelDB stores, its defaults) against pouchdb-server 4.2 (in memory), both
  installed from the npm registry into bench/sync_compare/node by this benchmark (``npm ci``
  against the committed package-lock.json) the first time; without node and npm the whole
  comparison is skipped with a message, exit 0 and ``RESULT skipped=…``.

Rows (each the median of ``--runs``): bootstrap one worker's scope (time, bytes); push N
changes (changes/s); D devices pushing at once (changes/s); a no-op sync on loopback and over a
simulated 64 kbit/s link with 150 ms each way (time, requests, bytes); a worker's day over that
link: 30 visits, 5 households, 10 persons and 3 flags pushed, two colleagues' days pulled, in
one sync (time, requests, bytes). The slow link is linkproxy.py, the same one for both systems;
bootstrap, no-op and day traffic goes through it (unthrottled on loopback, to count bytes), the
push rows go straight to the servers. The last line is ``RESULT key=value …``.

    python bench/sync_compare/run.py [--quick] [--scope 13000] [--push 10000] [--devices 20]
        [--per-device 500] [--runs 3] [--database-url postgresql://postgres@127.0.0.1:5432/test]
"""
import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
REPO = os.path.dirname(BENCH)
NODE_DIR = os.path.join(HERE, "node")
for p in (REPO, BENCH):
    if p not in sys.path:
        sys.path.insert(0, p)

DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/test"
PASSWORD = "pw-compare"
STORE_KEY = bytes(range(32))
# A worker's day (the figures): what one tablet records between two syncs.
DAY = {"visit": 30, "household": 5, "person": 10, "flag": 3}
TARGETS = {"push_ratio": 5.0, "conc_ratio": 5.0, "noop_slow_s": 0.4, "day_slow_s": 3.0, "day_bytes_ratio": 0.25}
SLOW_RATE, SLOW_DELAY = 8000, 0.150          # 64 kbit/s, 150 ms each way


# --- the records, the same for both systems --------------------------------------------------

def scope_records(rng, grid_ids, count, device):
    """``count`` records as (entity, id, fields): households, their persons and visits (the
    sync throughput bench's realistic ones), and a flag on one household in 15."""
    from sync_throughput import ChangeFactory
    factory = ChangeFactory(rng, grid_ids, device)
    out = []
    while len(out) < count:
        changes = factory.household()
        out.extend((c["entity"], c["entity_id"], c["fields"]) for c, _ in changes)
        if factory.households % 15 == 0:
            out.append(("flag", str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                        {"household_id": changes[0][0]["entity_id"], "category": "low_income", "colour": "yellow"}))
    return out[:count]


def day_records(rng, grid_ids, households, device):
    """A worker's day: 5 new households with 2 persons each, 30 visits (to households the
    worker holds), 3 flags."""
    from sync_throughput import ChangeFactory
    factory = ChangeFactory(rng, grid_ids, device)
    out = []
    for _ in range(DAY["household"]):
        changes = factory.household()
        persons = [(c["entity"], c["entity_id"], c["fields"]) for c, _ in changes if c["entity"] == "person"]
        out.append(("household", changes[0][0]["entity_id"], changes[0][0]["fields"]))
        out.extend(persons[:2])
        while len([r for r in out if r[0] == "person"]) < 2 * len([r for r in out if r[0] == "household"]):
            hid = changes[0][0]["entity_id"]
            out.append(("person", str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                        {"household_id": hid, "name": factory._name(), "relation": "other"}))
    for hid in rng.sample(households, DAY["visit"]):
        when = factory.now.isoformat().replace("+00:00", "Z")
        out.append(("visit", str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    {"household_id": hid, "visited_at": when, "checklist_version": 1,
                     "checks": factory._checks([], None), "note": "例行入户走访"}))
    for hid in rng.sample(households, DAY["flag"]):
        out.append(("flag", str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    {"household_id": hid, "category": "low_income", "colour": "yellow", "note": "收入下降"}))
    assert sum(1 for r in out if r[0] == "person") == DAY["person"]
    return out


def pouch_docs(records):
    """The same records as PouchDB documents: one document per record, its fields as they are."""
    return [{"_id": f"{entity}:{rid}", "type": entity, **fields} for entity, rid, fields in records]


def write_gridsync(client, records):
    """The records through the SDK's own entry calls (checked by the same engine as on the
    server); the SDK names new records itself, so references are mapped to its ids."""
    ids = {}
    for entity, rid, fields in records:
        f = dict(fields)
        hid = f.pop("household_id", None)
        hid = ids.get(hid, hid)
        if entity == "household":
            ids[rid] = client.create_household(f.pop("grid_id"), f.pop("address"), **f)
        elif entity == "person":
            ids[rid] = client.add_person(hid, f.pop("name"), **f)
        elif entity == "visit":
            client.record_visit(hid, f["checks"], visited_at=f["visited_at"], note=f.get("note"))
        elif entity == "flag":
            client.raise_flag(hid, f["category"], f["colour"], note=f.get("note"))
        else:
            raise ValueError(entity)


# --- processes -------------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, proc, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{what} did not answer {url} within {timeout} s")


def stop(proc):
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class LinkProxy:
    """linkproxy.py in its own process, and a line to its control port."""

    def __init__(self, target_port, rate, delay):
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "linkproxy.py"),
                                      "--target", f"127.0.0.1:{target_port}", "--rate", str(rate),
                                      "--delay", str(delay)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ready = self.proc.stdout.readline().split()
        if not ready or ready[0] != "READY":
            raise SystemExit("the link proxy did not start")
        self.port = int(ready[1])
        self.control = socket.create_connection(("127.0.0.1", int(ready[2])))
        self.lines = self.control.makefile("r")
        self.url = f"http://127.0.0.1:{self.port}"

    def say(self, command):
        self.control.sendall(command.encode() + b"\n")
        answer = self.lines.readline().strip()
        if command == "stats":
            return json.loads(answer)
        if answer != "ok":
            raise SystemExit(f"link proxy: {command}: {answer}")

    def measure(self, slow, cold):
        """Get ready for one measured sync: the link's speed, counters at zero, and (cold)
        no connection left open, as after hours between two syncs."""
        self.say("slow" if slow else "fast")
        if cold:
            self.say("drop")
            time.sleep(0.05)
        self.say("reset")

    def close(self):
        self.control.close()
        self.lines.close()
        self.proc.stdin.close()
        stop(self.proc)
        self.proc.stdout.close()


class PouchDevices:
    """node pouch_device.js: PouchDB devices, one JSON command a line."""

    def __init__(self):
        self.proc = subprocess.Popen(["node", os.path.join(NODE_DIR, "pouch_device.js")], cwd=NODE_DIR,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        hello = json.loads(self.proc.stdout.readline() or "{}")
        if not hello.get("ready"):
            raise SystemExit("the PouchDB device driver did not start")
        self.node = hello["node"]

    def __call__(self, op, **kw):
        self.proc.stdin.write(json.dumps({"op": op, **kw}) + "\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline() or '{"ok": false, "error": "driver exited"}')
        if not answer.pop("ok"):
            raise SystemExit(f"PouchDB {op}: {answer['error']}")
        return answer

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(30)
        except (OSError, subprocess.TimeoutExpired):
            stop(self.proc)


def pouch_ready(install):
    """None when PouchDB and pouchdb-server can run, else why not."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node and npm are not installed (apt-get install nodejs npm)"
    if os.path.isdir(os.path.join(NODE_DIR, "node_modules", "pouchdb-server")):
        return None
    if not install:
        return "PouchDB is not installed in bench/sync_compare/node (run the bench once without --no-install)"
    print("installing PouchDB and pouchdb-server from the npm registry (npm ci, a few minutes the first time)…",
          flush=True)
    done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_DIR)
    if done.returncode != 0:
        return f"npm ci failed with exit code {done.returncode}"
    return None


# --- the gridsync side: city, seed, server ---------------------------------------------------

def make_city(runs, devices):
    """Three colleagues sharing the five grids of the seeded scope, and one worker with an
    empty grid of their own for every pushing device (so that no device pulls another's pushes)."""
    from server.extensions import db
    from server.services.accounts import create_area, create_worker
    city = create_area("CX", "对比市", "city")
    district = create_area("CD", "对比区", "district", city)
    street = create_area("CS", "对比街道", "street", district)
    home = create_area("CC1", "一社区", "community", street)
    grids = [create_area(f"CG1-{n}", f"一社区第{n}网格", "grid", home) for n in range(1, 6)]
    others = create_area("CC2", "推送社区", "community", street)
    db.session.flush()
    for name in ("day", "colleague1", "colleague2"):
        create_worker(name, PASSWORD, "grid_worker", area=home, grids=grids)
    for run in range(runs):
        for dev in range(devices + 1):
            grid = create_area(f"CP-{run}-{dev}", f"推送网格{run}-{dev}", "grid", others)
            db.session.flush()
            create_worker(f"push-{run}-{dev}", PASSWORD, "grid_worker", area=others, grids=[grid])
    db.session.commit()
    return [str(g.id) for g in grids]


def seed_scope(records):
    """The scope written on the server through its one write path (as device_sync.py does)."""
    from server.extensions import db
    from server.services.server_changes import apply_as_server, server_change
    for i in range(0, len(records), 1000):
        apply_as_server([server_change(e, uuid.UUID(rid), f) for e, rid, f in records[i:i + 1000]])
        db.session.commit()


def start_gunicorn(db_url, workers, threads):
    port = free_port()
    env = dict(os.environ, SYNC_COMPARE_DATABASE_URL=db_url,
               PYTHONPATH=os.pathsep.join([HERE, BENCH, REPO, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", str(workers), "--worker-class", "gthread",
                             "--threads", str(threads), "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
                             "gridsync_wsgi:app"], cwd=REPO, env=env)
    wait_http(f"http://127.0.0.1:{port}/healthz", proc, "gunicorn")
    return proc, port


def start_pouchdb_server(workdir):
    port = free_port()
    home = os.path.join(workdir, "pouchdb-server")
    os.makedirs(home)
    # in memory; -n only keeps its request log off our stdout (it still writes log.txt, its default)
    proc = subprocess.Popen(["node", os.path.join(NODE_DIR, "node_modules", "pouchdb-server", "bin", "pouchdb-server"),
                             "--in-memory", "--no-stdout-logs", "--port", str(port)], cwd=home,
                            stdout=subprocess.DEVNULL)
    wait_http(f"http://127.0.0.1:{port}/", proc, "pouchdb-server")
    return proc, port


# --- the measurements ------------------------------------------------------------------------

def field_client(path, url, username):
    from client_sdk import FieldClient
    # an encrypted store, as the app keeps it (the key comes from the tablet's keystore)
    client = FieldClient(path, url, key=STORE_KEY)
    client.login(username, PASSWORD)
    return client


def gs_timed_sync(client, expect_pushed=None, expect_pulled=None):
    req0, net0 = client.transport.stats["requests"], client.transport.stats["network_s"]
    t0 = time.perf_counter()
    report = client.sync()
    seconds = time.perf_counter() - t0
    if expect_pushed is not None and report.pushed != expect_pushed:
        raise SystemExit(f"gridsync: {report.pushed} changes pushed, {expect_pushed} expected ({report})")
    if expect_pulled is not None and report.pulled != expect_pulled:
        raise SystemExit(f"gridsync: {report.pulled} changes pulled, {expect_pulled} expected ({report})")
    return {"seconds": seconds, "requests": client.transport.stats["requests"] - req0,
            "pushed": report.pushed, "pulled": report.pulled,
            # in requests: the server's time and the wire's; the rest is the tablet's own work
            "network_s": client.transport.stats["network_s"] - net0}


class Bench:
    def __init__(self, args, workdir, gs_port, pouch_port, pouch, gs_proxy, pouch_proxy, grid_ids, scope, rng):
        self.args, self.workdir, self.pouch = args, workdir, pouch
        self.gs_direct = f"http://127.0.0.1:{gs_port}"
        self.pouch_direct = f"http://127.0.0.1:{pouch_port}"
        self.gs_proxy, self.pouch_proxy = gs_proxy, pouch_proxy
        self.grid_ids, self.scope, self.rng = grid_ids, scope, rng
        self.households = [rid for e, rid, _ in scope if e == "household"]
        self.files = 0
        self.device_a = None    # the day's tablet: bootstrapped in the first run, then synced daily
        self.results = {}       # row -> {"gridsync": [...], "pouch": [...]}

    def path(self, name):
        return os.path.join(self.workdir, name)

    def open_pouch(self, name, url):
        """A PouchDB device with its own LevelDB store, and its remote at ``url``."""
        self.pouch("open", name=name, dir=self.path(f"pouch-{name}"), url=url, keepalive=self.args.pouch_keepalive)

    def docs_file(self, records):
        self.files += 1
        path = self.path(f"docs-{self.files}.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(pouch_docs(records), f, ensure_ascii=False)
        return path

    def add(self, row, system, figures):
        self.results.setdefault(row, {"gridsync": [], "pouch": []})[system].append(figures)

    def with_link(self, proxy, slow, cold, call):
        proxy.measure(slow, cold)
        out = call()
        out.update(proxy.say("stats"))
        proxy.say("fast")
        return out

    # bootstrap: an empty tablet pulls one worker's scope, on loopback through the counting proxy
    def bootstrap(self):
        for run in range(self.args.runs):
            client = field_client(self.path(f"gs-boot-{run}.db"), self.gs_proxy.url, "day")
            out = self.with_link(self.gs_proxy, False, True,
                                 lambda: gs_timed_sync(client, expect_pulled=len(self.scope)))
            self.add("bootstrap", "gridsync", out)
            if run == 0:
                self.device_a = client
            else:
                client.close()
            self.open_pouch(f"boot-{run}", f"{self.pouch_proxy.url}/scope")
            out = self.with_link(self.pouch_proxy, False, True, lambda: self.pouch("pull", name=f"boot-{run}"))
            if out["docs"] != len(self.scope):
                raise SystemExit(f"PouchDB bootstrap: {out['docs']} documents for {len(self.scope)} records")
            self.add("bootstrap", "pouch", out)
            self.progress("bootstrap", run)

    # push: one tablet with N unsent changes, straight to the server
    def push(self):
        n = self.args.push
        for run in range(self.args.runs):
            records = scope_records(self.rng, ["-"], n, f"push-{run}")
            client = field_client(self.path(f"gs-push-{run}.db"), self.gs_direct, f"push-{run}-0")
            client.sync()           # the first sync of an empty scope, not measured
            grid = client.worker["grid_ids"][0]
            write_gridsync(client, [(e, r, dict(f, grid_id=grid) if e == "household" else f) for e, r, f in records])
            self.add("push", "gridsync", gs_timed_sync(client, expect_pushed=n))
            client.close()
            self.open_pouch(f"push-{run}", f"{self.pouch_direct}/push")
            self.pouch("write", name=f"push-{run}", file=self.docs_file(records))
            out = self.pouch("push", names=[f"push-{run}"])
            if out["docs"] != n:
                raise SystemExit(f"PouchDB push: {out['docs']} documents written for {n}")
            self.add("push", "pouch", out)
            self.progress("push", run)

    # concurrency: D tablets with M unsent changes each, all syncing at once
    def concurrent(self):
        d, m = self.args.devices, self.args.per_device
        for run in range(self.args.runs):
            sets = [scope_records(self.rng, ["-"], m, f"conc-{run}-{i}") for i in range(d)]
            barrier = threading.Barrier(d + 1)
            spans, failures = [None] * d, []

            def device(i):
                try:
                    client = field_client(self.path(f"gs-conc-{run}-{i}.db"), self.gs_direct, f"push-{run}-{i + 1}")
                    client.sync()
                    grid = client.worker["grid_ids"][0]
                    write_gridsync(client, [(e, r, dict(f, grid_id=grid) if e == "household" else f)
                                            for e, r, f in sets[i]])
                except BaseException as exc:      # reported below; the barrier must not wait for it
                    failures.append(exc)
                    barrier.abort()
                    return
                try:
                    barrier.wait()
                    spans[i] = gs_timed_sync(client, expect_pushed=m)
                    spans[i]["start"] = time.perf_counter() - spans[i]["seconds"]
                except BaseException as exc:
                    failures.append(exc)
                finally:
                    client.close()

            threads = [threading.Thread(target=device, args=(i,)) for i in range(d)]
            for t in threads:
                t.start()
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                pass
            for t in threads:
                t.join()
            if failures:
                raise SystemExit(f"gridsync concurrent devices: {failures[0]!r}")
            seconds = max(s["start"] + s["seconds"] for s in spans) - min(s["start"] for s in spans)
            self.add("concurrent", "gridsync", {
                "seconds": seconds, "docs": d * m,
                "network_share": sum(s["network_s"] for s in spans) / sum(s["seconds"] for s in spans)})
            names = [f"conc-{run}-{i}" for i in range(d)]
            for i, name in enumerate(names):
                self.open_pouch(name, f"{self.pouch_direct}/concurrent")
            self.pouch("write_many", names=names, files=[self.docs_file(s) for s in sets])
            out = self.pouch("push", names=names)
            if out["docs"] != d * m:
                raise SystemExit(f"PouchDB concurrent devices: {out['docs']} documents written of {d * m}")
            self.add("concurrent", "pouch", out)
            self.progress("concurrent", run)

    # a worker's day on the slow link: push the day, pull two colleagues' days, one sync
    def day(self):
        colleagues = [field_client(self.path(f"gs-colleague-{i}.db"), self.gs_direct, f"colleague{i}")
                      for i in (1, 2)]
        for c in colleagues:
            c.sync()                # their own bootstrap, not measured
        for i in (1, 2):
            self.open_pouch(f"colleague{i}", f"{self.pouch_direct}/scope")
        # A day after the first: PouchDB's first sync() after a pull-only bootstrap walks every
        # pulled document once for its push checkpoint (a _revs_diff per 100); that happens once
        # per device, so it is done here, unmeasured, for both systems.
        gs_timed_sync(self.device_a)
        self.pouch("sync", name="boot-0")
        day_size = sum(DAY.values())
        for run in range(self.args.runs):
            for i, c in enumerate(colleagues, 1):
                records = day_records(self.rng, self.grid_ids, self.households, f"colleague{i}")
                write_gridsync(c, records)
                c.sync()
                self.pouch("write", name=f"colleague{i}", file=self.docs_file(records))
                self.pouch("push", names=[f"colleague{i}"])
            records = day_records(self.rng, self.grid_ids, self.households, "day")
            write_gridsync(self.device_a, records)
            self.add("day", "gridsync", self.with_link(self.gs_proxy, True, True, lambda: gs_timed_sync(
                self.device_a, expect_pushed=day_size, expect_pulled=2 * day_size)))
            self.pouch("write", name="boot-0", file=self.docs_file(records))
            out = self.with_link(self.pouch_proxy, True, True, lambda: self.pouch("sync", name="boot-0"))
            if (out["pushed"], out["pulled"]) != (day_size, 2 * day_size):
                raise SystemExit(f"PouchDB day: {out['pushed']} pushed, {out['pulled']} pulled")
            self.add("day", "pouch", out)
            self.progress("day", run)
        for c in colleagues:
            c.close()

    # no-op: nothing to send, nothing new; on loopback, and on the slow link with the connection
    # still open (syncs back to back) and with a new one (hours since the last sync)
    def noop(self):
        def pouch_sync():
            out = self.pouch("sync", name="boot-0")
            if (out["pushed"], out["pulled"]) != (0, 0):
                raise SystemExit(f"PouchDB no-op sync moved documents: {out}")
            return out

        def gs_sync():
            return gs_timed_sync(self.device_a, expect_pushed=0, expect_pulled=0)

        for row, slow, cold in (("noop", False, False), ("noop_slow", True, False), ("noop_slow_cold", True, True)):
            for run in range(self.args.runs):
                for system, proxy, sync in (("gridsync", self.gs_proxy, gs_sync),
                                            ("pouch", self.pouch_proxy, pouch_sync)):
                    # right before (on loopback): nothing left over, and the connection open, as
                    # between two syncs in a row (servers close idle ones after a few seconds:
                    # gunicorn 2 s, node's http 5 s)
                    sync()
                    self.add(row, system, self.with_link(proxy, slow, cold, sync))
            self.progress(row, self.args.runs - 1)

    def progress(self, row, run):
        r = self.results[row]
        g, p = r["gridsync"][-1], r["pouch"][-1]
        print(f"  {row:<15} run {run + 1}: gridsync {g['seconds']:.3f} s, PouchDB {p['seconds']:.3f} s", flush=True)


# --- the report ------------------------------------------------------------------------------

def med(results, row, system, key):
    return statistics.median(f[key] for f in results[row][system])


def report(bench, args, load):
    r, n = bench.results, len(bench.scope)
    f = {}
    for s, tag in (("gridsync", "gridsync"), ("pouch", "pouch")):
        f[f"{tag}_boot_s"] = med(r, "bootstrap", s, "seconds")
        f[f"{tag}_boot_kb"] = med(r, "bootstrap", s, "bytes_down") / 1024 + med(r, "bootstrap", s, "bytes_up") / 1024
        f[f"{tag}_boot_requests"] = med(r, "bootstrap", s, "requests")
        f[f"{tag}_push_per_s"] = statistics.median(x.get("docs", x.get("pushed")) / x["seconds"]
                                                   for x in r["push"][s])
        f[f"{tag}_conc_per_s"] = statistics.median(x["docs"] / x["seconds"] for x in r["concurrent"][s])
        for row in ("noop", "noop_slow", "noop_slow_cold", "day"):
            f[f"{tag}_{row}_s"] = med(r, row, s, "seconds")
            f[f"{tag}_{row}_requests"] = med(r, row, s, "requests")
            f[f"{tag}_{row}_kb"] = statistics.median((x["bytes_up"] + x["bytes_down"]) / 1024 for x in r[row][s])
            f[f"{tag}_{row}_connections"] = med(r, row, s, "connections")
    ratio = {
        "boot_time_ratio": f["gridsync_boot_s"] / f["pouch_boot_s"],
        "boot_bytes_ratio": f["gridsync_boot_kb"] / f["pouch_boot_kb"],
        "push_ratio": f["gridsync_push_per_s"] / f["pouch_push_per_s"],
        "conc_ratio": f["gridsync_conc_per_s"] / f["pouch_conc_per_s"],
        "noop_ratio": f["gridsync_noop_s"] / f["pouch_noop_s"],
        "noop_slow_ratio": f["gridsync_noop_slow_s"] / f["pouch_noop_slow_s"],
        "day_time_ratio": f["gridsync_day_s"] / f["pouch_day_s"],
        "day_bytes_ratio": f["gridsync_day_kb"] / f["pouch_day_kb"],
    }

    def pair(key, fmt):
        return fmt(f[f"pouch_{key}"]), fmt(f[f"gridsync_{key}"])

    def sync_cell(row, s):
        return (f"{f[f'{s}_{row}_s'] * 1000:,.0f} ms, {f[f'{s}_{row}_requests']:.0f} req "
                f"({f[f'{s}_{row}_connections']:.0f} new conn.), {f[f'{s}_{row}_kb']:.1f} KB")

    rows = [
        (f"bootstrap one worker's scope ({n:,} records)",
         f"{f['pouch_boot_s']:.2f} s, {f['pouch_boot_kb']:,.0f} KB", f"{f['gridsync_boot_s']:.2f} s, "
         f"{f['gridsync_boot_kb']:,.0f} KB",
         f"{ratio['boot_time_ratio']:.2f}× time, {ratio['boot_bytes_ratio']:.2f}× bytes"),
        (f"push {args.push:,} changes", *pair("push_per_s", lambda v: f"{v:,.0f}/s"), f"{ratio['push_ratio']:.2f}×"),
        (f"{args.devices} devices × {args.per_device} changes at once", *pair("conc_per_s", lambda v: f"{v:,.0f}/s"),
         f"{ratio['conc_ratio']:.2f}×"),
        ("no-op sync, loopback", sync_cell("noop", "pouch"), sync_cell("noop", "gridsync"),
         f"{ratio['noop_ratio']:.2f}× time"),
        ("no-op sync, slow link, connection open", sync_cell("noop_slow", "pouch"), sync_cell("noop_slow", "gridsync"),
         f"{ratio['noop_slow_ratio']:.2f}× time"),
        ("no-op sync, slow link, new connection", sync_cell("noop_slow_cold", "pouch"),
         sync_cell("noop_slow_cold", "gridsync"), ""),
        (f"a worker's day ({DAY['visit']} visits, {DAY['household']} households, {DAY['person']} persons, "
         f"{DAY['flag']} flags; two colleagues' days pulled), slow link, new connection",
         sync_cell("day", "pouch"), sync_cell("day", "gridsync"),
         f"{ratio['day_time_ratio']:.2f}× time, {ratio['day_bytes_ratio']:.2f}× bytes"),
    ]
    print(f"\nmedians of {args.runs} runs; slow link: {args.link_rate * 8 / 1000:g} kbit/s each way, "
          f"{args.link_delay * 1000:g} ms each way; bytes: TCP payload both ways (HTTP headers included)"
          + ("\n--quick: tiny sizes and a link ten times faster, to see that it runs; these are not measurements"
             if args.quick else "") + "\n")
    print("| | PouchDB | gridsync | ratio |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    checks = [
        ("push ≥ 5× PouchDB", ratio["push_ratio"] >= TARGETS["push_ratio"]),
        ("20-device concurrency ≥ 5× PouchDB", ratio["conc_ratio"] >= TARGETS["conc_ratio"]),
        ("no-op sync is one request", f["gridsync_noop_slow_requests"] == 1),
        ("no-op sync ≤ 0.4 s on the slow link (connection open)", f["gridsync_noop_slow_s"] <= TARGETS["noop_slow_s"]),
        ("a worker's day ≤ 3 s on the slow link", f["gridsync_day_s"] <= TARGETS["day_slow_s"]),
        ("a worker's day ≤ 1/4 of PouchDB's bytes", ratio["day_bytes_ratio"] <= TARGETS["day_bytes_ratio"]),
    ]
    push_share = statistics.median(x["network_s"] / x["seconds"] for x in r["push"]["gridsync"])
    conc_share = statistics.median(x["network_share"] for x in r["concurrent"]["gridsync"])
    print(f"\ngridsync's sync time spent in requests (the server and the wire; the rest is the tablet's own "
          f"work): push {100 * push_share:.0f}%, devices at once {100 * conc_share:.0f}% (medians)")
    print("\nbytes up / down (KB, medians):")
    for row in ("bootstrap", "noop_slow", "noop_slow_cold", "day"):
        cells = [f"{name} {med(r, row, s, 'bytes_up') / 1024:.1f} / {med(r, row, s, 'bytes_down') / 1024:.1f}"
                 for s, name in (("pouch", "PouchDB"), ("gridsync", "gridsync"))]
        print(f"  {row:<15} " + ", ".join(cells))
    print("\ntargets (issue 14):")
    for what, ok in checks:
        print(f"  {what}: {'met' if ok else 'NOT met'}")
    print(f"load average during the run (1, 5, 15 min): {load}")
    out = {
        "pouch_boot_s": f"{f['pouch_boot_s']:.3f}", "gridsync_boot_s": f"{f['gridsync_boot_s']:.3f}",
        "boot_time_ratio": f"{ratio['boot_time_ratio']:.3f}", "boot_bytes_ratio": f"{ratio['boot_bytes_ratio']:.3f}",
        "pouch_push_per_s": f"{f['pouch_push_per_s']:.0f}", "gridsync_push_per_s": f"{f['gridsync_push_per_s']:.0f}",
        "push_ratio": f"{ratio['push_ratio']:.2f}",
        "pouch_conc_per_s": f"{f['pouch_conc_per_s']:.0f}", "gridsync_conc_per_s": f"{f['gridsync_conc_per_s']:.0f}",
        "conc_ratio": f"{ratio['conc_ratio']:.2f}",
        "pouch_noop_ms": f"{f['pouch_noop_s'] * 1000:.1f}", "gridsync_noop_ms": f"{f['gridsync_noop_s'] * 1000:.1f}",
        "pouch_noop_slow_s": f"{f['pouch_noop_slow_s']:.3f}", "noop_slow_s": f"{f['gridsync_noop_slow_s']:.3f}",
        "noop_slow_requests": f"{f['gridsync_noop_slow_requests']:.0f}",
        "noop_slow_cold_s": f"{f['gridsync_noop_slow_cold_s']:.3f}",
        "pouch_day_slow_s": f"{f['pouch_day_s']:.3f}", "day_slow_s": f"{f['gridsync_day_s']:.3f}",
        "pouch_day_kb": f"{f['pouch_day_kb']:.1f}", "day_kb": f"{f['gridsync_day_kb']:.1f}",
        "day_bytes_ratio": f"{ratio['day_bytes_ratio']:.3f}", "scope": n, "runs": args.runs,
    }
    print("RESULT " + " ".join(f"{k}={v}" for k, v in out.items()))


# --- main ------------------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smoke test: 400 records, 500 pushed, 4 × 50 at once, 1 run, a link 10× faster")
    parser.add_argument("--scope", type=int, default=13000, help="records in the bootstrapped scope")
    parser.add_argument("--push", type=int, default=10000, help="changes pushed by one device")
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--per-device", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", default=DEFAULT_DB,
                        help="a PostgreSQL server (the scratch database is made beside this one)")
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--gunicorn-threads", type=int, default=4)
    parser.add_argument("--link-rate", type=float, default=SLOW_RATE, help="the slow link's bytes a second each way")
    parser.add_argument("--link-delay", type=float, default=SLOW_DELAY, help="the slow link's seconds each way")
    parser.add_argument("--pouch-no-keepalive", dest="pouch_keepalive", action="store_false",
                        help="PouchDB devices open a connection per request, as PouchDB in node does by default "
                             "(by default they keep connections open, as a browser does)")
    parser.add_argument("--no-install", action="store_true",
                        help="skip instead of running npm ci when PouchDB is not installed yet")
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args(argv)
    if args.quick:
        args.scope, args.push, args.devices, args.per_device, args.runs = 400, 500, 4, 50, 1
        args.link_rate, args.link_delay = 10 * SLOW_RATE, SLOW_DELAY / 10
    if args.scope < 200:
        parser.error("--scope must be at least 200 (a day visits 30 of its households)")

    why_not = pouch_ready(not args.no_install)
    if why_not:
        print(f"sync comparison skipped: {why_not}")
        print("RESULT skipped=pouchdb_unavailable")
        return 0

    from sync_throughput import PostgresBackend
    from benchapp import app_config
    from server import create_app
    from server.extensions import db

    begun = time.perf_counter()
    rng = random.Random(args.seed)
    procs, closers = [], []
    backend = PostgresBackend(args.database_url)
    workdir = tempfile.mkdtemp(prefix="bench-sync-compare-")
    try:
        app = create_app(app_config(backend.url))
        started = time.perf_counter()
        with app.app_context():
            grid_ids = make_city(args.runs, args.devices)
            scope = scope_records(rng, grid_ids, args.scope, "seed")
            seed_scope(scope)
            db.session.remove()
            db.engine.dispose()
        print(f"gridsync: {backend.name}, {len(scope):,} records seeded in {time.perf_counter() - started:.1f} s")
        gunicorn, gs_port = start_gunicorn(backend.url, args.gunicorn_workers, args.gunicorn_threads)
        procs.append(gunicorn)
        print(f"gridsync: gunicorn on port {gs_port}, {args.gunicorn_workers} workers × "
              f"{args.gunicorn_threads} threads")
        pouch_server, pouch_port = start_pouchdb_server(workdir)
        procs.append(pouch_server)
        pouch = PouchDevices()
        closers.append(pouch.close)
        started = time.perf_counter()
        scope_file = os.path.join(workdir, "scope.json")
        with open(scope_file, "w", encoding="utf-8") as f:
            json.dump(pouch_docs(scope), f, ensure_ascii=False)
        pouch("seed_remote", url=f"http://127.0.0.1:{pouch_port}/scope", file=scope_file)
        print(f"PouchDB {pouch.node}: pouchdb-server (in memory) on port {pouch_port}, the same records seeded "
              f"in {time.perf_counter() - started:.1f} s")
        gs_proxy = LinkProxy(gs_port, args.link_rate, args.link_delay)
        pouch_proxy = LinkProxy(pouch_port, args.link_rate, args.link_delay)
        closers += [gs_proxy.close, pouch_proxy.close]
        bench = Bench(args, workdir, gs_port, pouch_port, pouch, gs_proxy, pouch_proxy, grid_ids, scope, rng)
        closers.insert(0, lambda: bench.device_a and bench.device_a.close())
        load0 = os.getloadavg()
        for step in (bench.bootstrap, bench.push, bench.concurrent, bench.day, bench.noop):
            step()
        load1 = os.getloadavg()
        load = " / ".join(f"{a:.2f}→{b:.2f}" for a, b in zip(load0, load1))
        report(bench, args, load)
        print(f"(the whole run took {time.perf_counter() - begun:.0f} s)", file=sys.stderr)
    finally:
        for close in closers:
            try:
                close()
            except Exception as exc:        # keep closing the rest; the run's own error matters more
                print(f"while closing: {exc!r}", file=sys.stderr)
        for proc in procs:
            stop(proc)
        backend.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
