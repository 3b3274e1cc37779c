"""A simulated tablet for sync tests: a local replica, an outbox, a cursor and a hybrid clock,
talking to the server through a Flask test client exactly as a device does over HTTP.

Every local edit is stamped with ``clock.now()`` and names, in ``base``, the stamps of the field
values it was made on top of. ``sync()`` pushes the outbox in batches, then pulls until ``more``
is false, merging what comes back with ``sync.merge.merge_fields``. Faults can be injected: a
push whose response is lost (the server applied it, the device never learns it and re-sends the
very same batch first thing next time), a batch sent twice, a pull page applied but whose cursor
was never saved (the device crashed), so that the same page is applied again later.

The device keeps a record of everything the server told it it accepted (``accepted``) and of
every push it made with the answers (``pushes``), for the tests' invariants.
"""
import copy
import uuid

from sync import SCHEMA_VERSION
from sync.casework import may_act
from sync.checklist import CHECK_KEYS, STATUSES
from sync.clock import HybridClock, wall_clock_ms
from sync.entities import ENTITIES, GENDERS, RELATIONS
from sync.flags import COLOURS, LEVELS, OTHER_ACTIONS, TRANSITIONS, fold_flag
from sync.merge import merge_fields

PUSH_URL = "/api/v1/sync/push"
PULL_URL = "/api/v1/sync/pull"
TOKEN_URL = "/api/v1/auth/token"

RECORD_ENTITIES = ("household", "person", "flag")
ACCEPTED = frozenset({"applied", "merged_with_conflict", "already_applied"})

# Small pools of values, so that two devices often write the same field, and sometimes the
# same value. Everything is already in the form the server normalises to (no surrounding
# spaces, upper-case X in ID numbers), so a replica can be compared with the server as is.
ADDRESSES = ("和平路1号", "和平路1号2栋", "解放街3号")
HEAD_NAMES = ("王伟", "李娜", "张敏")
NOTES = ("", "低保户", "独居老人", "需复查")
PHONES = (None, "13800138000", "13912345678")
PERSON_NAMES = ("王伟", "王玮", "李娜", "张敏")
ID_NUMBERS = (None, "11010519491231002X", "110105194912310029")
BIRTH_DATES = (None, "1949-12-31", "2015-06-01")
CATEGORIES = ("困境儿童", "因病致贫", "未申报的残疾人")
VISIT_TIMES = ("2024-05-01T09:30:00Z", "2024-05-02T14:00:00Z", "2024-06-11T10:15:00Z")


class World:
    """Simulated wall time shared by the devices; each device sees it through its own skew.

    It starts a minute ahead of the server's clock (well inside the hour the server tolerates),
    so that the order of the devices' edits is the order the test makes them in, not the order
    in which server stamps happened to be observed."""

    def __init__(self, start_ms=None):
        self.ms = wall_clock_ms() + 60_000 if start_ms is None else start_ms

    def advance(self, ms):
        self.ms += ms

    def wall(self, skew_ms=0):
        return lambda: self.ms + skew_ms


class SyncFailed(AssertionError):
    pass


class SimDevice:
    def __init__(self, client, username, device_id, *, wall=wall_clock_ms, password=None, grid_ids=None):
        self.client = client
        self.username = username
        self.device_id = device_id
        self.password = password or "pw-" + username
        self.clock = HybridClock(device_id, wall=wall)
        #: (entity, id) -> {"values": {...}, "stamps": {...}} for households, persons, flags
        self.records = {}
        #: id -> the visit's fields plus "id" and "stamp"
        self.visits = {}
        #: id -> the event's fields plus "id" and "stamp"
        self.flag_events = {}
        self.outbox = []
        self.cursor = None
        #: a batch whose push response was lost: re-sent, unchanged, before anything else
        self.inflight = None
        #: change_id -> the change, for every change the server said it accepted
        self.accepted = {}
        #: (change, reason) for every change the server refused; a refused visit or flag event is
        #: taken out of the replica (the SDK lists it for the worker instead)
        self.rejected = []
        #: {"kind": "first" | "resend" | "duplicate" | "lost", "batch": [...], "results": [...]}
        self.pushes = []
        #: every cursor the server handed out, in order
        self.cursors = []
        self.resyncs = 0
        self.token = None
        self.role = None
        #: the grids this device writes to and pulls from (the log-in lists a grid worker's;
        #: staff see every grid under their area, which the test passes in)
        self.grid_ids = list(grid_ids) if grid_ids is not None else None

    # --- session ------------------------------------------------------------------------------
    def login(self):
        resp = self.client.post(TOKEN_URL, json={"username": self.username, "password": self.password,
                                                 "device_id": self.device_id})
        if resp.status_code != 201:
            raise SyncFailed(f"{self.device_id}: login failed {resp.status_code} {resp.get_json()}")
        body = resp.get_json()
        self.token = body["token"]
        self.role = body["worker"]["role"]
        if self.grid_ids is None:
            self.grid_ids = list(body["worker"]["grid_ids"])
        return body

    @property
    def headers(self):
        return {"Authorization": "Bearer " + self.token}

    # --- local edits --------------------------------------------------------------------------
    def _record(self, entity, eid):
        return self.records.setdefault((entity, eid), {"values": {}, "stamps": {}})

    def write(self, entity, eid, fields):
        """A local write to a record: stamped now, ``base`` = the stamps of what it overwrites."""
        assert entity in RECORD_ENTITIES
        stamp = self.clock.now()
        rec = self._record(entity, eid)
        base = {name: rec["stamps"][name] for name in fields if name in rec["stamps"]}
        merge_fields(rec["values"], rec["stamps"], dict(fields), stamp, base)
        change = {"change_id": str(uuid.uuid4()), "entity": entity, "entity_id": eid, "stamp": stamp,
                  "fields": dict(fields)}
        if base:
            change["base"] = base
        self.outbox.append(change)
        return change

    def _event(self, entity, fields):
        eid = str(uuid.uuid4())
        stamp = self.clock.now()
        store = self.visits if entity == "visit" else self.flag_events
        store[eid] = {**fields, "id": eid, "stamp": stamp}
        change = {"change_id": str(uuid.uuid4()), "entity": entity, "entity_id": eid, "stamp": stamp,
                  "fields": dict(fields)}
        self.outbox.append(change)
        return eid

    def create_household(self, grid_id, **fields):
        hid = str(uuid.uuid4())
        fields.setdefault("address", ADDRESSES[0])
        self.write("household", hid, {"grid_id": grid_id, **fields})
        return hid

    def create_person(self, household_id, **fields):
        pid = str(uuid.uuid4())
        fields.setdefault("name", PERSON_NAMES[0])
        self.write("person", pid, {"household_id": household_id, **fields})
        return pid

    def edit(self, entity, eid, **fields):
        assert (entity, eid) in self.records, f"{self.device_id} does not hold {entity} {eid}"
        return self.write(entity, eid, fields)

    def delete(self, entity, eid, deleted=True):
        """A tombstone is just a field."""
        return self.edit(entity, eid, deleted=deleted)

    def record_visit(self, household_id, checks=None, *, visited_at=VISIT_TIMES[0], note=None, amends_id=None):
        fields = {"household_id": household_id, "visited_at": visited_at, "checklist_version": 1,
                  "checks": checks or {k: {"status": "ok"} for k in CHECK_KEYS}}
        if note is not None:
            fields["note"] = note
        if amends_id is not None:
            fields["amends_id"] = amends_id
        return self._event("visit", fields)

    def raise_flag(self, household_id, *, category=CATEGORIES[0], colour="yellow", person_id=None, **fields):
        fid = str(uuid.uuid4())
        fields = {"household_id": household_id, "category": category, "colour": colour, **fields}
        if person_id is not None:
            fields["person_id"] = person_id
        self.write("flag", fid, fields)
        return fid

    def flag_event(self, flag_id, action, **fields):
        """A transition names the state this device sees the flag in (``from_state``). As the
        SDK does, the device only offers what its worker's role may do at the level it sees."""
        view = self.flag_view(flag_id)
        assert may_act(self.role, action, view["level"]), f"{self.role} may not {action} at {view['level']}"
        fields = {"flag_id": flag_id, "action": action, **fields}
        if action in TRANSITIONS:
            fields.setdefault("from_state", view["state"])
        return self._event("flag_event", fields)

    # --- what the device holds ----------------------------------------------------------------
    def ids(self, entity, **where):
        """Ids of the records held, in the order the device first saw them (so that a test
        replaying the same steps makes the same choices, whatever uuids were drawn)."""
        out = []
        for (ent, eid), rec in self.records.items():
            if ent == entity and all(rec["values"].get(k) == v for k, v in where.items()):
                out.append(eid)
        return out

    def visits_to(self, household_id):
        return [v for v, visit in self.visits.items() if visit["household_id"] == household_id]

    def flag_view(self, flag_id):
        values = self.records[("flag", flag_id)]["values"]
        events = [e for e in self.flag_events.values() if e["flag_id"] == flag_id]
        return fold_flag(values["colour"], values.get("level") or "community", events)

    def snapshot(self):
        """The replica in a comparable form: every field of a record (unset = None, ``deleted``
        unset = False), its stamps, the visits and flag events, and each flag's folded view."""
        records = {}
        for (entity, eid), rec in self.records.items():
            records[(entity, eid)] = {"values": full_values(entity, rec["values"]), "stamps": dict(rec["stamps"])}
        flags = {}
        for (entity, eid) in self.records:
            if entity == "flag":
                view = self.flag_view(eid)
                flags[eid] = (view["state"], view["level"], view["colour"])
        return {"records": records, "visits": copy.deepcopy(self.visits),
                "flag_events": copy.deepcopy(self.flag_events), "flags": flags}

    # --- random edits -------------------------------------------------------------------------
    def random_edit(self, rng):
        """One random local edit on what the device holds (or a new household if it holds none).
        Returns a short description of what it did."""
        households = self.ids("household")
        if not households:
            hid = self.create_household(rng.choice(self.grid_ids), **random_household_fields(rng, creating=True))
            return f"create household {hid}"
        kind = rng.choices(("create_household", "edit_household", "create_person", "edit_person", "delete",
                            "visit", "raise_flag", "edit_flag", "flag_event"),
                           weights=(1, 6, 1, 3, 1, 1, 2, 2, 5))[0]
        # Mostly the records first seen (those the devices share), so that edits collide.
        hid = _pick(rng, households)
        persons = self.ids("person")
        flags = self.ids("flag")
        if kind == "create_household":
            hid = self.create_household(rng.choice(self.grid_ids), **random_household_fields(rng, creating=True))
            return f"create household {hid}"
        if kind == "edit_household":
            fields = random_household_fields(rng)
            self.edit("household", hid, **fields)
            return f"edit household {hid} {fields}"
        if kind == "create_person" or (kind == "edit_person" and not persons):
            pid = self.create_person(hid, **random_person_fields(rng, creating=True))
            return f"create person {pid} in {hid}"
        if kind == "edit_person":
            pid = _pick(rng, persons)
            fields = random_person_fields(rng)
            self.edit("person", pid, **fields)
            return f"edit person {pid} {fields}"
        if kind == "delete":
            entity = rng.choice(("household", "person")) if persons else "household"
            eid = rng.choice(households if entity == "household" else persons)
            deleted = rng.random() < 0.8
            self.delete(entity, eid, deleted)
            return f"{'delete' if deleted else 'undelete'} {entity} {eid}"
        if kind == "visit":
            earlier = self.visits_to(hid)
            amends = rng.choice(earlier) if earlier and rng.random() < 0.3 else None
            vid = self.record_visit(hid, random_checks(rng), visited_at=rng.choice(VISIT_TIMES),
                                    note=rng.choice((None,) + NOTES), amends_id=amends)
            return f"visit {vid} to {hid}" + (f" amending {amends}" if amends else "")
        if kind == "raise_flag" or not flags:
            members = self.ids("person", household_id=hid)
            person = rng.choice(members) if members and rng.random() < 0.5 else None
            extra = {"level": rng.choice(LEVELS)} if rng.random() < 0.3 else {}
            fid = self.raise_flag(hid, category=rng.choice(CATEGORIES), colour=rng.choice(COLOURS),
                                  person_id=person, **extra)
            return f"raise flag {fid} on {hid}"
        fid = _pick(rng, flags)
        if kind == "edit_flag":
            # colour and level move only by events (recolour, escalate, route): not edited here
            fields = rng.choice(({"note": rng.choice(NOTES)}, {"category": rng.choice(CATEGORIES)}))
            self.edit("flag", fid, **fields)
            return f"edit flag {fid} {fields}"
        return self.random_flag_event(fid, rng)

    def random_flag_event(self, fid, rng):
        view = self.flag_view(fid)
        state = view["state"]
        possible = [a for a, (allowed, _) in TRANSITIONS.items() if state in allowed] + list(OTHER_ACTIONS)
        possible = [a for a in possible if may_act(self.role, a, view["level"])]
        if not possible:
            return f"no flag action open to a {self.role} on {fid} ({state} at {view['level']})"
        action = rng.choice(possible)
        extra = {}
        if action == "verify":
            hid = self.records[("flag", fid)]["values"]["household_id"]
            visits = self.visits_to(hid)
            extra["visit_id"] = rng.choice(visits) if visits else self.record_visit(hid, random_checks(rng))
        elif action in ("escalate", "route"):
            here = LEVELS.index(view["level"])
            # escalate goes up; route goes anywhere else (the server refuses a flag left in place)
            choices = LEVELS[here + 1:] if action == "escalate" else [lv for lv in LEVELS if lv != view["level"]]
            if not choices:
                return f"nowhere to {action} {fid} from {view['level']}"
            extra["level"] = rng.choice(choices)
        elif action == "recolour":
            extra["colour"] = rng.choice(COLOURS)
        if rng.random() < 0.3:
            extra["note"] = rng.choice(NOTES)
        eid = self.flag_event(fid, action, **extra)
        return f"flag event {eid} {action} on {fid} (seen as {state})"

    # --- sync ---------------------------------------------------------------------------------
    def _post(self, batch):
        return self.client.post(PUSH_URL, headers=self.headers, json={
            "device_id": self.device_id, "schema_version": SCHEMA_VERSION, "changes": batch})

    def _take_results(self, batch, body):
        results = body["results"]
        if len(results) != len(batch):
            raise SyncFailed(f"{self.device_id}: {len(batch)} changes pushed, {len(results)} results")
        for change, result in zip(batch, results):
            if result["change_id"] != change["change_id"]:
                raise SyncFailed(f"{self.device_id}: result {result} does not match change {change['change_id']}")
            if result["status"] in ACCEPTED:
                self.accepted[change["change_id"]] = change
            else:
                self.rejected.append((change, result.get("reason")))
                if change["entity"] == "visit":
                    self.visits.pop(change["entity_id"], None)
                elif change["entity"] == "flag_event":
                    self.flag_events.pop(change["entity_id"], None)
        self.clock.observe(body["server_stamp"])

    def push(self, batch_size=50, faults=()):
        """Push the outbox. ``faults``: one of "ok", "lost", "dup" per batch, in order (missing:
        "ok"). After a lost response the device stops (the connection dropped) and returns False."""
        faults = list(faults)
        while self.inflight is not None or self.outbox:
            if self.inflight is not None:
                batch, kind = self.inflight, "resend"
            else:
                batch, kind = self.outbox[:batch_size], "first"
            fault = faults.pop(0) if faults else "ok"
            resp = self._post(batch)
            if resp.status_code != 200:
                raise SyncFailed(f"{self.device_id}: push answered {resp.status_code}: {resp.get_json()}")
            if kind == "first":
                del self.outbox[:len(batch)]
            if fault == "lost":
                # The server committed; the answer never reached the tablet.
                self.pushes.append({"kind": "lost", "batch": batch, "results": resp.get_json()["results"]})
                self.inflight = batch
                return False
            self.pushes.append({"kind": kind, "batch": batch, "results": resp.get_json()["results"]})
            if fault == "dup":
                # The same request delivered twice (a retrying proxy): the device reads the second.
                resp = self._post(batch)
                if resp.status_code != 200:
                    raise SyncFailed(f"{self.device_id}: duplicate push answered {resp.status_code}")
                self.pushes.append({"kind": "duplicate", "batch": batch, "results": resp.get_json()["results"]})
            self._take_results(batch, resp.get_json())
            self.inflight = None
        return True

    def pull(self, limit=1000, crash_after_first_page=False):
        """Pull until ``more`` is false. With ``crash_after_first_page`` the first page is applied
        but its cursor is never saved, so the next pull applies the same changes again."""
        for _ in range(100_000):
            url = f"{PULL_URL}?limit={limit}" + (f"&cursor={self.cursor}" if self.cursor else "")
            resp = self.client.get(url, headers=self.headers)
            if resp.status_code == 410:
                self.resyncs += 1
                if self.resyncs > 10:
                    raise SyncFailed(f"{self.device_id}: resync_required over and over: {resp.get_json()}")
                self.cursor = None
                continue
            if resp.status_code != 200:
                raise SyncFailed(f"{self.device_id}: pull answered {resp.status_code}: {resp.get_json()}")
            body = resp.get_json()
            for change in body["changes"]:
                self.apply_pulled(change)
            self.clock.observe(body["server_stamp"])
            if crash_after_first_page:
                return False
            self.cursor = body["cursor"]
            self.cursors.append(body["cursor"])
            if not body["more"]:
                return True
        raise SyncFailed(f"{self.device_id}: pull never ended")

    def apply_pulled(self, change):
        entity, eid, stamp = change["entity"], change["entity_id"], change["stamp"]
        self.clock.observe(stamp)
        if entity in RECORD_ENTITIES:
            rec = self._record(entity, eid)
            merge_fields(rec["values"], rec["stamps"], dict(change["fields"]), stamp, change.get("base"))
        elif entity == "visit":
            self.visits[eid] = {**change["fields"], "id": eid, "stamp": stamp}
        elif entity == "flag_event":
            self.flag_events[eid] = {**change["fields"], "id": eid, "stamp": stamp}
        else:
            raise SyncFailed(f"{self.device_id}: pulled an unknown entity {entity!r}")

    def sync(self, batch_size=50, faults=(), pull_limit=1000, crash_after_first_page=False):
        """Push, then pull. A lost push response ends the sync there (nothing is pulled)."""
        if not self.push(batch_size, faults):
            return False
        return self.pull(pull_limit, crash_after_first_page)


def _pick(rng, ids, first=3):
    return rng.choice(ids[:first] if rng.random() < 0.7 else ids)


def full_values(entity, values):
    """Every field of the entity: unset fields are None, and an unset ``deleted`` is False
    (the server's column default)."""
    out = {}
    for name in ENTITIES[entity].fields:
        value = values.get(name)
        out[name] = bool(value) if name == "deleted" else value
    return out


def random_household_fields(rng, creating=False):
    pools = {"address": ADDRESSES, "head_name": HEAD_NAMES, "note": NOTES, "phone": PHONES,
             "building": ("1", "2"), "room": ("101", "202")}
    # Mostly the few fields everyone edits, so that concurrent edits collide.
    common = ["address", "note", "phone"]
    names = rng.sample(common if rng.random() < 0.7 else sorted(pools), rng.randint(1, 2))
    fields = {name: rng.choice(pools[name]) for name in names}
    if creating:
        fields.setdefault("address", rng.choice(ADDRESSES))
    return fields


def random_person_fields(rng, creating=False):
    pools = {"name": PERSON_NAMES, "relation": RELATIONS[:4], "gender": GENDERS, "note": NOTES,
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
