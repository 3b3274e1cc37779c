"""bench/sync_compare: its link proxy delays and counts as it says, the comparison skips cleanly
where node is missing, and (where PouchDB is installed already) a tiny run ends with its RESULT."""
import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from tests.test_bench_smoke import ROOT, _postgres_or_skip

HERE = os.path.join(ROOT, "bench", "sync_compare")


@pytest.fixture
def echo_server():
    """A TCP server on loopback that sends back whatever it receives."""
    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(10)
    alive = True

    def serve():
        while alive:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=echo, args=(conn,), daemon=True).start()

    def echo(conn):
        with conn:
            while data := conn.recv(4096):
                conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    yield srv.getsockname()[1]
    alive = False
    srv.close()


@pytest.fixture
def proxy(echo_server):
    """linkproxy.py in front of the echo server: 4,000 bytes a second, 50 ms each way when slow."""
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "linkproxy.py"), "--target",
                             f"127.0.0.1:{echo_server}", "--rate", "4000", "--delay", "0.05"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    ready = proc.stdout.readline().split()
    control = socket.create_connection(("127.0.0.1", int(ready[2])), timeout=10)
    lines = control.makefile("r")

    def say(command):
        control.sendall(command.encode() + b"\n")
        answer = lines.readline().strip()
        return json.loads(answer) if command == "stats" else answer

    yield int(ready[1]), say
    lines.close()
    control.close()
    proc.stdin.close()
    proc.wait(10)
    proc.stdout.close()


def _round_trip(port, payload):
    """Connect, send, read the echo back whole; seconds taken and what came back."""
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=20) as conn:
        conn.sendall(payload)
        got = b""
        while len(got) < len(payload):
            chunk = conn.recv(65536)
            assert chunk, "the proxy closed the connection early"
            got += chunk
    return time.perf_counter() - started, got


def test_proxy_counts_bytes_and_connections_on_the_fast_link(proxy):
    port, say = proxy
    assert say("reset") == "ok"
    _, got = _round_trip(port, b"x" * 3000)
    assert got == b"x" * 3000
    assert say("stats") == {"connections": 1, "bytes_up": 3000, "bytes_down": 3000}


def test_the_slow_link_costs_a_handshake_the_bytes_at_its_rate_and_the_delay_each_way(proxy):
    port, say = proxy
    assert say("slow") == "ok"
    took, got = _round_trip(port, b"y" * 2000)
    assert got == b"y" * 2000
    # at least: handshake 0.1 s + 2,000 bytes up at 4,000/s + 0.05 s + the last piece back + 0.05 s
    assert took >= 0.1 + 0.5 + 0.05 + 0.05
    assert say("fast") == "ok" and say("reset") == "ok"
    took_fast, _ = _round_trip(port, b"y" * 2000)
    assert took_fast < took
    assert say("stats")["connections"] == 1


def test_drop_closes_open_connections(proxy):
    port, say = proxy
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"hello")
        assert conn.recv(100) == b"hello"
        assert say("drop") == "ok"
        assert conn.recv(100) == b""        # closed by the proxy, as hours between two syncs would


def test_comparison_is_skipped_with_a_reason_where_node_is_missing(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))      # no node, no npm
    done = subprocess.run([sys.executable, "bench/sync_compare/run.py", "--quick"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert "skipped: node and npm are not installed" in lines[0]
    assert lines[-1] == "RESULT skipped=pouchdb_unavailable"


@pytest.mark.postgres
def test_quick_comparison_runs_and_reports():
    """Runs only where bench/sync_compare/node already holds PouchDB: installing it fetches
    about 370 packages from the npm registry (minutes), which a test run must not do."""
    if not os.path.isdir(os.path.join(HERE, "node", "node_modules", "pouchdb-server")):
        pytest.skip("PouchDB is not installed in bench/sync_compare/node (the benchmark installs it on its first run)")
    _postgres_or_skip()
    done = subprocess.run([sys.executable, "bench/sync_compare/run.py", "--quick", "--no-install"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    last = done.stdout.strip().splitlines()[-1]
    figures = dict(kv.split("=") for kv in last.removeprefix("RESULT ").split())
    assert last.startswith("RESULT ")
    for key in ("pouch_push_per_s", "gridsync_push_per_s", "push_ratio", "conc_ratio", "noop_slow_s",
                "day_slow_s", "day_bytes_ratio"):
        assert float(figures[key]) > 0, key
    # a no-op sync is one request (what the bench measured, not how long it took)
    assert figures["noop_slow_requests"] == "1"
