"""Sync throughput: push and pull through the real HTTP layer, against a raw-driver ceiling.

One process, one run: a fresh migrated database (SQLite file in a temp dir by default, or a
scratch PostgreSQL database with --database-url), a small city whose grid worker holds five
grids, and a tablet's worth of realistic changes (households, persons with valid resident ID
numbers, visits with all six checks) stamped by a HybridClock on the device's node id.

- push: gzipped POST /api/v1/sync/push through ``app.test_client()``, one warm-up batch, then
  ``--batches`` timed batches of ``--batch-size``; every result must be "applied".
- pull: a second device of the same worker pulls everything from an empty cursor with
  Accept-Encoding: gzip until ``more`` is false; every change must come back as it was pushed.
- ceiling: the same rows (id, entity, entity_id, grid_id, stamp, payload JSON text) written
  with one raw driver ``executemany`` and one commit into a fresh table, then read back with
  one raw SELECT.

Only the requests (or the raw driver calls) are timed; building and gzipping the bodies and
checking the answers are not. The last line of output is machine-readable::

    RESULT push_per_s=… push_ratio=… pull_per_s=… pull_ratio=… push_bytes_per_change=… pull_bytes_per_change=…

Run: ``.venv/bin/python bench/sync_throughput.py [--repeat 3] [--profile]``.
"""
import argparse
import cProfile
import datetime as dt
import gzip
import json
import os
import pstats
import random
import re
import shutil
import sqlite3
import statistics
import sys
import sysconfig
import tempfile
import time
import uuid
from collections import Counter

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from stdnum.cn import ric  # noqa: E402

from sync import SCHEMA_VERSION  # noqa: E402
from sync.checklist import CHECK_KEYS  # noqa: E402
from sync.clock import HybridClock  # noqa: E402

from benchapp import app_config, migrate  # noqa: E402

TARGET_PUSH_PER_S = 10_000
TARGET_PUSH_RATIO = 0.15
TARGET_PULL_PER_S = 30_000
# What a tablet would use: a middle compression level, UTF-8 JSON (Chinese text as is).
GZIP_LEVEL = 6
RAW_TRIALS = 3          # the raw ceiling is the best of this many trials, each on a fresh table
WORKER, PASSWORD = "bench1", "pw-bench1"
PUSH_DEVICE, PULL_DEVICE = "bench-tab-1", "bench-tab-2"


# --- realistic changes ----------------------------------------------------------------------

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红娥玲芬燕鹏辉建国志婷雪梅浩宇涵欣怡梓轩"
ROADS = ["和平路", "解放路", "人民路", "建设路", "幸福街", "光明巷", "友谊路", "新华街", "团结路", "朝阳路"]
REGIONS = ["110101", "110102", "110105", "110106", "110108"]
CHECK_NOTES = ["", "", "", "情况稳定", "已告知救助政策", "需再次走访", "家属外出务工", "冬季取暖需关注"]
VISIT_NOTES = ["", "", "例行入户走访", "电话预约后上门", "邻居反映情况后走访", "回访上次问题"]


def _checklist_questions(version=1):
    """{item: question names} of the checklist the server validates against, or None when
    this checkout's sync/checklist.py has no configured questions."""
    from sync import checklist
    loader = getattr(checklist, "default_checklists", None)
    if loader is None:
        return None
    items = loader().versions.get(version, {})
    return {key: set(item.get("questions", ())) for key, item in items.items()}


class ChangeFactory:
    """Changes as a device's outbox holds them: each household, then its persons, then its visits."""

    def __init__(self, rng, grid_ids, device_id):
        self.rng, self.grid_ids = rng, list(grid_ids)
        self.clock = HybridClock(device_id)
        self.now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        self.households = 0

    def _id(self):
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _change(self, entity, entity_id, fields, grid_id):
        change = {"change_id": self._id(), "entity": entity, "entity_id": entity_id,
                  "stamp": self.clock.now(), "fields": fields}
        return change, grid_id

    def _name(self, surname=None):
        rng = self.rng
        return (surname or rng.choice(SURNAMES)) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))

    def _phone(self):
        return f"1{self.rng.choice('3589')}{self.rng.randint(0, 9)}{self.rng.randint(10000000, 99999999)}"

    def _id_number(self, birth, gender):
        rng = self.rng
        order = f"{rng.randint(0, 99):02d}{rng.choice('13579' if gender == 'M' else '02468')}"
        body = rng.choice(REGIONS) + birth.strftime("%Y%m%d") + order
        return body + ric.calc_check_digit(body + "0")

    def _birth(self, lo, hi):
        return dt.date(self.rng.randint(lo, hi), self.rng.randint(1, 12), self.rng.randint(1, 28))

    def _checks(self, members, trouble):
        rng = self.rng

        def status(key):
            if key == trouble:
                return rng.choice(("concern", "concern", "urgent"))
            return "concern" if rng.random() < 0.04 else "ok"

        s = {key: status(key) for key in CHECK_KEYS}
        ages = [(m, self.now.year - m["birth"].year) for m in members]
        answers = {   # the questions of sync/data/checklists.json, version 1
            "income": {"income_per_person": rng.randrange(600, 6000, 50),
                       "sources": "、".join(rng.sample(["工资", "养老金", "务农", "个体经营", "救助金"], rng.randint(1, 2))),
                       "debts": rng.choice((0, 0, 0, 5000, 20000)),
                       "medical_debt": 0 if s["health"] == "ok" else rng.randrange(2000, 80000, 1000),
                       "assistance": "none" if s["income"] == "ok" else rng.choice(["dibao", "tekun", "temporary"])},
            "food": {"meals_per_day": 3 if s["food"] == "ok" else rng.choice((1, 2)),
                     "grain_days": rng.randint(3, 60), "relies_on_aid": s["food"] != "ok"},
            "clothing": {"winter_clothing": s["clothing"] == "ok", "bedding": s["clothing"] == "ok"},
            "children": {"children": [
                {"person_id": m["id"], "age": age, "in_school": age >= 6,
                 "carer": rng.choice(["parents", "parents", "grandparents"]) if s["children"] == "ok"
                 else rng.choice(["one_parent", "grandparents", "relatives", "none"]),
                 "left_behind": s["children"] != "ok"} for m, age in ages if age <= 17][:4]},
            "health": {"serious_illness": s["health"] != "ok" or rng.random() < 0.15,
                       "disability": "none" if s["health"] == "ok" else rng.choice(["certified", "not_certified"]),
                       "needs_care": s["health"] == "urgent",
                       "elderly_alone": len(members) == 1 and any(age >= 70 for _, age in ages)},
            "housing": {"danger_grade": "A" if s["housing"] == "ok" else rng.choice("BCD"), "water": True,
                        "power": True, "heating": s["housing"] == "ok",
                        "persons_per_room": round(len(members) / rng.randint(1, 3), 1)},
        }
        known = _checklist_questions()
        if known is not None:   # answer only what the running checklist asks (it is configuration)
            answers = {key: {q: v for q, v in a.items() if q in known.get(key, ())} for key, a in answers.items()}
        return {key: {"status": s[key], "answers": answers[key], "note": rng.choice(CHECK_NOTES)}
                for key in CHECK_KEYS}

    def household(self):
        """The changes for one household: (change, grid_id) pairs."""
        rng = self.rng
        self.households += 1
        grid = self.grid_ids[self.households % len(self.grid_ids)]
        hid, surname = self._id(), rng.choice(SURNAMES)
        head = self._name(surname)
        hfields = {"grid_id": grid, "address": f"{rng.choice(ROADS)}{rng.randint(1, 300)}号",
                   "building": f"{rng.randint(1, 20)}栋", "unit": f"{rng.randint(1, 4)}单元",
                   "room": f"{rng.randint(1, 30)}0{rng.randint(1, 4)}", "head_name": head}
        if rng.random() < 0.85:
            hfields["phone"] = self._phone()
        out = [self._change("household", hid, hfields, grid)]
        members = []
        for m in range(rng.choice((1, 2, 2, 3, 3, 3, 4, 4, 5))):      # 3.0 on average
            if m == 0:
                relation, birth, name = "head", self._birth(1940, 1990), head
            else:
                relation = rng.choice(["spouse", "child", "child", "parent", "grandchild"])
                span = {"spouse": (1940, 1992), "child": (1985, 2022), "parent": (1930, 1965),
                        "grandchild": (2008, 2023)}[relation]
                birth = self._birth(*span)
                name = self._name(surname if relation in ("child", "grandchild") else None)
            gender = rng.choice("MF")
            pid = self._id()
            pfields = {"household_id": hid, "name": name, "gender": gender, "birth_date": birth.isoformat(),
                       "id_number": self._id_number(birth, gender), "relation": relation}
            if birth.year <= self.now.year - 16 and rng.random() < 0.7:
                pfields["phone"] = self._phone()
            members.append({"id": pid, "birth": birth})
            out.append(self._change("person", pid, pfields, grid))
        trouble = rng.choice(CHECK_KEYS) if rng.random() < 0.15 else None
        for _ in range(rng.choice((2, 3, 4, 4, 5, 6))):              # 4.0 on average
            # visited while the household was being registered (a visit may not be dated before
            # its household was registered, less the hour of clock skew the server allows)
            when = self.now - dt.timedelta(minutes=rng.randint(0, 50), seconds=rng.randint(0, 59))
            vfields = {"household_id": hid, "visited_at": when.isoformat().replace("+00:00", "Z"),
                       "checklist_version": 1, "checks": self._checks(members, trouble),
                       "note": rng.choice(VISIT_NOTES)}
            out.append(self._change("visit", self._id(), vfields, grid))
        return out


def make_changes(rng, grid_ids, count):
    factory = ChangeFactory(rng, grid_ids, PUSH_DEVICE)
    out = []
    while len(out) < count:
        out.extend(factory.household())
    return out[:count]


def push_body(changes):
    body = {"device_id": PUSH_DEVICE, "schema_version": SCHEMA_VERSION, "changes": changes}
    return gzip.compress(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
                         compresslevel=GZIP_LEVEL)


# --- databases ------------------------------------------------------------------------------

def dispose(app):
    from server.extensions import db
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


class SqliteBackend:
    name = "SQLite (file, WAL, synchronous=NORMAL)"

    def __init__(self, tmp):
        self.tmp = tmp
        self.template = os.path.join(tmp, "template.db")
        migrate(f"sqlite:///{self.template}")

    def fresh_app(self, tag):
        from server import create_app
        path = os.path.join(self.tmp, f"app-{tag}.db")
        shutil.copy(self.template, path)
        return create_app(app_config(f"sqlite:///{path}"))

    def raw_trial(self, rows, tag):
        """One raw executemany + commit into a fresh table, then one SELECT; seconds for each."""
        path = os.path.join(self.tmp, f"raw-{tag}.db")
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA journal_mode=WAL")     # the app's own pragmas (server/__init__.py)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE raw_change (id TEXT PRIMARY KEY, entity TEXT NOT NULL, entity_id TEXT NOT NULL,"
                     " grid_id TEXT NOT NULL, stamp TEXT NOT NULL, payload TEXT NOT NULL)")
        conn.commit()
        t0 = time.perf_counter()
        conn.executemany("INSERT INTO raw_change (id, entity, entity_id, grid_id, stamp, payload)"
                         " VALUES (?, ?, ?, ?, ?, ?)", rows)
        conn.commit()
        insert_s = time.perf_counter() - t0
        conn.close()
        conn = sqlite3.connect(path)
        t0 = time.perf_counter()
        got = conn.execute("SELECT id, entity, entity_id, grid_id, stamp, payload FROM raw_change"
                           " ORDER BY rowid").fetchall()
        select_s = time.perf_counter() - t0
        conn.close()
        assert len(got) == len(rows)
        return insert_s, select_s

    def close(self):
        pass


class PostgresBackend:
    """A scratch database created next to the one --database-url names, dropped at the end."""

    def __init__(self, url):
        import psycopg
        from sqlalchemy.engine import make_url

        from server.config import database_url
        self.psycopg = psycopg
        base = make_url(database_url(url))
        self.scratch = f"gridsync_bench_{uuid.uuid4().hex[:8]}"
        self.admin_dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
        self.url = base.set(database=self.scratch).render_as_string(hide_password=False)
        self.dsn = base.set(drivername="postgresql", database=self.scratch).render_as_string(hide_password=False)
        self.name = f"PostgreSQL {base.host or 'localhost'}:{base.port or 5432} (scratch db {self.scratch})"
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.scratch}"')
        migrate(self.url)

    def fresh_app(self, tag):
        from sqlalchemy import text

        from server import create_app
        from server.extensions import db
        app = create_app(app_config(self.url))
        with app.app_context():
            tables = [t.name for t in db.metadata.sorted_tables]
            db.session.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
            db.session.execute(text("INSERT INTO sync_state (id, epoch, pushes) VALUES (1, :e, 0)"),
                               {"e": uuid.uuid4().hex[:12]})
            db.session.execute(text("INSERT INTO link_state (id, last_seq) VALUES (1, 0)"))
            db.session.commit()
        return app

    def raw_trial(self, rows, tag):
        table = f"raw_change_{tag}".replace("-", "_")
        with self.psycopg.connect(self.dsn) as conn:
            conn.execute(f"CREATE TABLE {table} (id uuid PRIMARY KEY, entity text NOT NULL, entity_id uuid NOT NULL,"
                         " grid_id uuid NOT NULL, stamp text NOT NULL, payload text NOT NULL)")
            conn.commit()
            t0 = time.perf_counter()
            with conn.cursor() as cur:
                cur.executemany(f"INSERT INTO {table} (id, entity, entity_id, grid_id, stamp, payload)"
                                " VALUES (%s, %s, %s, %s, %s, %s)", rows)
            conn.commit()
            insert_s = time.perf_counter() - t0
        with self.psycopg.connect(self.dsn) as conn:
            t0 = time.perf_counter()
            got = conn.execute(f"SELECT id, entity, entity_id, grid_id, stamp, payload FROM {table}").fetchall()
            select_s = time.perf_counter() - t0
            conn.execute(f"DROP TABLE {table}")
            conn.commit()
        assert len(got) == len(rows)
        return insert_s, select_s

    def close(self):
        with self.psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.scratch}" WITH (FORCE)')


# --- one run --------------------------------------------------------------------------------

def make_bench_city():
    """city → district → street → two communities; bench1 holds five grids (a typical
    worker holds about 4.8), bench2 the three of the next community."""
    from server.services.accounts import create_area, create_worker
    from server.extensions import db
    city = create_area("BX", "基准市", "city")
    district = create_area("BD1", "基准区", "district", city)
    street = create_area("BS1", "基准街道", "street", district)
    c1 = create_area("BC1", "一社区", "community", street)
    c2 = create_area("BC2", "二社区", "community", street)
    g1 = [create_area(f"BG1-{n}", f"一社区第{n}网格", "grid", c1) for n in range(1, 6)]
    g2 = [create_area(f"BG2-{n}", f"二社区第{n}网格", "grid", c2) for n in range(1, 4)]
    db.session.flush()
    create_worker(WORKER, PASSWORD, "grid_worker", area=c1, grids=g1)
    create_worker("bench2", "pw-bench2", "grid_worker", area=c2, grids=g2)
    db.session.commit()


def login(client, device_id):
    resp = client.post("/api/v1/auth/token", json={"username": WORKER, "password": PASSWORD, "device_id": device_id})
    if resp.status_code != 201:
        raise SystemExit(f"log-in failed: {resp.status_code} {resp.get_data(as_text=True)[:300]}")
    return resp.get_json()


def _comparable(change):
    return change["change_id"], (change["entity"], change["entity_id"], change["stamp"], change["fields"])


def run_once(args, backend, tag, seed, profile=None):
    """One full run on a fresh database; returns a dict of figures. ``profile`` ("push" or
    "pull") runs that phase's requests under cProfile and returns the profiler too."""
    rng = random.Random(seed)
    app = backend.fresh_app(tag)
    try:
        with app.app_context():
            make_bench_city()
        client = app.test_client()
        session = login(client, PUSH_DEVICE)
        grid_ids = session["worker"]["grid_ids"]
        push_headers = {"Authorization": "Bearer " + session["token"], "Content-Type": "application/json",
                        "Content-Encoding": "gzip", "Accept-Encoding": "gzip"}

        size = args.batch_size
        pairs = make_changes(rng, grid_ids, size * (args.batches + 1))
        changes = [c for c, _ in pairs]
        batches = [changes[i:i + size] for i in range(0, len(changes), size)]
        bodies = [push_body(b) for b in batches]
        prof = cProfile.Profile() if profile else None

        def post(body):
            t0, c0 = time.perf_counter(), time.process_time()
            if profile == "push":
                prof.enable()
            resp = client.post("/api/v1/sync/push", data=body, headers=push_headers)
            if profile == "push":
                prof.disable()
            return resp, time.perf_counter() - t0, time.process_time() - c0

        push_s, push_cpu, push_bytes, push_resp_bytes = 0.0, 0.0, 0, 0
        for i, (batch, body) in enumerate(zip(batches, bodies)):
            resp, took, took_cpu = post(body)
            if resp.status_code != 200:
                raise SystemExit(f"push batch {i}: HTTP {resp.status_code} {resp.get_data(as_text=True)[:500]}")
            data = resp.get_data()
            results = json.loads(gzip.decompress(data) if resp.headers.get("Content-Encoding") == "gzip" else data)
            got = Counter(r["status"] for r in results["results"])
            if got != Counter({"applied": len(batch)}):
                bad = [r for r in results["results"] if r["status"] != "applied"][:3]
                raise SystemExit(f"push batch {i}: not all applied: {dict(got)}; first: {bad}")
            if i == 0:
                continue                                    # the warm-up batch is not counted
            push_s += took
            push_cpu += took_cpu
            push_bytes += len(body)
            push_resp_bytes += len(data)
        pushed = sum(len(b) for b in batches[1:])

        # pull everything back with a second device of the same worker
        pull_session = login(client, PULL_DEVICE)
        pull_headers = {"Authorization": "Bearer " + pull_session["token"], "Accept-Encoding": "gzip"}
        cursor, pulled, pull_s, pull_cpu, pull_bytes, pages = None, [], 0.0, 0.0, 0, 0
        while True:
            url = f"/api/v1/sync/pull?limit={args.pull_limit}" + (f"&cursor={cursor}" if cursor else "")
            t0, c0 = time.perf_counter(), time.process_time()
            if profile == "pull":
                prof.enable()
            resp = client.get(url, headers=pull_headers)
            if profile == "pull":
                prof.disable()
            pull_s += time.perf_counter() - t0
            pull_cpu += time.process_time() - c0
            if resp.status_code != 200:
                raise SystemExit(f"pull: HTTP {resp.status_code} {resp.get_data(as_text=True)[:500]}")
            data = resp.get_data()
            if resp.headers.get("Content-Encoding") != "gzip":
                raise SystemExit("pull: the response was not gzipped although Accept-Encoding: gzip was sent")
            pull_bytes += len(data)
            pages += 1
            page = json.loads(gzip.decompress(data))
            pulled.extend(page["changes"])
            cursor = page["cursor"]
            if not page["more"]:
                break

        # every change comes back as pushed (personal fields decrypted)
        sent = dict(_comparable(c) for c in changes)
        back = dict(_comparable(c) for c in pulled)
        if len(pulled) != len(changes) or back != sent:
            missing = len(set(sent) - set(back))
            differ = [k for k in sent if k in back and back[k] != sent[k]][:1]
            raise SystemExit(f"pull: {len(pulled)} changes back for {len(changes)} pushed; {missing} missing; "
                             f"first differing: {differ and (sent[differ[0]], back[differ[0]])}")
    finally:
        dispose(app)

    # the raw ceiling: the same measured changes as change_log-like rows
    rows = [(c["change_id"], c["entity"], c["entity_id"], grid, c["stamp"],
             json.dumps(c, ensure_ascii=False, separators=(",", ":"))) for c, grid in pairs[size:]]
    trials = [backend.raw_trial(rows, f"{tag}-{t}") for t in range(RAW_TRIALS)]
    raw_insert_s = min(t[0] for t in trials)
    raw_select_s = min(t[1] for t in trials)

    entities = Counter(c["entity"] for c in changes)
    out = {
        "push_per_s": pushed / push_s, "pull_per_s": len(pulled) / pull_s,
        "raw_insert_per_s": len(rows) / raw_insert_s, "raw_select_per_s": len(rows) / raw_select_s,
        "push_bytes_per_change": push_bytes / pushed, "pull_bytes_per_change": pull_bytes / len(pulled),
        "push_resp_bytes_per_change": push_resp_bytes / pushed,
        "push_kb_per_batch": push_bytes / 1024 / (len(batches) - 1),
        "pushed": pushed, "pulled": len(pulled), "pages": pages, "push_s": push_s, "pull_s": pull_s,
        # CPU time of this process over wall time: well below 1 means other processes took
        # the CPU (the push and pull paths are CPU-bound: SQLite in WAL mode does not fsync
        # on commit with synchronous=NORMAL), and the wall-clock rates understate the code.
        "push_cpu_share": push_cpu / push_s, "pull_cpu_share": pull_cpu / pull_s,
        "push_per_cpu_s": pushed / push_cpu, "pull_per_cpu_s": len(pulled) / pull_cpu,
        "entities": entities,
    }
    out["push_ratio"] = out["push_per_s"] / out["raw_insert_per_s"]
    out["pull_ratio"] = out["pull_per_s"] / out["raw_select_per_s"]
    if prof is not None:
        out["profile"] = prof
    return out


# --- reporting ------------------------------------------------------------------------------

_STDLIB = sysconfig.get_paths()["stdlib"] + os.sep


def _where(filename):
    """A profiled file as a short path: repo-relative, site-packages-relative or stdlib/…"""
    if filename.startswith(REPO + os.sep):
        return filename[len(REPO) + 1:]
    i = filename.find(os.sep + "site-packages" + os.sep)
    if i >= 0:
        return filename[i + len("/site-packages/"):]
    if filename.startswith(_STDLIB):
        return "stdlib/" + filename[len(_STDLIB):]
    return filename


_C_OWNER = re.compile(r"of '([A-Za-z_][\w]*)|built-in method ([A-Za-z_][\w]*)\.")


def _group(filename, func):
    """What a profiled function belongs to, for the self-time summary."""
    if filename == "~" or filename.startswith("<"):
        m = _C_OWNER.search(func)
        return "C: " + ((m.group(1) or m.group(2)) if m else "other")
    path = _where(filename)
    if path.startswith(("server/", "sync/")):
        return path
    parts = path.split("/")
    if parts[0] == "stdlib":
        return "stdlib/" + (parts[1] if len(parts) > 2 else parts[1].removesuffix(".py"))
    return parts[0].removesuffix(".py")


def print_profile(prof, phase, top=25):
    st = pstats.Stats(prof)
    total = st.total_tt
    entries = st.stats.items()

    def line(key, val):
        filename, lineno, func = key
        _cc, ncalls, tottime, cumtime, _callers = val
        where = func if filename == "~" else f"{_where(filename)}:{lineno}({func})"
        return f"{cumtime:8.3f} {100 * cumtime / total:6.1f}% {tottime:8.3f} {100 * tottime / total:6.1f}% {ncalls:>9}  {where}"

    head = f"{'cum s':>8} {'cum %':>7} {'self s':>8} {'self %':>7} {'calls':>9}  function"
    print(f"\ncProfile of the {phase} phase: {total:.3f} s profiled (profiler overhead included)")
    print(f"\ntop {top} by cumulative time:\n{head}")
    for key, val in sorted(entries, key=lambda kv: kv[1][3], reverse=True)[:top]:
        print(line(key, val))
    print(f"\ntop 15 by self time:\n{head}")
    for key, val in sorted(entries, key=lambda kv: kv[1][2], reverse=True)[:15]:
        print(line(key, val))
    groups = Counter()
    for (filename, _l, func), val in entries:
        groups[_group(filename, func)] += val[2]
    print("\nself time by package / project file:")
    for name, secs in groups.most_common(15):
        print(f"{secs:8.3f} {100 * secs / total:6.1f}%  {name}")


def fmt_int(x):
    return f"{x:,.0f}"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batches", type=int, default=40, help="timed push batches (default 40)")
    p.add_argument("--batch-size", type=int, default=500, help="changes per push (default 500, as the SDK sends)")
    p.add_argument("--pull-limit", type=int, default=1000, help="changes per pull page (default 1000, max 5000)")
    p.add_argument("--repeat", type=int, default=3, help="independent runs, each on a fresh database (default 3)")
    p.add_argument("--stat", choices=("median", "best"), default="median",
                   help="how the runs are summarised (default median: machines are noisy)")
    p.add_argument("--profile", action="store_true",
                   help="one extra run with cProfile on the push phase; prints the top 25 cumulative entries")
    p.add_argument("--profile-pull", action="store_true", help="the same for the pull phase")
    p.add_argument("--database-url", help="a PostgreSQL URL: the bench creates and drops a scratch database on "
                                          "that server (default: a SQLite file in a temp dir)")
    p.add_argument("--seed", type=int, default=20240601)
    args = p.parse_args(argv)
    if args.batches < 1 or args.repeat < 1 or not 1 <= args.batch_size <= 1000 or not 1 <= args.pull_limit <= 5000:
        p.error("--batches and --repeat must be ≥ 1, --batch-size 1…1000, --pull-limit 1…5000")
    if args.database_url and not args.database_url.startswith(("postgres://", "postgresql")):
        p.error("--database-url must be a PostgreSQL URL; SQLite is the default")

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gridsync-bench-") as tmp:
        backend = PostgresBackend(args.database_url) if args.database_url else SqliteBackend(tmp)
        try:
            runs = []
            for r in range(args.repeat):
                res = run_once(args, backend, f"r{r}", args.seed + r)
                runs.append(res)
                print(f"run {r + 1}/{args.repeat}: push {fmt_int(res['push_per_s'])}/s "
                      f"(ratio {res['push_ratio']:.3f}), pull {fmt_int(res['pull_per_s'])}/s "
                      f"(ratio {res['pull_ratio']:.3f}), raw insert {fmt_int(res['raw_insert_per_s'])}/s, "
                      f"raw select {fmt_int(res['raw_select_per_s'])}/s; CPU share push "
                      f"{res['push_cpu_share']:.0%}, pull {res['pull_cpu_share']:.0%}", flush=True)
            for phase, wanted in (("push", args.profile), ("pull", args.profile_pull)):
                if wanted:
                    res = run_once(args, backend, f"prof-{phase}", args.seed + 1000, profile=phase)
                    print_profile(res["profile"], phase)
        finally:
            backend.close()

    def summary(key):
        values = [r[key] for r in runs]
        if args.stat == "median":
            return statistics.median(values)
        # best: the highest rate / ratio, the fewest bytes
        return min(values) if "bytes" in key else max(values)

    keys = ("push_per_s", "push_ratio", "raw_insert_per_s", "pull_per_s", "pull_ratio", "raw_select_per_s",
            "push_bytes_per_change", "pull_bytes_per_change", "push_resp_bytes_per_change", "push_kb_per_batch",
            "push_cpu_share", "pull_cpu_share", "push_per_cpu_s", "pull_per_cpu_s")
    s = {k: summary(k) for k in keys}
    first = runs[0]
    n_households = first["entities"]["household"]
    push_ok = s["push_per_s"] >= TARGET_PUSH_PER_S and s["push_ratio"] >= TARGET_PUSH_RATIO
    pull_ok = s["pull_per_s"] >= TARGET_PULL_PER_S

    print()
    print(f"gridsync sync throughput — {backend.name}")
    print(f"one process, Flask test client; {args.batches} timed batches × {args.batch_size} changes "
          f"after 1 warm-up batch; pull limit={args.pull_limit}; {args.stat} of {args.repeat} run(s); "
          f"raw ceiling = best of {RAW_TRIALS} trials per run")
    print(f"changes per household: 1 household, {first['entities']['person'] / n_households:.2f} persons, "
          f"{first['entities']['visit'] / n_households:.2f} visits (six checks each); "
          f"{first['pushed']:,} changes pushed, {first['pulled']:,} pulled in {first['pages']} pages")
    print()
    w = 34
    print(f"{'measure':<{w}} {'changes/s':>12} {'ratio':>7} {'bytes/change':>13}  target")
    print("-" * (w + 60))
    print(f"{'push  (HTTP POST, gzip body)':<{w}} {fmt_int(s['push_per_s']):>12} {s['push_ratio']:>7.3f} "
          f"{s['push_bytes_per_change']:>13.1f}  ≥ {TARGET_PUSH_PER_S:,}/s and ratio ≥ {TARGET_PUSH_RATIO}: "
          f"{'MET' if push_ok else 'NOT MET'}")
    print(f"{'  raw executemany + 1 commit':<{w}} {fmt_int(s['raw_insert_per_s']):>12}")
    print(f"{'pull  (HTTP GET, gzip response)':<{w}} {fmt_int(s['pull_per_s']):>12} {s['pull_ratio']:>7.3f} "
          f"{s['pull_bytes_per_change']:>13.1f}  ≥ {TARGET_PULL_PER_S:,}/s: {'MET' if pull_ok else 'NOT MET'}")
    print(f"{'  raw SELECT':<{w}} {fmt_int(s['raw_select_per_s']):>12}")
    print(f"push request body {s['push_kb_per_batch']:.1f} KB gzipped per batch; push response "
          f"{s['push_resp_bytes_per_change']:.1f} bytes/change gzipped")
    if len(runs) > 1:
        print(f"spread over runs: push {fmt_int(min(r['push_per_s'] for r in runs))}…"
              f"{fmt_int(max(r['push_per_s'] for r in runs))}/s, pull {fmt_int(min(r['pull_per_s'] for r in runs))}…"
              f"{fmt_int(max(r['pull_per_s'] for r in runs))}/s")
    print(f"per CPU-second of this process: push {fmt_int(s['push_per_cpu_s'])}, pull {fmt_int(s['pull_per_cpu_s'])} "
          f"changes (CPU share of wall time: push {s['push_cpu_share']:.0%}, pull {s['pull_cpu_share']:.0%})")
    if isinstance(backend, PostgresBackend):
        print("(on PostgreSQL the CPU share leaves out the database server's own work)")
    elif min(s["push_cpu_share"], s["pull_cpu_share"]) < 0.85:
        print("warning: this process had the CPU for well under the timed wall time: other processes "
              "were competing (check the load average); the wall-clock figures understate the code")
    print(f"targets: push {'MET' if push_ok else 'NOT MET'}, pull {'MET' if pull_ok else 'NOT MET'}  "
          f"(wall time {time.perf_counter() - started:.1f} s)")
    print(f"RESULT push_per_s={s['push_per_s']:.0f} push_ratio={s['push_ratio']:.4f} "
          f"pull_per_s={s['pull_per_s']:.0f} pull_ratio={s['pull_ratio']:.4f} "
          f"push_bytes_per_change={s['push_bytes_per_change']:.1f} "
          f"pull_bytes_per_change={s['pull_bytes_per_change']:.1f}", flush=True)


if __name__ == "__main__":
    main()
