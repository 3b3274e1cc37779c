"""Property: real tablets (the SDK's ``FieldClient``) that work offline and sync in any order, over
a connection that loses answers, repeats requests and cuts them, while the scheduler escalates
flags and a worker loses a grid, all end holding what the server holds, and nothing the server
accepted is lost (DESIGN.md, "How records merge when devices were offline"; the invariants are
in tests/properties/server.py).

Two to four tablets for w1 and w12 (who share grid G1; w12 also holds G2) and community staff
comm1 make random offline edits: households, persons (and moves between households), tombstones,
visits with amendments, flags, flag events as their roles allow at the level they see. Between
them the scheduler escalates every open flag a level, and w12 loses G2 and gets it back: the
changes w12's tablets made offline in G2 are then refused (``out_of_scope``, never allowed) and
undone on the tablet, with what hangs on them. Everything else a tablet did in good faith is
accepted, however stale its view was.

Examples: ``GRIDSYNC_HYPOTHESIS_EXAMPLES`` (default 30) on SQLite,
``GRIDSYNC_HYPOTHESIS_PG_EXAMPLES`` (default a third of that) on PostgreSQL.
"""
import datetime as dt
import os
import random

import pytest
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st

from client_sdk.errors import SyncClientError
from sync.casework import may_act
from sync.clock import wall_clock_ms
from sync.flags import COLOURS, LEVELS, OTHER_ACTIONS, TRANSITIONS, fold_flag
from tests.city import make_city
from tests.conftest import _dispose, build_app
from tests.properties.server import check_all
from tests.properties.tablets import (CATEGORIES, NOTES, VISIT_TIMES, Tablet, World, random_checks,
                                      random_household_fields, random_person_fields)

SQLITE_EXAMPLES = int(os.environ.get("GRIDSYNC_HYPOTHESIS_EXAMPLES", "30"))
PG_EXAMPLES = int(os.environ.get("GRIDSYNC_HYPOTHESIS_PG_EXAMPLES", str(max(1, SQLITE_EXAMPLES // 3))))

#: (worker, device id): every example has the first two; up to two more come from the rest
TABLETS = [("w1", "dev-w1-a"), ("w12", "dev-w12-a")]
MORE_TABLETS = [("comm1", "dev-comm1-a"), ("w1", "dev-w1-b"), ("comm1", "dev-comm1-b"), ("w12", "dev-w12-b")]
FAULTS = st.lists(st.sampled_from(["ok", "ok", "lost", "dup", "before"]), max_size=4)

#: Each example runs a whole app, so shrinking a failure can take minutes: opt in to it with
#: GRIDSYNC_HYPOTHESIS_SHRINK=1 (the failing steps are printed either way).
PHASES = tuple(Phase) if os.environ.get("GRIDSYNC_HYPOTHESIS_SHRINK") else (
    Phase.explicit, Phase.reuse, Phase.generate, Phase.target)


def sync_settings(examples):
    return settings(max_examples=examples, deadline=None, print_blob=True, phases=PHASES,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])


def _pick(rng, ids, first=3):
    # mostly the records first made (those the tablets share), so that edits collide
    return rng.choice(ids[:first] if rng.random() < 0.7 else ids)


def random_edit(tablet, rng):
    """One random local edit; returns what it did (or why the tablet refused it there)."""
    try:
        return _edit(tablet, rng)
    except SyncClientError as exc:
        return f"refused on the tablet: {exc.code} {exc.message}"


def _edit(tablet, rng):
    c = tablet.client
    households = tablet.ids("household")
    grids = sorted(tablet.grid_ids)
    if not households:
        return f"create household {c.create_household(rng.choice(grids), **random_household_fields(rng, True))}"
    kind = rng.choices(("create_household", "edit_household", "create_person", "edit_person", "move_person",
                        "delete", "visit", "raise_flag", "edit_flag", "flag_event"),
                       weights=(1, 6, 1, 3, 1, 1, 1, 2, 2, 5))[0]
    hid = _pick(rng, households)
    persons, flags = tablet.ids("person"), [f["id"] for f in c.flags()]
    if kind == "create_household":
        return f"create household {c.create_household(rng.choice(grids), **random_household_fields(rng, True))}"
    if kind == "edit_household":
        fields = random_household_fields(rng)
        c.update_household(hid, **fields)
        return f"edit household {hid} {fields}"
    if kind == "create_person" or (kind in ("edit_person", "move_person") and not persons):
        return f"create person {c.add_person(hid, **random_person_fields(rng, True))} in {hid}"
    if kind == "edit_person":
        pid = _pick(rng, persons)
        fields = random_person_fields(rng)
        c.update_person(pid, **fields)
        return f"edit person {pid} {fields}"
    if kind == "move_person":
        pid = _pick(rng, persons)
        home = c.household(c.person(pid)["household_id"])
        same_grid = [h for h in households if c.household(h)["grid_id"] == home["grid_id"] and h != home["id"]]
        if not same_grid:
            return f"nowhere to move {pid}"
        to = rng.choice(same_grid)
        c.update_person(pid, household_id=to)
        return f"move person {pid} to {to}"
    if kind == "delete":
        entity = rng.choice(("household", "person")) if persons else "household"
        rid = rng.choice(households if entity == "household" else persons)
        deleted = rng.random() < 0.8
        (c.update_household if entity == "household" else c.update_person)(rid, deleted=deleted)
        return f"{'delete' if deleted else 'undelete'} {entity} {rid}"
    if kind == "visit":
        earlier = [v["id"] for v in c.visits(hid)]
        amends = rng.choice(earlier) if earlier and rng.random() < 0.3 else None
        vid = c.record_visit(hid, random_checks(rng), visited_at=rng.choice(VISIT_TIMES),
                             note=rng.choice((None,) + NOTES), amends_id=amends)
        return f"visit {vid} to {hid}" + (f" amending {amends}" if amends else "")
    if kind == "raise_flag" or not flags:
        members = tablet.ids("person", household_id=hid)
        person = rng.choice(members) if members and rng.random() < 0.5 else None
        fid = c.raise_flag(hid, rng.choice(CATEGORIES), rng.choice(COLOURS), person_id=person)
        return f"raise flag {fid} on {hid}"
    fid = _pick(rng, sorted(flags))
    if kind == "edit_flag":
        fields = rng.choice(({"note": rng.choice(NOTES)}, {"category": rng.choice(CATEGORIES)}))
        c.update_flag(fid, **fields)
        return f"edit flag {fid} {fields}"
    return _flag_event(tablet, fid, rng)


def _flag_event(tablet, fid, rng):
    c = tablet.client
    view = c.flag(fid)
    state, level = view["state"], view["level"]
    possible = [a for a, (allowed, _) in TRANSITIONS.items() if state in allowed] + list(OTHER_ACTIONS)
    possible = [a for a in possible if may_act(tablet.role, a, level)]
    if not possible:
        return f"no flag action open to a {tablet.role} on {fid} ({state} at {level})"
    action = rng.choice(possible)
    extra = {}
    if action == "verify":
        visits = [v["id"] for v in c.visits(view["household_id"])]
        extra["visit_id"] = rng.choice(visits) if visits else c.record_visit(view["household_id"], random_checks(rng))
    elif action in ("escalate", "route"):
        here = LEVELS.index(level)
        choices = LEVELS[here + 1:] if action == "escalate" else [lv for lv in LEVELS if lv != level]
        if not choices:
            return f"nowhere to {action} {fid} from {level}"
        extra["level"] = rng.choice(choices)
    elif action == "recolour":
        extra["colour"] = rng.choice(COLOURS)
    if rng.random() < 0.3:
        extra["note"] = rng.choice(NOTES)
    eid = c.move_flag(fid, action, **extra)
    return f"flag event {eid} {action} on {fid} (seen as {state} at {level})"


# --- the server's side of the day ------------------------------------------------------------------
class Office:
    """What happens at the server meanwhile: the scheduler escalating overdue flags (its clock
    driven days ahead), and w12's grids changed by an administrator."""

    def __init__(self, app, city):
        self.app, self.city = app, city
        self.days = 0
        self.reassigned = set()        # workers who lost a grid at some point

    def escalate(self):
        from server.jobs import escalate_overdue
        self.days += 10
        return escalate_overdue(self.app, now=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=self.days))

    def toggle_grids(self, username="w12"):
        import uuid

        from sqlalchemy import delete, select

        from server.extensions import db
        from server.models import Worker, WorkerGrid
        with self.app.app_context():
            worker = db.session.execute(select(Worker).where(Worker.username == username)).scalar_one()
            held = set(db.session.execute(select(WorkerGrid.grid_id).where(WorkerGrid.worker_id == worker.id))
                       .scalars())
            wanted = ["G1"] if uuid.UUID(self.city["G2"]) in held else ["G1", "G2"]
            db.session.execute(delete(WorkerGrid).where(WorkerGrid.worker_id == worker.id))
            for code in wanted:
                db.session.add(WorkerGrid(worker_id=worker.id, grid_id=uuid.UUID(self.city[code])))
            db.session.commit()
        if wanted == ["G1"]:
            self.reassigned.add(username)
        return wanted


def refusal_allowed(office):
    """What may be refused: only changes of a worker who lost a grid, made in that grid (and
    the changes that hung on them)."""
    def allowed(tablet, change, reason):
        return tablet.username in office.reassigned and reason["code"] in ("out_of_scope", "depends_on_refused")
    return allowed


def run_scenario(app, data):
    with app.app_context():
        city = make_city()
    world = World(wall_clock_ms())
    office = Office(app, city)
    more = data.draw(st.permutations(MORE_TABLETS), label="more tablets")
    n = data.draw(st.integers(2, 4), label="tablets")
    skew = st.integers(-3000, 3000) | st.integers(-600_000, 600_000)
    skews = data.draw(st.lists(skew, min_size=n, max_size=n), label="clock skews (ms)")
    # Field values and which record to touch come from a seeded Random: evenly spread choices,
    # replayed exactly from the seed.
    rng = random.Random(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    tablets = [Tablet(app, user, device_id, wall=world.wall(skew))
               for (user, device_id), skew in zip((TABLETS + more)[:n], skews)]
    try:
        for _ in range(data.draw(st.integers(1, 3), label="shared households")):
            tablets[0].client.create_household(city["G1"], **random_household_fields(rng, creating=True))
        for tablet in tablets:
            assert tablet.sync()
        for _ in range(data.draw(st.integers(5, 60), label="steps")):
            tablet = tablets[data.draw(st.integers(0, n - 1), label="tablet")]
            op = data.draw(st.sampled_from(["edit"] * 12 + ["sync"] * 3 + ["tick", "escalate", "grids", "grids"]),
                           label="op")
            if op == "edit":
                note(f"{tablet.device_id}: {random_edit(tablet, rng)}")
            elif op == "sync":
                faults = data.draw(FAULTS, label="faults")
                note(f"{tablet.device_id}: sync {faults} -> {tablet.sync(faults)}")
            elif op == "escalate":
                note(f"scheduler: escalated {office.escalate()}")
            elif op == "grids":
                note(f"admin: w12 now holds {office.toggle_grids()}")
            else:
                world.advance(data.draw(st.integers(0, 2000), label="ms"))
        order = data.draw(st.permutations(range(n)), label="final order")
        for _ in range(2):
            for i in order:
                assert tablets[i].sync(), f"{tablets[i].device_id}: the final sync did not complete"
        fresh = Tablet(app, "w12", "dev-w12-fresh", wall=world.wall())
        tablets.append(fresh)
        assert fresh.sync()
        server = check_all(app, tablets[:-1], fresh, refusal_allowed(office))
        _coverage(server, tablets[:-1], office)
    finally:
        for tablet in tablets:
            tablet.close()


def _coverage(server, tablets, office):
    """What the example exercised (pytest --hypothesis-show-statistics)."""
    conflicts = len(server["conflicts"])
    event(f"conflict rows: {'none' if not conflicts else '1-4' if conflicts < 5 else '5 or more'}")
    event(f"lost answers: {any(not p['delivered'] for t in tablets for p in t.link.pushes)}")
    event(f"changes refused and undone: {sum(len(t.client.rejected_changes()) for t in tablets) > 0}")
    event(f"flags escalated by the scheduler: {office.days > 0 and bool(server['flags'])}")
    events = {}
    for ev in server["flag_events"].values():
        events.setdefault(ev["flag_id"], []).append(ev)
    event(f"a transition made on a stale view: "
          f"{any(fold_flag('red', None, evs)['concurrent'] for evs in events.values())}")
    event(f"tombstones: {any(r['values'].get('deleted') for r in server['records'].values())}")


def in_fresh_app(kind, tmp_path, request, scenario, data):
    """One example: a fresh app on a fresh database, the scenario, the checks."""
    app = build_app(kind, tmp_path, request)
    try:
        scenario(app, data)
    finally:
        _dispose(app)


@sync_settings(SQLITE_EXAMPLES)
@given(data=st.data())
def test_tablets_converge_and_nothing_accepted_is_lost_sqlite(tmp_path_factory, request, data):
    in_fresh_app("sqlite", tmp_path_factory.mktemp("conv"), request, run_scenario, data)


@pytest.mark.postgres
@sync_settings(PG_EXAMPLES)
@given(data=st.data())
def test_tablets_converge_and_nothing_accepted_is_lost_postgresql(tmp_path_factory, request, pg_url, data):
    in_fresh_app("postgresql", tmp_path_factory.mktemp("conv"), request, run_scenario, data)
