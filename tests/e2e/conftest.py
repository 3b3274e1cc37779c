"""End-to-end fixtures: the real Flask app served over loopback HTTP, and SDK devices talking to it.

The server runs in a thread (werkzeug, threaded) on a fresh migrated SQLite database with the
fixture city; devices are ``FieldClient``s over their own store files, with a transport whose
``send`` can lose chosen responses after the server handled them (a cut connection) and whose
back-off does not sleep.
"""
import contextlib
import datetime as dt
import shutil
import threading
import uuid

import pytest
import requests
from sqlalchemy import delete, update
from werkzeug.serving import WSGIRequestHandler, make_server

from client_sdk import FieldClient, Transport
from client_sdk.transport import session_send
from tests.city import make_city
from tests.helpers import STORE_KEY
from tests.conftest import _config, _dispose

CHECKS_OK = {k: {"status": "ok"} for k in ("income", "food", "clothing", "children", "health", "housing")}


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


class Cutter:
    """A ``send`` for the transport that cuts chosen requests: ``after`` the server handled them
    (the response is lost) or ``before`` they reach it."""

    def __init__(self):
        self.rules = []     # [path fragment, skip, times, when]
        self.cuts = 0

    def cut(self, fragment, *, skip=0, times=1, when="after"):
        self.rules.append([fragment, skip, times, when])

    def _match(self, url):
        for rule in self.rules:
            if rule[0] in url and rule[2] > 0:
                if rule[1] > 0:
                    rule[1] -= 1
                    return None
                rule[2] -= 1
                return rule[3]
        return None

    def __call__(self, session, method, url, **kwargs):
        when = self._match(url)
        if when == "before":
            self.cuts += 1
            raise requests.ConnectionError("connection cut before the request reached the server")
        resp = session_send(session, method, url, **kwargs)
        if when == "after":
            self.cuts += 1
            raise requests.ConnectionError("connection cut: the server answered, the response was lost")
        return resp


class Live:
    """The running server: its URL, the fixture city, and direct access to its database."""

    def __init__(self, app, url, city):
        self.app, self.url, self.city = app, url, city

    @contextlib.contextmanager
    def db(self):
        from server.extensions import db
        with self.app.app_context():
            yield db.session
            db.session.commit()

    def token(self, username, device_id=None):
        resp = requests.post(self.url + "/api/v1/auth/token", json={
            "username": username, "password": "pw-" + username, "device_id": device_id or f"web-{username}"},
            timeout=10)
        assert resp.status_code == 201, resp.text
        return resp.json()["token"]

    def get(self, path, username, **params):
        resp = requests.get(self.url + "/api/v1" + path, params=params, timeout=10,
                            headers={"Authorization": "Bearer " + self.token(username)})
        assert resp.status_code == 200, resp.text
        return resp.json()

    def count(self, model, **where):
        from sqlalchemy import func, select
        with self.db() as s:
            query = select(func.count()).select_from(model)
            for name, value in where.items():
                query = query.where(getattr(model, name) == value)
            return s.execute(query).scalar_one()

    def expire_tokens(self, username):
        from server.models import Token, Worker
        with self.db() as s:
            worker = s.execute(Worker.__table__.select().where(Worker.username == username)).one()
            s.execute(update(Token).where(Token.worker_id == worker.id).values(
                expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)))

    def assign_grids(self, username, codes):
        from server.models import Worker, WorkerGrid
        with self.db() as s:
            worker = s.execute(Worker.__table__.select().where(Worker.username == username)).one()
            s.execute(delete(WorkerGrid).where(WorkerGrid.worker_id == worker.id))
            for code in codes:
                s.add(WorkerGrid(worker_id=worker.id, grid_id=uuid.UUID(self.city[code])))

    def reset_epoch(self):
        """As after a restore of the change log: every stored cursor becomes untrusted."""
        from server.models import SyncState
        with self.db() as s:
            s.execute(update(SyncState).where(SyncState.id == 1).values(epoch=uuid.uuid4().hex[:12]))


@pytest.fixture
def live(tmp_path, sqlite_template):
    from server import create_app
    path = tmp_path / "server.db"
    shutil.copy(sqlite_template, path)
    app = create_app(_config(f"sqlite:///{path}"))
    app.instance_path = str(tmp_path / "instance")
    with app.app_context():
        city = make_city()
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="live-server", daemon=True)
    thread.start()
    try:
        yield Live(app, f"http://127.0.0.1:{server.server_port}", city)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        _dispose(app)


@pytest.fixture
def device(live, tmp_path):
    """``device(name, user)``: a logged-in FieldClient named ``name``; ``.cutter`` cuts its link."""
    made = []

    def make(name, user=None, *, retries=3, page_size=None, passphrase=None):
        cutter = Cutter()
        transport = Transport(live.url, retries=retries, send=cutter, sleep=lambda s: None)
        kw = {"page_size": page_size} if page_size else {}
        secret = {"passphrase": passphrase} if passphrase else {"key": STORE_KEY}
        client = FieldClient(tmp_path / f"{name}.db", live.url, device_id=name, transport=transport,
                             **secret, **kw)
        client.cutter = cutter
        made.append(client)
        if user:
            client.login(user, "pw-" + user)
        return client

    yield make
    for client in made:
        client.close()


def snapshot(client):
    """Everything a device holds, for comparing two devices."""
    households = client.households(include_deleted=True)
    return {
        "households": households,
        "persons": {h["id"]: client.persons(h["id"], include_deleted=True) for h in households},
        "visits": client.visits(),
        "flags": [dict(f, events=client.flag(f["id"])["events"]) for f in client.flags()],
    }


def day_of_work(client, grid_id, households, persons_each=2, visits_each=1):
    """A worker's offline day: households with members and visits; returns the household ids."""
    ids = []
    for i in range(households):
        hid = client.create_household(grid_id, f"幸福街{i + 1}号", building=f"{i % 9 + 1}栋", head_name=f"户主{i}")
        for p in range(persons_each):
            client.add_person(hid, f"成员{i}-{p}", relation="head" if p == 0 else "child")
        for _ in range(visits_each):
            client.record_visit(hid, CHECKS_OK)
        ids.append(hid)
    return ids
