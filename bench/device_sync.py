"""Device sync benchmark: bootstrap one worker's scope into an empty tablet, then an evening's
incremental sync, over loopback HTTP against the real server.

Scope: 5 grids, ~750 households, ~2,500 persons, ~10,000 past visits (and some flags), seeded
on the server through its ingest path. Targets on this machine: bootstrap < 3 s, incremental
(50 local changes) < 0.2 s. The split says where the time goes: inside the server (a timing
WSGI wrapper), on the wire (transport time minus server time), decoding JSON, and applying to
the local store. The last line is ``RESULT bootstrap_s=… incremental_s=…``.

    python bench/device_sync.py [--households 750] [--runs 3] [--encrypt]
"""
import argparse
import base64
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from werkzeug.serving import WSGIRequestHandler, make_server  # noqa: E402

from client_sdk import FieldClient  # noqa: E402
from sync.checklist import CHECK_KEYS  # noqa: E402

TARGET_BOOTSTRAP_S, TARGET_INCREMENTAL_S = 3.0, 0.2
CHECKS = {k: {"status": "ok", "answers": {}, "note": ""} for k in CHECK_KEYS}


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


class ServerTimer:
    """WSGI wrapper adding up the time spent inside the app (the body is built there)."""

    def __init__(self, app):
        self.app, self.seconds, self.lock = app, 0.0, threading.Lock()

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        body = list(self.app(environ, start_response))
        with self.lock:
            self.seconds += time.perf_counter() - started
        return body


def make_app(workdir):
    from flask_migrate import upgrade

    from server import create_app
    key = lambda: base64.b64encode(os.urandom(32)).decode()  # noqa: E731
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir}/server.db", "SECRET_KEY": "bench",
                      "PII_KEY": key(), "BLIND_INDEX_KEY": key(), "RATELIMIT_ENABLED": False,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        upgrade()
    return app


def seed(app, households, seed=11):
    """One worker with 5 grids and their history, written through the server's one write path (``apply_as_server``)."""
    from server.services.accounts import create_area, create_worker
    from server.extensions import db
    from server.services.server_changes import apply_as_server, server_change
    rng = random.Random(seed)
    counts = dict.fromkeys(("household", "person", "visit", "flag", "flag_event"), 0)
    with app.app_context():
        city = create_area("B", "基准市", "city")
        parent = city
        for level in ("district", "street", "community"):
            parent = create_area(f"B-{level}", f"基准{level}", level, parent)
        grids = [create_area(f"B-G{i}", f"基准网格{i}", "grid", parent) for i in range(1, 6)]
        db.session.flush()
        create_worker("bench", "pw-bench", "grid_worker", area=parent, grids=grids)
        db.session.commit()
        now, batch = dt.datetime.now(dt.timezone.utc), []

        def add(entity, fields):
            eid = uuid.uuid4()
            batch.append(server_change(entity, eid, fields))
            counts[entity] += 1
            return str(eid)

        def flush():
            apply_as_server(batch)
            db.session.commit()
            batch.clear()

        for i in range(households):
            hid = add("household", {"grid_id": str(grids[i % 5].id), "address": f"和平路{i + 1}号",
                                    "building": f"{rng.randint(1, 20)}栋", "head_name": f"户主{i}",
                                    "phone": f"139{rng.randint(10000000, 99999999)}"})
            for p in range(rng.choice((2, 3, 3, 4, 5)) if i % 3 else 3):
                add("person", {"household_id": hid, "name": f"居民{i}-{p}", "relation": "head" if p == 0 else "child",
                               "birth_date": f"{rng.randint(1940, 2020)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"})
            for v in range(round(10000 / 750 * (i + 1)) - round(10000 / 750 * i)):
                when = now - dt.timedelta(days=rng.randint(1, 700), hours=rng.randint(0, 10))
                add("visit", {"household_id": hid, "visited_at": when.isoformat(), "checklist_version": 1,
                              "checks": CHECKS, "note": "例行走访"})
            if i % 15 == 0:
                fid = add("flag", {"household_id": hid, "category": "elderly_alone", "colour": "yellow"})
                add("flag_event", {"flag_id": fid, "action": "confirm", "from_state": "reported"})
            if len(batch) >= 1000:
                flush()
        flush()
    return counts


def serve(app):
    timer = ServerTimer(app.wsgi_app)
    app.wsgi_app = timer
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server, timer, f"http://127.0.0.1:{server.server_port}"


def timed_sync(client, timer):
    server0, stats = timer.seconds, client.transport.stats
    net0, dec0 = stats["network_s"], stats["decode_s"]
    report = client.sync()
    total = report.seconds["total"]
    server_s = timer.seconds - server0
    network_s = stats["network_s"] - net0
    return {"total": total, "server": server_s, "wire": network_s - server_s, "decode": stats["decode_s"] - dec0,
            "apply": report.seconds["apply"], "other": total - network_s - report.seconds["apply"]
            - (stats["decode_s"] - dec0), "pulled": report.pulled, "pushed": report.pushed, "pages": report.pages}


def fifty_changes(client, households, rng):
    for _ in range(20):
        client.record_visit(rng.choice(households), CHECKS, note="晚间补录")
    for _ in range(20):
        client.update_household(rng.choice(households), note=f"更新{rng.randint(0, 9999)}")
    for _ in range(10):
        client.add_person(rng.choice(households), "新成员", relation="other")


def _line(name, r):
    return (f"  {name:<12} total {r['total']:.3f} s = server {r['server']:.3f} + wire {r['wire']:.3f} + "
            f"decode {r['decode']:.3f} + local apply {r['apply']:.3f} + other {r['other']:.3f}"
            f"   ({r['pulled']} pulled in {r['pages']} pages, {r['pushed']} pushed)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=750)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--encrypt", action="store_true", help="devices encrypt personal fields at rest")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-device-") as workdir:
        app = make_app(workdir)
        started = time.perf_counter()
        counts = seed(app, args.households)
        print(f"seeded {counts} in {time.perf_counter() - started:.1f} s (server ingest, not measured below)")
        server, timer, url = serve(app)
        try:
            boots = []
            for run in range(args.runs):
                client = FieldClient(os.path.join(workdir, f"tablet-{run}.db"), url,
                                     **({"passphrase": "bench passphrase"} if args.encrypt else {"plaintext": True}))
                client.login("bench", "pw-bench")
                boots.append((timed_sync(client, timer), client))
            for r, _ in boots:
                print(_line("bootstrap", r))
            client = boots[0][1]
            homes = [h["id"] for h in client.households()]
            rng, incs = random.Random(3), []
            for _ in range(max(args.runs, 5)):
                fifty_changes(client, homes, rng)
                incs.append(timed_sync(client, timer))
            for r in incs:
                print(_line("incremental", r))
            for _, c in boots:
                c.close()
        finally:
            server.shutdown()
            server.server_close()
    boot = statistics.median(r["total"] for r, _ in boots)
    inc = statistics.median(r["total"] for r in incs)
    print(f"bootstrap   median {boot:.3f} s (target < {TARGET_BOOTSTRAP_S} s: {'ok' if boot < TARGET_BOOTSTRAP_S else 'MISSED'})")
    print(f"incremental median {inc:.3f} s (target < {TARGET_INCREMENTAL_S} s: "
          f"{'ok' if inc < TARGET_INCREMENTAL_S else 'MISSED'})")
    print(f"RESULT bootstrap_s={boot:.3f} incremental_s={inc:.3f}")
    # Figures, not a verdict: a shared, noisy machine can miss a target without a regression.
    return 0


if __name__ == "__main__":
    sys.exit(main())
