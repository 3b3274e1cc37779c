"""Real tablets for the sync properties: ``client_sdk.FieldClient`` over an in-memory store, whose
transport reaches the Flask app in-process (no sockets, so hundreds of examples stay fast) and
can lose, repeat or cut requests the way a bad connection does.

``Link`` is the transport's ``send``: it hands each request to the app's test client and keeps,
for the invariants, every push the server handled (what was sent, what it answered, whether
the answer reached the tablet). Faults are queued per sync request (push and pull): ``lost``
(the server handled it, the answer never arrived), ``dup`` (delivered twice, the tablet reads
the second answer), ``before`` (cut before reaching the server).
"""
import json

import brotli
from urllib.parse import urlsplit

import requests
from requests.structures import CaseInsensitiveDict

from client_sdk import FieldClient, Transport
from client_sdk.errors import SyncClientError
from sync.checklist import CHECK_KEYS, STATUSES
from sync.entities import ENTITIES
from sync.flags import COLOURS, LEVELS, OTHER_ACTIONS, TRANSITIONS
from tests.helpers import STORE_KEY

ACCEPTED = frozenset({"applied", "merged_with_conflict", "already_applied"})

# Small pools of values, so that two tablets often write the same field, and sometimes the
# same value; all already in the form the server normalises to.
ADDRESSES = ("和平路1号", "和平路1号2栋", "解放街3号")
HEAD_NAMES = ("王伟", "李娜", "张敏")
NOTES = ("", "低保户", "独居老人", "需复查")
PHONES = (None, "13800138000", "13912345678")
PERSON_NAMES = ("王伟", "王玮", "李娜", "张敏")
ID_NUMBERS = (None, "11010519491231002X", "110105194912310029")
BIRTH_DATES = (None, "1949-12-31", "2015-06-01")
CATEGORIES = ("困境儿童", "因病致贫", "未申报的残疾人")
VISIT_TIMES = ("2024-05-01T09:30:00Z", "2024-05-02T14:00:00Z", "2024-06-11T10:15:00Z")
RELATIONS = ("head", "spouse", "child", "parent")


class Link:
    """The in-process network between one tablet and the app."""

    def __init__(self, app):
        self.client = app.test_client()
        self.faults = []
        #: every push the server handled: {"changes", "results", "delivered"}
        self.pushes = []

    def __call__(self, session, method, url, headers=None, data=None, params=None, timeout=None):
        path = urlsplit(url).path
        fault = self.faults.pop(0) if self.faults and "/sync/" in path else "ok"
        if fault == "before":
            raise requests.ConnectionError("cut before the request reached the server")
        resp = self._handle(method, path, headers, data, params)
        if fault == "dup":
            resp = self._handle(method, path, headers, data, params)
        if fault == "lost":
            if self.pushes and self.pushes[-1]["request"] is resp:
                self.pushes[-1]["delivered"] = False
            raise requests.ConnectionError("cut: the server answered, the answer was lost")
        return resp

    def _handle(self, method, path, headers, data, params):
        got = self.client.open(path, method=method, headers=dict(headers or {}), data=data, query_string=params)
        resp = requests.Response()
        if path.endswith(("/sync/exchange", "/sync/push")) and got.status_code == 200:
            body = brotli.decompress(data) if (headers or {}).get("Content-Encoding") == "br" else data
            sent = json.loads(body).get("changes", [])
            if sent:
                self.pushes.append({"changes": sent, "results": got.get_json()["results"], "delivered": True,
                                    "request": resp})
        resp.status_code = got.status_code
        resp._content = got.get_data()
        resp.headers = CaseInsensitiveDict(got.headers)
        resp.reason = got.status.split(" ", 1)[-1]
        resp.url = path
        resp.encoding = "utf-8"
        return resp


class Tablet:
    """A logged-in ``FieldClient`` with its link, and the random day's work of a worker."""

    def __init__(self, app, username, device_id, *, wall):
        self.link = Link(app)
        self.username, self.device_id = username, device_id
        transport = Transport("http://gridsync.test", retries=0, send=self.link, sleep=lambda s: None)
        self.client = FieldClient(":memory:", device_id=device_id, key=STORE_KEY, transport=transport, wall=wall)
        self.client.login(username, "pw-" + username)
        self.failed_syncs = 0

    def close(self):
        self.client.close()

    @property
    def role(self):
        return self.client.worker["role"]

    @property
    def grid_ids(self):
        return list(self.client.worker.get("grid_ids") or ())

    # --- sync ---------------------------------------------------------------------------------
    def sync(self, faults=()):
        """One sync over a link that misbehaves as ``faults`` says; False if it broke off."""
        self.link.faults = list(faults)
        try:
            self.client.sync()
            return True
        except SyncClientError:
            self.failed_syncs += 1
            return False
        finally:
            self.link.faults = []

    # --- what it holds --------------------------------------------------------------------------
    def ids(self, entity, **where):
        """Live ids, oldest first by the stamp that made them: the order follows the simulated
        clocks, not the uuids drawn, so a seed replays the same choices."""
        store = self.client._store
        rows = store.select_records(entity, "deleted = 0")
        ids = [r["id"] for r in rows if all(r.get(k) == v for k, v in where.items())]
        stamps = store.load_records(entity, ids)
        return sorted(ids, key=lambda rid: (min(stamps[rid][1].values(), default=""), rid))

    def replica(self):
        """Everything held, comparable with the server's state (tests/properties/server.py)."""
        store = self.client._store
        records = {}
        for entity in ("household", "person", "flag"):
            ids = [r[0] for r in store.conn.execute("SELECT id FROM records WHERE entity = ?", (entity,))]
            for rid, (values, stamps, _) in store.load_records(entity, ids).items():
                records[(entity, rid)] = {"values": full_values(entity, values), "stamps": stamps}
        visits = {v["id"]: full_event("visit", v) for v in store.select_visits()}
        events = {}
        flag_ids = [r[0] for r in store.conn.execute("SELECT DISTINCT flag_id FROM flag_events")]
        for held in store.flag_events(flag_ids).values():
            for event in held:
                events[event["id"]] = full_event("flag_event", event)
        flags = {fid: (v["state"], v["level"], v["colour"]) for fid, v in store.flag_states().items()}
        return {"records": records, "visits": visits, "flag_events": events, "flags": flags}

    # --- the invariants' view of its pushes -------------------------------------------------------
    def accepted(self):
        """change id -> the change, for every change the server accepted from this tablet."""
        out = {}
        for push in self.link.pushes:
            for change, result in zip(push["changes"], push["results"]):
                if result["status"] in ACCEPTED:
                    out[change["change_id"]] = change
        return out


def full_values(entity, values):
    """Every field of the entity: unset fields are None, an unset ``deleted`` is False."""
    out = {}
    for name in ENTITIES[entity].fields:
        value = values.get(name)
        out[name] = bool(value) if name == "deleted" else value
    return out


def full_event(entity, fields):
    out = {name: fields.get(name) for name in ENTITIES[entity].fields}
    out["id"], out["stamp"] = fields["id"], fields["stamp"]
    return out


class World:
    """Simulated wall time shared by the tablets, each seeing it through its own skew. It
    starts a minute ahead of the server's clock (well inside the hour the server tolerates), so
    the order of the tablets' edits is the order the test makes them in."""

    def __init__(self, start_ms):
        self.ms = start_ms + 60_000

    def advance(self, ms):
        self.ms += ms

    def wall(self, skew_ms=0):
        return lambda: self.ms + skew_ms


def random_household_fields(rng, creating=False):
    pools = {"address": ADDRESSES, "head_name": HEAD_NAMES, "note": NOTES, "phone": PHONES,
             "building": ("1", "2"), "room": ("101", "202")}
    common = ["address", "note", "phone"]          # mostly the few fields everyone edits
    names = rng.sample(common if rng.random() < 0.7 else sorted(pools), rng.randint(1, 2))
    fields = {name: rng.choice(pools[name]) for name in names}
    if creating:
        fields.setdefault("address", rng.choice(ADDRESSES))
    return fields


def random_person_fields(rng, creating=False):
    pools = {"name": PERSON_NAMES, "relation": RELATIONS, "gender": ("M", "F", "U"), "note": NOTES,
             "phone": PHONES, "id_number": ID_NUMBERS, "birth_date": BIRTH_DATES}
    common = ["name", "phone", "id_number"]
    names = rng.sample(common if rng.random() < 0.7 else sorted(pools), rng.randint(1, 2))
    fields = {name: rng.choice(pools[name]) for name in names}
    if creating:
        fields.setdefault("name", rng.choice(PERSON_NAMES))
    return fields


def random_checks(rng):
    """All six checks with a status; some typed answers (checklist version 1)."""
    answers = {
        "income": lambda: {"income_per_person": rng.choice((600, 900.5, 1500)),
                           "assistance": rng.choice(("none", "dibao", "tekun"))},
        "food": lambda: {"meals_per_day": rng.choice((1, 2, 3)), "relies_on_aid": rng.random() < 0.5},
        "children": lambda: {"children": [{"age": rng.randint(1, 17), "in_school": rng.random() < 0.8,
                                           "carer": rng.choice(("parents", "grandparents"))}]},
        "health": lambda: {"elderly_alone": rng.random() < 0.5},
    }
    checks = {}
    for key in CHECK_KEYS:
        item = {"status": rng.choice(STATUSES)}
        if rng.random() < 0.3:
            item["note"] = rng.choice(NOTES)
        if key in answers and rng.random() < 0.4:
            item["answers"] = answers[key]()
        checks[key] = item
    return checks


__all__ = ["Link", "Tablet", "World", "ACCEPTED", "COLOURS", "LEVELS", "OTHER_ACTIONS", "TRANSITIONS"]
