"""On PostgreSQL, pushes commit concurrently while devices pull: pushes to different grids do not
wait for each other, yet a pull cursor must never skip a change (one committed after a later
one was pulled) nor hand one out twice, and two pushes of the same batch at once must apply
each change exactly once.

Every thread has its own test client and log-in; each request runs in its own app context, so
each has its own database session and connection, as with several server workers.
"""
import contextlib
import random
import threading
import time
import uuid

import pytest
from sqlalchemy import event, func, select

from sync import SCHEMA_VERSION
from sync.changes import make_change
from sync.clock import HybridClock
from tests.city import make_city

PUSH_URL, PULL_URL = "/api/v1/sync/push", "/api/v1/sync/pull"
ADDRESSES = ("和平路1号", "和平路1号2栋", "解放街3号")
NOTES = ("", "低保户", "独居老人", "需复查")

pytestmark = pytest.mark.postgres

PUSHERS = 6
BATCHES = 20
CHANGES = 50
PULLERS = 3

#: pushers: (worker, the grid codes it writes to); w1 holds G1, w2 G2, w12 both
PUSHER_WORKERS = [("w1", ("G1",)), ("w2", ("G2",)), ("w12", ("G1", "G2"))]
#: pullers: w12 sees G1 and G2, w1 only G1, w2 only G2
PULLER_WORKERS = ["w12", "w1", "w2"]


class _Threads:
    """Run targets in threads; re-raise the first failure in the calling thread."""

    def __init__(self):
        self.threads, self.errors = [], []

    def start(self, target, *args):
        def run():
            try:
                target(*args)
            except BaseException as exc:   # noqa: BLE001 - reported in the main thread
                self.errors.append(exc)
        t = threading.Thread(target=run, daemon=True)
        t.start()
        self.threads.append(t)
        return t

    def join(self, threads=None, timeout=120):
        for t in threads or self.threads:
            t.join(timeout)
            assert not t.is_alive(), "a thread did not finish in time"
        if self.errors:
            raise self.errors[0]


@contextlib.contextmanager
def _slow_commits(app, max_ms=4):
    """Wait a little before each COMMIT reaches the database. Test instrumentation only: it
    widens the window in which a push holds change-log seqs that are not yet visible, which is
    where a cursor could skip a change if pushes were not serialised; with the server's lock in
    place it only makes pushes queue up longer."""
    from server.extensions import db
    rng = random.Random(7)

    def pause(_conn):
        time.sleep(rng.random() * max_ms / 1000)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "commit", pause)
    try:
        yield
    finally:
        event.remove(engine, "commit", pause)


class _Sender:
    """A device reduced to what the race needs: a log-in, a clock, and raw pushes."""

    def __init__(self, client, username, device_id, token=None):
        self.client, self.device_id = client, device_id
        if token is None:
            resp = client.post("/api/v1/auth/token", json={"username": username, "password": "pw-" + username,
                                                           "device_id": device_id})
            assert resp.status_code == 201, resp.get_json()
            token = resp.get_json()["token"]
            self.grid_ids = resp.get_json()["worker"]["grid_ids"]
        self.token = token
        self.headers = {"Authorization": "Bearer " + token}
        self.clock = HybridClock(device_id)
        self.pushes = []

    def post(self, batch):
        return self.client.post(PUSH_URL, headers=self.headers, json={
            "device_id": self.device_id, "schema_version": SCHEMA_VERSION, "changes": batch})

    def push(self, batch):
        resp = self.post(batch)
        assert resp.status_code == 200, resp.get_json()
        self.pushes.append((batch, resp.get_json()["results"]))


def _pusher(device, grid_ids, seed, grid_of, start):
    """BATCHES pushes of CHANGES changes each: new households, and edits of earlier ones."""
    rng = random.Random(seed)
    own = {}
    start.wait()
    for _ in range(BATCHES):
        batch = []
        for _ in range(CHANGES):
            if own and rng.random() < 0.6:
                hid = rng.choice(sorted(own))
                fields = {"note": rng.choice(NOTES), "address": rng.choice(ADDRESSES)}
            else:
                hid = str(uuid.uuid4())
                own[hid] = rng.choice(grid_ids)
                fields = {"grid_id": own[hid], "address": rng.choice(ADDRESSES)}
            batch.append(make_change("household", hid, fields, device.clock.now()))
            grid_of[batch[-1]["change_id"]] = own[hid]
        device.push(batch)


class _Puller:
    def __init__(self, client, headers, name):
        self.client, self.headers, self.name = client, headers, name
        self.cursor = None
        self.seen = []          # change ids, in the order received
        self.cursors = []       # (seq, number of changes in the page)
        self.rng = random.Random(name)

    def page(self):
        limit = self.rng.choice((7, 50, 333))
        url = f"{PULL_URL}?limit={limit}" + (f"&cursor={self.cursor}" if self.cursor else "")
        resp = self.client.get(url, headers=self.headers)
        assert resp.status_code == 200, f"{self.name}: pull answered {resp.status_code}: {resp.get_json()}"
        body = resp.get_json()
        self.seen.extend(c["change_id"] for c in body["changes"])
        self.cursor = body["cursor"]
        positions = dict(p.split(":") for p in self.cursor.split(".", 1)[1].split(",") if p)
        self.cursors.append(({k: int(v) for k, v in positions.items()}, len(body["changes"])))
        return body["more"]

    def run(self, pushes_done):
        while not pushes_done.is_set():
            self.page()
        while self.page():         # every push has committed: read to the end
            pass


def test_concurrent_pushes_never_make_a_puller_skip_or_repeat_a_change(pg_app):
    app = pg_app
    with app.app_context():
        city = make_city()
    grid_of = {}                                 # change id -> grid id (str)
    pushers = []
    for i in range(PUSHERS):
        user, codes = PUSHER_WORKERS[i % len(PUSHER_WORKERS)]
        pushers.append((_Sender(app.test_client(), user, f"push-{i}"), [city[c] for c in codes]))
    pullers = []
    for i in range(PULLERS):
        user = PULLER_WORKERS[i % len(PULLER_WORKERS)]
        puller = _Sender(app.test_client(), user, f"pull-{i}")
        pullers.append((_Puller(app.test_client(), puller.headers, puller.device_id), set(puller.grid_ids)))

    start, pushes_done = threading.Barrier(PUSHERS + 1), threading.Event()
    threads = _Threads()
    push_threads = [threads.start(_pusher, d, grids, i, grid_of, start) for i, (d, grids) in enumerate(pushers)]
    pull_threads = [threads.start(p.run, pushes_done) for p, _ in pullers]
    with _slow_commits(app):
        start.wait()
        try:
            threads.join(push_threads)
        finally:
            pushes_done.set()
        threads.join(pull_threads)

    accepted = {}
    for device, _ in pushers:
        for batch, results in device.pushes:
            assert {r["status"] for r in results} <= {"applied", "merged_with_conflict"}, results[:3]
            accepted.update((c["change_id"], c) for c in batch)
    assert len(accepted) == PUSHERS * BATCHES * CHANGES
    from server.extensions import db
    from server.models import ChangeLog
    with app.app_context():
        logged = db.session.execute(select(func.count()).select_from(ChangeLog)).scalar_one()
    assert logged == len(accepted)

    for puller, grids in pullers:
        expected = {cid for cid in accepted if grid_of[cid] in grids}
        assert expected, f"{puller.name}: nothing in its grids to check"
        dupes = len(puller.seen) - len(set(puller.seen))
        assert dupes == 0, f"{puller.name}: {dupes} changes handed out twice"
        missing = expected - set(puller.seen)
        assert not missing, (f"{puller.name}: skipped {len(missing)} of {len(expected)} changes "
                             f"committed concurrently with its pulls, e.g. {sorted(missing)[:3]}")
        assert set(puller.seen) == expected, f"{puller.name}: pulled changes outside its grids"
        for (before, _), (after, n) in zip(puller.cursors, puller.cursors[1:]):
            assert all(after.get(k, 0) >= p for k, p in before.items()), f"{puller.name}: cursor went back"
            moved = sum(after.get(k, 0) - before.get(k, 0) for k in set(before) | set(after))
            assert moved == n, f"{puller.name}: a page of {n} changes moved the cursor by {moved}"
        # A race is only tested if pulls really did run while pushes committed.
        assert len(puller.cursors) > 2


def _stamp_batch(node, household_ids, grid):
    clock = HybridClock(node)
    batch = []
    for hid in household_ids:
        batch.append({"change_id": str(uuid.uuid4()), "entity": "household", "entity_id": hid,
                      "stamp": clock.now(), "fields": {"grid_id": grid, "address": ADDRESSES[0]}})
        batch.append({"change_id": str(uuid.uuid4()), "entity": "person", "entity_id": str(uuid.uuid4()),
                      "stamp": clock.now(), "fields": {"household_id": hid, "name": "王伟",
                                                       "phone": "13800138000"}})
    return batch


@pytest.mark.parametrize("logins", ["one log-in", "a log-in each"])
def test_the_same_batch_pushed_twice_at_once_is_applied_once(pg_app, logins):
    """A tablet that retries while its first request is still running (or two apps on it, each
    logged in): the copies race; each change is applied by one of them and only once."""
    app = pg_app
    with app.app_context():
        city = make_city()
    senders = []
    for i in range(4):
        token = senders[0].token if logins == "one log-in" and senders else None
        senders.append(_Sender(app.test_client(), "w1", "dup-0", token=token))
    from server.extensions import db
    from server.models import ChangeLog, Household, Person
    for round_ in range(5):
        batch = _stamp_batch(senders[0].device_id, [str(uuid.uuid4()) for _ in range(20)], city["G1"])
        answers = [None] * len(senders)
        go = threading.Barrier(len(senders))

        def send(i):
            go.wait()
            resp = senders[i].post(batch)
            answers[i] = (resp.status_code, resp.get_json())

        threads = _Threads()
        with _slow_commits(app):
            for i in range(len(senders)):
                threads.start(send, i)
            threads.join()
        assert [code for code, _ in answers] == [200] * len(senders), answers
        for index, change in enumerate(batch):
            statuses = sorted(body["results"][index]["status"] for _, body in answers)
            assert statuses == ["already_applied"] * (len(senders) - 1) + ["applied"], (
                f"round {round_}: change {change['change_id']} answered {statuses}: "
                f"{[body['results'][index] for _, body in answers]}")
        with app.app_context():
            ids = [uuid.UUID(c["change_id"]) for c in batch]
            counts = dict(db.session.execute(
                select(ChangeLog.change_id, func.count()).where(ChangeLog.change_id.in_(ids))
                .group_by(ChangeLog.change_id)).all())
            assert counts == {i: 1 for i in ids}
            hids = [uuid.UUID(c["entity_id"]) for c in batch if c["entity"] == "household"]
            assert db.session.execute(select(func.count()).select_from(Household)
                                      .where(Household.id.in_(hids))).scalar_one() == len(hids)
            assert db.session.execute(select(func.count()).select_from(Person)
                                      .where(Person.household_id.in_(hids))).scalar_one() == len(hids)
