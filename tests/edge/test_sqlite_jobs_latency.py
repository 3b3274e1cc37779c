"""SQLite as a real default: the demo server, on its embedded SQLite file with the scheduler
running, keeps answering while the duplicate linker makes its first pass over the 2,000-household
demo city (issue 11: that pass used to hold the write lock for 25 s a page, and requests failed
with "database is locked").

This is the one timed test: p99 latency under 1 s and no 5xx during the pass, and the pass done
in well under two minutes. The thresholds leave room for a loaded two-core machine (the pass
takes a few seconds of CPU; requests a few tens of milliseconds): where the same load without
the pass already has a p99 over 1 s, the pass may not raise it by more than half, and no request
may wait 8 s. The figures are printed (run with -s)."""
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid

import pytest
import requests


from server.config import TestConfig

#: the linker's first round starts this long after the server does: time to log in and start
#: the load first, so the whole pass is measured
LINK_AFTER_S = 12


#: each client's pause between requests: four clients then ask about 40 times a second, a busy
#: evening for one small server, without keeping every server thread busy all the time
THINK_S = 0.1
#: the first seconds of load (cold caches, the scheduler's first rounds) are not a baseline
WARM_UP_S = 3


def _p99(values):
    return sorted(values)[max(0, int(len(values) * 0.99) - 1)] if values else 0.0


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _behind(db_path):
    """Grids whose changes the linker has not read yet (read from the file, as any reader)."""
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as conn:
        return conn.execute("SELECT count(*) FROM grid_clock g LEFT JOIN link_cursor c ON c.grid_id = g.grid_id "
                            "WHERE coalesce(c.gseq, 0) < g.gseq").fetchone()[0]


@pytest.fixture
def demo_server(tmp_path):
    port = _free_port()
    db_path = tmp_path / "demo.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDSYNC_")}
    env.update(DATABASE_URL=f"sqlite:///{db_path}", GRIDSYNC_PII_KEY=TestConfig.PII_KEY,
               GRIDSYNC_BLIND_INDEX_KEY=TestConfig.BLIND_INDEX_KEY, GRIDSYNC_SECRET_KEY="latency-test",
               GRIDSYNC_LINK_INTERVAL_S=str(LINK_AFTER_S), GRIDSYNC_ESCALATION_INTERVAL_S="1")
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-c", "from server.cli import main; main()", "demo", "--port", str(port)],
                            env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            assert proc.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
            try:
                if requests.get(url + "/healthz", timeout=2).status_code == 200:
                    ready = time.monotonic()
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "the demo server did not start"
            time.sleep(0.5)
        yield url, db_path, proc, tmp_path / "server.log", ready
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _token(url, user, password, device):
    resp = requests.post(url + "/api/v1/auth/token", timeout=30, json={
        "username": user, "password": password, "device_id": device})
    assert resp.status_code == 201, resp.text
    return resp.json()["token"]


class Load:
    """Clients that keep asking: reads, audited reads, pulls and pushes (each push a write)."""

    def __init__(self, url, tokens, households, grid):
        self.url, self.tokens, self.households, self.grid = url, tokens, households, grid
        self.samples, self.stop = [], threading.Event()

    def _push(self, session, n):
        hid = self.households[n % len(self.households)]
        stamp = f"{int(time.time() * 1000):013d}-{n % 10000:04d}-load-w1"
        return session.post(self.url + "/api/v1/sync/push", timeout=60, json={
            "device_id": "load-w1", "schema_version": 1, "changes": [{
                "change_id": str(uuid.uuid4()), "entity": "household", "entity_id": hid, "stamp": stamp,
                "fields": {"note": f"来访 {n}"}}]})

    def run(self, k):
        session = requests.Session()
        worker = {"Authorization": "Bearer " + self.tokens["worker1"]}
        staff = {"Authorization": "Bearer " + self.tokens["community1"]}
        n = k
        while not self.stop.is_set():
            n += 4
            kind = n % 6
            started = time.monotonic()
            if kind == 0:
                resp = session.get(self.url + "/api/v1/households?per_page=20", headers=worker, timeout=60)
            elif kind == 1:
                resp = session.get(f"{self.url}/api/v1/households/{self.households[n % len(self.households)]}",
                                   headers=worker, timeout=60)                       # writes its audit row
            elif kind == 2:
                resp = session.get(self.url + "/api/v1/sync/pull?limit=200", headers=worker, timeout=60)
            elif kind == 3:
                session.headers.update(worker)
                resp = self._push(session, n)
            elif kind == 4:
                resp = session.get(self.url + "/api/v1/flags/queue", headers=staff, timeout=60)
            else:
                resp = session.get(self.url + "/healthz", timeout=60)
            self.samples.append((kind, time.monotonic() - started, resp.status_code, started))
            self.stop.wait(THINK_S)


def test_requests_stay_fast_while_the_linker_makes_its_first_pass(demo_server):
    url, db_path, proc, log_path, ready = demo_server
    # the scheduler starts just before the server answers: the linker's first round comes
    # LINK_AFTER_S later (a second early, to be safe); before it, the same load without it
    links_from = ready + LINK_AFTER_S - 1
    tokens = {"worker1": _token(url, "worker1", "worker-demo", "load-w1"),
              "community1": _token(url, "community1", "community-demo", "load-c1")}
    head = {"Authorization": "Bearer " + tokens["worker1"]}
    households = [h["id"] for h in requests.get(url + "/api/v1/households?per_page=50", headers=head,
                                                timeout=30).json()]
    assert households
    assert _behind(db_path) > 0, "the linker ran before the load started: nothing would be measured"
    load = Load(url, tokens, households, None)
    threads = [threading.Thread(target=load.run, args=(k,), daemon=True) for k in range(4)]
    started = time.monotonic()
    for t in threads:
        t.start()
    pass_done = None
    try:
        while time.monotonic() - started < 240:
            if _behind(db_path) == 0:
                pass_done = time.monotonic()
                break
            time.sleep(0.2)
        time.sleep(2)               # and a little after, while the other jobs go on
    finally:
        load.stop.set()
        for t in threads:
            t.join(timeout=120)
    assert proc.poll() is None, log_path.read_text()[-3000:]
    assert pass_done is not None, "the linker's first pass did not finish within four minutes"
    # the same load without the pass (after a few seconds' warm-up): what this machine gives now
    before = sorted(s[1] for s in load.samples if started + WARM_UP_S <= s[3] < links_from)
    latencies = sorted(s[1] for s in load.samples if links_from <= s[3] <= pass_done)
    failed = [s for s in load.samples if s[2] >= 500]
    p99 = _p99(latencies)
    print(f"\nlinker pass: from {links_from - started:.1f} s to {pass_done - started:.1f} s after the load started; "
          f"{len(latencies)} requests, p50 {latencies[len(latencies) // 2] * 1000:.0f} ms, "
          f"p99 {p99 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms; before the pass {len(before)} requests, "
          f"p99 {_p99(before) * 1000:.0f} ms")
    names = ["list", "read (audited)", "pull", "push", "queue", "healthz"]
    for kind, name in enumerate(names):
        mine = sorted(s[1] for s in load.samples if s[0] == kind and links_from <= s[3] <= pass_done)
        if mine:
            print(f"  {name}: {len(mine)} requests, p99 {mine[int(len(mine) * 0.99) - 1] * 1000:.0f} ms, "
                  f"max {mine[-1] * 1000:.0f} ms")
    assert not failed, failed[:5]
    assert "database is locked" not in log_path.read_text()
    assert len(latencies) >= 100 and len(before) >= 20
    # seconds on an idle machine (bench figure in docs/benchmarks.md); generous for a loaded one
    assert pass_done - links_from < 120
    # Under 1 s; on a machine so loaded that the same requests without the pass are already
    # slower than that, the pass must not make them much slower. Before the change a request
    # waited behind a 25 s page: both fail that.
    assert p99 < max(1.0, 1.5 * _p99(before)), (p99, _p99(before))
    assert latencies[-1] < 8.0
