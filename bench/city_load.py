"""City load: a whole city's tablets syncing their day at once, against gunicorn on PostgreSQL.

Setup (not timed): a scratch PostgreSQL database, migrated; a city of ``--devices`` grid workers,
each with one enrolled tablet and a token (as tablets reuse theirs), about
``--devices-per-grid`` workers per grid; gunicorn with ``--workers`` processes (gthread) serving
``server:create_app()``. Each tablet has its day ready in its outbox: ``--changes`` changes
(households, their members with valid ID numbers, visits with all six checks), stamped by its
own clock, and has synced once already (its cursor and the versions it holds).

Timed: ``--clients`` client processes, each keeping ``--inflight`` tablets busy, sync every
tablet's day the way the SDK does: one ``POST /api/v1/sync/exchange`` carrying the batch (and
the first page of what colleagues pushed), then exchanges with an empty batch until the pull is
caught up. One tablet in twenty did not hear the answer and sends the same batch again: every
result must then be ``already_applied``.

Checked after: every acknowledged change is in the change log exactly once (``lost``,
``doubled``), and the register holds each household once.

    python bench/city_load.py [--devices 7049] [--workers 2] [--quick]

The last line: ``RESULT devices= changes= seconds= devices_per_min= p99_push_ms= p99_pull_ms=
lost= doubled= ...``. Several ``--workers`` values (``--workers 1,2,4``) run one after another
on fresh databases, so throughput against workers is measured in one run.
"""
import argparse
import gzip
import hashlib
import http.client
import json
import multiprocessing as mp
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, "bench"))

from benchapp import migrate  # noqa: E402
from sync import SCHEMA_VERSION  # noqa: E402
from sync_throughput import ChangeFactory  # noqa: E402

PG_ADMIN = os.environ.get("GRIDSYNC_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
TARGET_DEVICES, TARGET_SECONDS, TARGET_P99_PUSH_MS = 7049, 300, 1000
PII_KEY = "dGVzdC1waWkta2V5LWZvci10ZXN0cy1vbmx5LTMyYiE="
BLIND_KEY = "dGVzdC1pbmRleC1rZXktZm9yLXRlc3RzLW9ubHktMzI="


# --- the city ------------------------------------------------------------------------------------
def scratch_db(psycopg):
    name = f"gridsync_cityload_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def drop_db(psycopg, name):
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed(psycopg, url, devices, per_grid):
    """Areas, one worker, device and token per tablet. Returns [(device id, token, grid id)]."""
    grids = max(1, round(devices / per_grid))
    communities = max(1, grids // 8)
    city = uuid.uuid4()
    rows_area = [(city, "L", "负载市", "city", None, "/L/")]
    comm_ids = []
    for c in range(communities):
        cid = uuid.uuid4()
        comm_ids.append(cid)
        rows_area.append((cid, f"L-C{c}", f"第{c + 1}社区", "community", city, f"/L/L-C{c}/"))
    grid_ids = []
    for g in range(grids):
        gid, c = uuid.uuid4(), g % communities
        grid_ids.append((gid, comm_ids[c]))
        rows_area.append((gid, f"L-G{g}", f"第{g + 1}网格", "grid", comm_ids[c], f"/L/L-C{c}/L-G{g}/"))
    tablets = []
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy("COPY area (id, code, name, level, parent_id, path) FROM STDIN") as copy:
            for row in rows_area:
                copy.write_row(row)
        with cur.copy("COPY worker (id, username, display_name, role, area_id, password_hash, active, "
                      "session_epoch, created_at) FROM STDIN") as copy:
            workers = []
            for i in range(devices):
                wid = uuid.uuid4()
                gid, cid = grid_ids[i % grids]
                workers.append((wid, gid))
                copy.write_row((wid, f"load-{i}", f"网格员{i}", "grid_worker", cid, "!load: no log-in", True, 0,
                                "2026-01-01T00:00:00Z"))
        with cur.copy("COPY worker_grid (worker_id, grid_id) FROM STDIN") as copy:
            for wid, gid in workers:
                copy.write_row((wid, gid))
        with cur.copy("COPY device (id, worker_id, name, enrolled_at, resync_required, replica_since) "
                      "FROM STDIN") as copy:
            for i, (wid, _) in enumerate(workers):
                copy.write_row((f"tab-{i}", wid, f"平板{i}", "2026-01-01T00:00:00Z", False, 0))
        with cur.copy("COPY token (id, token_hash, worker_id, device_id, created_at, expires_at) "
                      "FROM STDIN") as copy:
            for i, (wid, gid) in enumerate(workers):
                raw = uuid.uuid4().hex + uuid.uuid4().hex
                copy.write_row((uuid.uuid4(), hashlib.sha256(raw.encode()).hexdigest(), wid, f"tab-{i}",
                                "2026-01-01T00:00:00Z", "2099-01-01T00:00:00Z"))
                tablets.append((f"tab-{i}", raw, str(gid)))
        conn.commit()
    return tablets


# --- gunicorn --------------------------------------------------------------------------------------
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url, workers, threads):
    port = free_port()
    env = dict(os.environ, DATABASE_URL=url, GRIDSYNC_PII_KEY=PII_KEY, GRIDSYNC_BLIND_INDEX_KEY=BLIND_KEY,
               GRIDSYNC_SECRET_KEY="city-load-bench", GRIDSYNC_RATELIMIT="off")
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    proc = subprocess.Popen([gunicorn, "-w", str(workers), "-k", "gthread", "--threads", str(threads),
                             "-b", f"127.0.0.1:{port}", "--backlog", "2048", "--timeout", "120",
                             "--log-level", "warning", "server:create_app()"],
                            cwd=REPO, env=env, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/v1/openapi.json")
            conn.getresponse().read()
            conn.close()
            return proc, port
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("gunicorn exited at start")
            time.sleep(0.3)
    raise SystemExit("gunicorn did not answer within 60 s")


def stop_server(proc):
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


# --- the tablets -------------------------------------------------------------------------------------
def _exchange(conn, token, device, changes, cursor, have):
    body = gzip.compress(json.dumps({"device_id": device, "schema_version": SCHEMA_VERSION, "changes": changes,
                                     "cursor": cursor, "limit": 1000, "have": have},
                                    ensure_ascii=False, separators=(",", ":")).encode(), 6)
    started = time.perf_counter()
    conn.request("POST", "/api/v1/sync/exchange", body=body, headers={
        "Authorization": "Bearer " + token, "Content-Type": "application/json", "Content-Encoding": "gzip",
        "Accept-Encoding": "gzip"})
    resp = conn.getresponse()
    data = resp.read()
    took = (time.perf_counter() - started) * 1000
    if resp.getheader("Content-Encoding") == "gzip":
        data = gzip.decompress(data)
    if resp.status != 200:
        raise RuntimeError(f"{device}: HTTP {resp.status}: {data[:300]!r}")
    page = json.loads(data)
    # what the answer leaves out is empty, false or what was sent (docs/protocol.md §6.7)
    for key, value in (("results", []), ("changes", []), ("more", False), ("cursor", cursor), ("versions", have)):
        page.setdefault(key, value)
    return page, took, len(body)


def _each_tablet(port, tablets, inflight, lock, step):
    """``step(connection, device, token)`` for every tablet, ``inflight`` at a time, each thread
    on its own kept-open connection."""
    queue = list(tablets)

    def run():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                if not queue:
                    return
                device, token, _ = queue.pop()
            step(conn, device, token)

    threads = [threading.Thread(target=run) for _ in range(inflight)]
    [t.start() for t in threads]
    [t.join() for t in threads]


def client_process(port, tablets, n_changes, inflight, seed, ready, go, out):
    """One client process: prepares its tablets' days, syncs each once (untimed), waits for the
    start, then syncs every day with ``inflight`` tablets at a time."""
    rng = random.Random(seed)
    days = {}
    for device, token, grid in tablets:
        factory = ChangeFactory(rng, [grid], device)
        changes = []
        while len(changes) < n_changes:
            changes.extend(c for c, _ in factory.household())
        days[device] = changes[:n_changes]
    state = {}
    lock = threading.Lock()

    def prime(conn, device, token):
        page, _, _ = _exchange(conn, token, device, [], None, {})
        cursor = page["cursor"]
        while page["more"]:
            page, _, _ = _exchange(conn, token, device, [], cursor, page["versions"])
            cursor = page["cursor"]
        state[device] = (cursor, page["versions"])

    _each_tablet(port, tablets, inflight, lock, prime)
    ready.set()
    go.wait()

    push_ms, pull_ms, acked, retried, bad = [], [], [], [0, 0], []
    sent_bytes = [0]
    started = time.perf_counter()

    def work(conn, device, token):
        cursor, have = state[device]
        changes = days[device]
        page, took, size = _exchange(conn, token, device, changes, cursor, have)
        statuses = [r["status"] for r in page["results"]]
        with lock:
            push_ms.append(took)
            sent_bytes[0] += size
            acked.extend(c["change_id"] for c, s in zip(changes, statuses)
                         if s in ("applied", "merged_with_conflict"))
            bad.extend(s for s in statuses if s not in ("applied", "merged_with_conflict"))
        if int(device.split("-")[1]) % 20 == 0:          # the answer was lost: the same batch again
            again, _, _ = _exchange(conn, token, device, changes, cursor, have)
            with lock:
                retried[0] += 1
                retried[1] += all(r["status"] == "already_applied" for r in again["results"])
        cursor = page["cursor"]
        while page["more"]:
            page, took, _ = _exchange(conn, token, device, [], cursor, have)
            cursor = page["cursor"]
            with lock:
                pull_ms.append(took)

    _each_tablet(port, tablets, inflight, lock, work)
    out.put({"push_ms": push_ms, "pull_ms": pull_ms, "acked": acked, "retried": retried, "bad": bad[:5],
             "n_bad": len(bad), "seconds": time.perf_counter() - started, "bytes": sent_bytes[0]})


def p99(values):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(round(0.99 * (len(values) - 1))))]


def run(args, workers, psycopg):
    name, url = scratch_db(psycopg)
    proc = None
    try:
        migrate(url)
        tablets = seed(psycopg, url, args.devices, args.devices_per_grid)
        proc, port = start_server(url, workers, args.threads)
        ctx = mp.get_context("fork")
        go, out = ctx.Event(), ctx.Queue()
        readies, procs = [], []
        for k in range(args.clients):
            ready = ctx.Event()
            p = ctx.Process(target=client_process, args=(port, tablets[k::args.clients], args.changes,
                                                         args.inflight, args.seed + k, ready, go, out))
            p.start()
            readies.append(ready)
            procs.append(p)
        for r in readies:
            while not r.wait(5):
                if any(p.exitcode not in (None, 0) for p in procs):
                    raise SystemExit("a client process failed while preparing")
        started = time.perf_counter()
        go.set()
        parts = [out.get(timeout=3600) for _ in procs]
        seconds = time.perf_counter() - started
        for p in procs:
            p.join()
        acked = [cid for part in parts for cid in part["acked"]]
        with psycopg.connect(url) as conn:
            logged = conn.execute("SELECT change_id::text FROM change_log WHERE device_id LIKE 'tab-%'").fetchall()
            households = conn.execute("SELECT count(*), count(DISTINCT id) FROM household").fetchone()
        logged_ids = [r[0] for r in logged]
        seen = set(logged_ids)
        lost = sum(1 for cid in acked if cid not in seen)
        doubled = len(logged_ids) - len(seen) + (households[0] - households[1])
        push_ms = [x for part in parts for x in part["push_ms"]]
        pull_ms = [x for part in parts for x in part["pull_ms"]]
        retried = [sum(part["retried"][i] for part in parts) for i in (0, 1)]
        return {"workers": workers, "devices": args.devices, "changes": len(acked), "seconds": seconds,
                "devices_per_min": args.devices / seconds * 60, "changes_per_s": len(acked) / seconds,
                "p50_push_ms": statistics.median(push_ms), "p99_push_ms": p99(push_ms),
                "p99_pull_ms": p99(pull_ms), "pulls": len(pull_ms), "lost": lost, "doubled": doubled,
                "not_applied": sum(part["n_bad"] for part in parts),
                "examples": [b for part in parts for b in part["bad"]][:5],
                "retried": retried[0], "retried_ok": retried[1],
                "unacknowledged_in_log": len(seen - set(acked))}
    finally:
        if proc is not None:
            stop_server(proc)
        drop_db(psycopg, name)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--devices", type=int, default=TARGET_DEVICES)
    p.add_argument("--devices-per-grid", type=float, default=3.5)
    p.add_argument("--changes", type=int, default=38, help="changes in each tablet's day (default 38)")
    p.add_argument("--workers", default="2", help="gunicorn worker processes; a list runs each (e.g. 1,2,4)")
    p.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (default 4)")
    p.add_argument("--clients", type=int, default=2, help="client processes (default 2)")
    p.add_argument("--inflight", type=int, default=12, help="tablets syncing at once per client (default 12)")
    p.add_argument("--seed", type=int, default=7049)
    p.add_argument("--quick", action="store_true", help="200 tablets: a smoke run")
    args = p.parse_args()
    if args.quick:
        args.devices = min(args.devices, 200)
    try:
        import psycopg
    except ImportError:
        print("psycopg is not installed: pip install -e '.[postgres]'")
        print("RESULT skipped=1")
        return 0
    if shutil.which("gunicorn", path=os.path.dirname(sys.executable)) is None:
        print("gunicorn is not installed in this environment: pip install -e '.[dev]'")
        print("RESULT skipped=1")
        return 0
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            pass
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL does not answer at {PG_ADMIN}: {exc}")
        print("RESULT skipped=1")
        return 0
    print(f"gridsync city load — {args.devices:,} tablets × {args.changes} changes, gunicorn gthread "
          f"×{args.threads} threads, {args.clients} client processes × {args.inflight} in flight, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    rows = []
    for workers in [int(w) for w in args.workers.split(",")]:
        r = run(args, workers, psycopg)
        rows.append(r)
        print(f"workers={workers}: {r['seconds']:.1f} s, {r['devices_per_min']:,.0f} tablets/min, "
              f"{r['changes_per_s']:,.0f} changes/s, push p50 {r['p50_push_ms']:.0f} ms p99 {r['p99_push_ms']:.0f} ms, "
              f"pull p99 {r['p99_pull_ms']:.0f} ms over {r['pulls']} pulls; lost {r['lost']}, doubled {r['doubled']}, "
              f"not applied {r['not_applied']} {r['examples']}, retried batches {r['retried']} "
              f"(all already_applied: {r['retried_ok']}), logged but never acknowledged {r['unacknowledged_in_log']}",
              flush=True)
    best = max(rows, key=lambda r: r["devices_per_min"])
    base = rows[0]
    met = (best["seconds"] * TARGET_DEVICES / best["devices"] <= TARGET_SECONDS
           and best["p99_push_ms"] < TARGET_P99_PUSH_MS and best["lost"] == 0 and best["doubled"] == 0)
    print(f"target: {TARGET_DEVICES:,} tablets within {TARGET_SECONDS} s (p99 push < {TARGET_P99_PUSH_MS} ms, "
          f"none lost or doubled): {'met' if met else 'NOT MET'} at {best['workers']} workers "
          f"(scaled to {TARGET_DEVICES:,}: {best['seconds'] * TARGET_DEVICES / best['devices']:.0f} s); "
          f"throughput ratio best/{base['workers']} worker(s): {best['devices_per_min'] / base['devices_per_min']:.2f}")
    print(f"RESULT devices={best['devices']} changes={best['changes']} seconds={best['seconds']:.1f} "
          f"devices_per_min={best['devices_per_min']:.0f} p99_push_ms={best['p99_push_ms']:.0f} "
          f"p99_pull_ms={best['p99_pull_ms']:.0f} lost={best['lost']} doubled={best['doubled']} "
          f"workers={best['workers']} ratio_to_first={best['devices_per_min'] / base['devices_per_min']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
