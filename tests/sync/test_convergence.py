"""Property: devices that edit offline and sync in any order, over a connection that loses
answers and delivers batches twice, all end up holding what the server holds, and nothing the
server accepted is lost (docs: DESIGN.md, "How records merge when devices were offline").

Two to four simulated tablets (tests/sync/sim.py) for workers w1 and w12, who share grid G1,
and community staff comm1 (who may move flags at community level), make random offline edits,
creates, tombstones, visits, flags and flag transitions on shared households and sync in a
random order with injected faults. At the end every device syncs twice; then:

(a) every device's replica (values *and* per-field stamps, visits, flag events, flag views)
    equals the server's records in its grids, and so does a new device pulling from scratch;
(b) a re-sent or duplicated batch changes nothing (every change the server had accepted comes
    back ``already_applied``) and the change log holds each accepted change exactly once; the
    only refusals are flag events whose flag a concurrent escalation had moved out of the
    actor's level (``not_allowed``), and a refused event is in no replica;
(c) every accepted field write is still the current value, or is kept in a conflict row, or was
    overwritten by a later write whose author saw it (its ``base`` names the write's stamp), or
    its value was repeated by a newer write that is itself accounted for;
(d) each flag's stored state, level and colour are those folded from its events, on the server
    and on every device.

Examples: ``GRIDSYNC_HYPOTHESIS_EXAMPLES`` (default 30) on SQLite,
``GRIDSYNC_HYPOTHESIS_PG_EXAMPLES`` (default a third of that) on PostgreSQL.
"""
import datetime as dt
import os
import random
import uuid

import pytest
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import select

from sync.entities import ENTITIES
from sync.flags import fold_flag
from sync.merge import node_of
from tests.city import make_city
from tests.conftest import build_app
from tests.sync.sim import (
    ACCEPTED, RECORD_ENTITIES, SimDevice, World, full_values, random_household_fields,
)

SQLITE_EXAMPLES = int(os.environ.get("GRIDSYNC_HYPOTHESIS_EXAMPLES", "30"))
PG_EXAMPLES = int(os.environ.get("GRIDSYNC_HYPOTHESIS_PG_EXAMPLES", str(max(1, SQLITE_EXAMPLES // 3))))

#: (worker, device id): w1 holds G1, w12 holds G1 and G2, comm1 (community staff) sees both
#: and may move flags at community level. Every example has the first two; up to two more come
#: from the rest, among them the same worker on a second tablet.
DEVICES = [("w1", "dev-w1-a"), ("w12", "dev-w12-a")]
MORE_DEVICES = [("comm1", "dev-comm1-a"), ("w1", "dev-w1-b"), ("comm1", "dev-comm1-b")]
#: staff devices are not given their grids at log-in
STAFF_GRIDS = {"comm1": ("G1", "G2")}


#: Each example runs a whole app, so shrinking a failure can take minutes: opt in to it with
#: GRIDSYNC_HYPOTHESIS_SHRINK=1 (the failing steps are printed either way).
PHASES = tuple(Phase) if os.environ.get("GRIDSYNC_HYPOTHESIS_SHRINK") else (
    Phase.explicit, Phase.reuse, Phase.generate, Phase.target)


def _settings(examples):
    return settings(max_examples=examples, deadline=None, print_blob=True, phases=PHASES,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])


def _dispose(app):
    from server.extensions import db
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


# --- the server's side -----------------------------------------------------------------------------
def _utc_text(value):
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _full_event(entity, fields):
    out = {name: fields.get(name) for name in ENTITIES[entity].fields}
    out["id"], out["stamp"] = fields["id"], fields["stamp"]
    return out


def server_state(app):
    """Everything the server holds, in the shape of ``SimDevice.snapshot()``, plus each
    record's grid, the conflicts (values decrypted) and the change log."""
    from server.extensions import db
    from server.models import ChangeLog, Conflict, Flag, FlagEvent, Visit
    from server.services.records import MODELS, row_values

    state = {"records": {}, "grid": {}, "visits": {}, "flag_events": {}, "flags": {}, "folded": {}}
    with app.app_context():
        rows = {}
        for entity in RECORD_ENTITIES:
            for row in db.session.execute(select(MODELS[entity])).scalars():
                key = (entity, str(row.id))
                rows[key] = row
                state["records"][key] = {"values": full_values(entity, row_values(entity, row)),
                                         "stamps": dict(row.stamps)}
        for (entity, eid), rec in state["records"].items():
            if entity == "household":
                state["grid"][(entity, eid)] = rec["values"]["grid_id"]
            elif entity == "person":
                hid = rec["values"]["household_id"]
                state["grid"][(entity, eid)] = state["records"][("household", hid)]["values"]["grid_id"]
            else:
                state["grid"][(entity, eid)] = str(rows[(entity, eid)].grid_id)
        for v in db.session.execute(select(Visit)).scalars():
            state["visits"][str(v.id)] = {
                "id": str(v.id), "stamp": v.stamp, "household_id": str(v.household_id),
                "visited_at": _utc_text(v.visited_at), "checklist_version": v.checklist_version,
                "checks": v.checks, "note": v.note, "amends_id": str(v.amends_id) if v.amends_id else None}
        events = {}
        for e in db.session.execute(select(FlagEvent)).scalars():
            ev = {"id": str(e.id), "stamp": e.stamp, "flag_id": str(e.flag_id), "action": e.action,
                  "from_state": e.from_state, "level": e.level, "colour": e.colour,
                  "visit_id": str(e.visit_id) if e.visit_id else None, "note": e.note}
            state["flag_events"][ev["id"]] = ev
            events.setdefault(ev["flag_id"], []).append(ev)
        for f in db.session.execute(select(Flag)).scalars():
            fid = str(f.id)
            state["flags"][fid] = (f.state, f.current_level, f.current_colour)
            view = fold_flag(f.colour, f.level or "community", events.get(fid, []))
            state["folded"][fid] = (view["state"], view["level"], view["colour"])
        vault = app.extensions["pii_vault"]
        state["conflicts"] = []
        for c in db.session.execute(select(Conflict)).scalars():
            values = vault.decrypt_json(c.values_enc)
            state["conflicts"].append({
                "entity": c.entity, "entity_id": str(c.entity_id), "field": c.field, "kept_stamp": c.kept_stamp,
                "lost_stamp": c.lost_stamp, "lost_side": c.lost_side, "kept": values["kept"],
                "lost": values["lost"], "change_id": str(c.change_id)})
        state["change_log"] = [str(cid) for cid in db.session.execute(select(ChangeLog.change_id)).scalars()]
        state["seqs"] = list(db.session.execute(select(ChangeLog.seq).order_by(ChangeLog.seq)).scalars())
    return state


def in_scope(server, grid_ids):
    """The server's state restricted to what a device holding ``grid_ids`` may pull."""
    grids = set(grid_ids)
    records = {k: v for k, v in server["records"].items() if server["grid"][k] in grids}
    households = {eid for (entity, eid) in records if entity == "household"}
    flags = {eid for (entity, eid) in records if entity == "flag"}
    return {
        "records": records,
        "visits": {k: v for k, v in server["visits"].items() if v["household_id"] in households},
        "flag_events": {k: v for k, v in server["flag_events"].items() if v["flag_id"] in flags},
        "flags": {k: v for k, v in server["flags"].items() if k in flags},
    }


def device_state(device):
    snap = device.snapshot()
    snap["visits"] = {k: _full_event("visit", v) for k, v in snap["visits"].items()}
    snap["flag_events"] = {k: _full_event("flag_event", v) for k, v in snap["flag_events"].items()}
    return snap


# --- the invariants --------------------------------------------------------------------------------
def _diff(device_part, server_part):
    lines = []
    for key in sorted(set(device_part) | set(server_part), key=str):
        mine, theirs = device_part.get(key), server_part.get(key)
        if mine == theirs:
            continue
        if isinstance(mine, dict) and isinstance(theirs, dict) and "stamps" in mine and "stamps" in theirs:
            # a record on both sides: name only the fields that differ
            names = sorted(n for n in set(mine["values"]) | set(mine["stamps"]) | set(theirs["stamps"])
                           if (mine["values"].get(n), mine["stamps"].get(n))
                           != (theirs["values"].get(n), theirs["stamps"].get(n)))
            for n in names:
                lines.append(f"  {key}.{n}: device {mine['values'].get(n)!r} @ {mine['stamps'].get(n)}, "
                             f"server {theirs['values'].get(n)!r} @ {theirs['stamps'].get(n)}")
        else:
            lines.append(f"  {key}:\n    device {mine}\n    server {theirs}")
    return lines


def check_replicas_equal_server(server, devices):
    """(a) and (d), device side."""
    problems = []
    for device in devices:
        mine, theirs = device_state(device), in_scope(server, device.grid_ids)
        for part in ("records", "visits", "flag_events", "flags"):
            diff = _diff(mine[part], theirs[part])
            if diff:
                problems.append(f"{device.device_id}: {part} differ from the server's:\n" + "\n".join(diff[:10]))
    assert not problems, "\n".join(problems)


def _refusal_expected(change, reason):
    # Permission on a flag is judged at the level the server holds when the event arrives; an
    # escalation that got there first moves the flag out of a community worker's reach.
    # the flag was moved elsewhere before this event arrived (another level, or already there)
    return change["entity"] == "flag_event" and (reason or {}).get("code") in ("not_allowed", "level_not_moved")


def check_resends_were_noops(server, devices):
    """(b)"""
    accepted = {}
    for device in devices:
        wrong = [(c, r) for c, r in device.rejected if not _refusal_expected(c, r)]
        assert not wrong, f"{device.device_id}: valid changes rejected: {wrong[:3]}"
        for change, _ in device.rejected:
            assert change["entity_id"] not in device.visits and change["entity_id"] not in device.flag_events
            assert change["change_id"] not in server["change_log"]
        assert device.outbox == [] and device.inflight is None
        accepted.update(device.accepted)
        for before, push in zip([None] + device.pushes, device.pushes):
            if push["kind"] not in ("resend", "duplicate"):
                continue
            assert before is not None and before["batch"] is push["batch"]
            for first, again in zip(before["results"], push["results"]):
                if first["status"] in ACCEPTED:
                    assert again["status"] == "already_applied", (
                        f"{device.device_id}: a {push['kind']} of a change the server had accepted was "
                        f"not a no-op: {first} then {again}")
    log = server["change_log"]
    assert len(log) == len(set(log)), "a change id is in the change log twice"
    assert sorted(log) == sorted(accepted), (
        f"change log holds {len(log)} changes, the devices were told {len(accepted)} were accepted; "
        f"missing from the log: {sorted(set(accepted) - set(log))[:5]}, "
        f"never acknowledged: {sorted(set(log) - set(accepted))[:5]}")
    return accepted


def check_no_accepted_write_lost(server, accepted):
    """(c) Every field of every accepted record change is still the value (its own stamp, or
    the same value), or kept as the losing value of a conflict, or was overwritten by a later
    write whose author had seen it (``base`` names its stamp). A write whose value a newer
    write repeated lives on in that newer write, and is accounted for as that write is: two
    writes of one value do not collide, so there is no losing value to keep."""
    lost_in_conflicts = {}
    for c in server["conflicts"]:
        lost_in_conflicts.setdefault((c["entity_id"], c["field"], c["lost_stamp"]), []).append(c["lost"])
    seen_by = {}     # (entity id, field, stamp) -> the later stamps written on top of it
    writes = {}      # (entity, entity id, field) -> [(stamp, value, change)]
    lost = []
    for ch in accepted.values():
        entity, eid = ch["entity"], ch["entity_id"]
        if entity == "visit":
            if eid not in server["visits"]:
                lost.append(f"visit {eid} (change {ch['change_id']}) is not on the server")
            continue
        if entity == "flag_event":
            if eid not in server["flag_events"]:
                lost.append(f"flag event {eid} (change {ch['change_id']}) is not on the server")
            continue
        if (entity, eid) not in server["records"]:
            lost.append(f"{entity} {eid} (change {ch['change_id']}) is not on the server")
            continue
        written = full_values(entity, ch["fields"])
        for name in ch["fields"]:
            writes.setdefault((entity, eid, name), []).append((ch["stamp"], written[name], ch))
            base = (ch.get("base") or {}).get(name)
            if base:
                seen_by.setdefault((eid, name, base), []).append(ch["stamp"])
    for (entity, eid, name), field_writes in writes.items():
        rec = server["records"][(entity, eid)]
        survived = set()          # values of newer writes already accounted for
        for stamp, value, ch in sorted(field_writes, key=lambda w: w[0], reverse=True):
            if rec["stamps"].get(name) == stamp and rec["values"][name] != value:
                lost.append(f"{entity} {eid}.{name}: stamp {stamp} is current but the value is "
                            f"{rec['values'][name]!r}, not the {value!r} written with it")
            elif not (rec["stamps"].get(name) == stamp or rec["values"][name] == value or value in survived
                      or value in lost_in_conflicts.get((eid, name, stamp), [])
                      or any(later > stamp for later in seen_by.get((eid, name, stamp), []))):
                lost.append(f"{entity} {eid}.{name} = {value!r} @ {stamp} (change {ch['change_id']}, "
                            f"device {node_of(stamp)}) is gone: now {rec['values'][name]!r} @ "
                            f"{rec['stamps'].get(name)}, no conflict keeps it, no later write saw it")
                continue
            survived.add(value)
    assert not lost, "accepted writes lost:\n" + "\n".join(lost[:10])


def check_flags_fold(server):
    """(d), server side."""
    wrong = {fid: (stored, server["folded"][fid]) for fid, stored in server["flags"].items()
             if stored != server["folded"][fid]}
    assert not wrong, f"flag state stored vs folded from its events: {wrong}"


def check_cursors(devices):
    for device in devices:
        seqs = [int(c.split(".")[1]) for c in device.cursors]
        epochs = {c.split(".")[0] for c in device.cursors}
        assert len(epochs) <= 1, f"{device.device_id}: cursors from several epochs {epochs}"
        assert seqs == sorted(seqs), f"{device.device_id}: cursor went back: {seqs}"
        assert device.resyncs == 0, f"{device.device_id}: asked to resync {device.resyncs} times"


def check_all(app, devices, fresh):
    server = server_state(app)
    check_flags_fold(server)
    accepted = check_resends_were_noops(server, devices)
    check_no_accepted_write_lost(server, accepted)
    check_replicas_equal_server(server, devices + [fresh])
    check_cursors(devices + [fresh])
    return server


# --- the scenario ----------------------------------------------------------------------------------
FAULTS = st.lists(st.sampled_from(["ok", "ok", "lost", "dup"]), max_size=4)


def run_scenario(app, data):
    with app.app_context():
        city = make_city()
    world = World()
    more = data.draw(st.permutations(MORE_DEVICES), label="more devices")
    n = data.draw(st.integers(2, 4), label="devices")
    # Mostly small skews; now and then a tablet whose clock is minutes off.
    skew = st.integers(-3000, 3000) | st.integers(-600_000, 600_000)
    skews = data.draw(st.lists(skew, min_size=n, max_size=n), label="clock skews (ms)")
    # Field values and which record to touch come from a seeded Random: evenly spread choices
    # (hypothesis' own draws lean towards the first option), replayed exactly from the seed.
    rng = random.Random(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    devices = []
    for (user, device_id), skew in zip((DEVICES + more)[:n], skews):
        staff_grids = [city[code] for code in STAFF_GRIDS[user]] if user in STAFF_GRIDS else None
        device = SimDevice(app.test_client(), user, device_id, wall=world.wall(skew), grid_ids=staff_grids)
        device.login()
        # The server lists grids by uuid; choices must not depend on the uuids drawn.
        device.grid_ids.sort(key=lambda g: [code for code, gid in city.items() if gid == g])
        devices.append(device)

    # Households everyone shares (G1), known to every device before it goes offline.
    for _ in range(data.draw(st.integers(1, 3), label="shared households")):
        devices[0].create_household(city["G1"], **random_household_fields(rng, creating=True))
    for device in devices:
        assert device.sync()

    for _ in range(data.draw(st.integers(5, 60), label="steps")):
        device = devices[data.draw(st.integers(0, n - 1), label="device")]
        op = data.draw(st.sampled_from(["edit"] * 6 + ["sync"] + ["tick"]), label="op")
        if op == "edit":
            note(f"{device.device_id}: {device.random_edit(rng)}")
        elif op == "sync":
            batch = data.draw(st.integers(1, 8), label="batch size")
            faults = data.draw(FAULTS, label="faults")
            limit = data.draw(st.sampled_from([1, 3, 1000]), label="pull limit")
            crash = data.draw(st.sampled_from([False, False, False, True]), label="crash after a page")
            done = device.sync(batch, faults, limit, crash)
            note(f"{device.device_id}: sync batch={batch} faults={faults} limit={limit} crash={crash} -> {done}")
        else:
            world.advance(data.draw(st.integers(0, 2000), label="ms"))

    order = data.draw(st.permutations(range(n)), label="final order")
    for _ in range(2):
        for i in order:
            assert devices[i].sync(), f"{devices[i].device_id}: the final sync did not complete"
    fresh = SimDevice(app.test_client(), "w12", "dev-w12-fresh", wall=world.wall())
    fresh.login()
    assert fresh.sync(pull_limit=data.draw(st.sampled_from([2, 1000]), label="fresh pull limit"))
    server = check_all(app, devices, fresh)
    _coverage_events(server, devices)
    return server


def _coverage_events(server, devices):
    """What the example exercised (pytest --hypothesis-show-statistics)."""
    kinds = {p["kind"] for d in devices for p in d.pushes}
    conflicts = len(server["conflicts"])
    event(f"conflict rows: {'none' if not conflicts else '1-4' if conflicts < 5 else '5 or more'}")
    event(f"conflicts lost_side: {sorted({c['lost_side'] for c in server['conflicts']})}")
    for kind in ("lost", "resend", "duplicate"):
        event(f"{kind} push: {kind in kinds}")
    events = list(server["flag_events"].values())
    event(f"flag events: {'none' if not events else '1-4' if len(events) < 5 else '5 or more'}")
    stale = any(fold_flag("red", "community", [e for e in events if e["flag_id"] == fid])["concurrent"]
                for fid in server["flags"])
    event(f"a flag transition made from a stale state: {stale}")
    event(f"tombstones: {any(r['values'].get('deleted') for r in server['records'].values())}")
    event(f"amended visits: {any(v['amends_id'] for v in server['visits'].values())}")
    event(f"flag events refused: {any(d.rejected for d in devices)}")
    event(f"devices: {sorted(d.device_id for d in devices)}")
    event(f"households in G2 too: {len({g for (e, _), g in server['grid'].items() if e == 'household'}) > 1}")


def in_fresh_app(kind, tmp_path, request, scenario, data):
    """One example: a fresh app on a fresh database (a copied SQLite file, or PostgreSQL
    truncated), the scenario, the checks."""
    app = build_app(kind, tmp_path, request)
    try:
        scenario(app, data)
    finally:
        _dispose(app)


def _property(kind, tmp_path, request, data):
    in_fresh_app(kind, tmp_path, request, run_scenario, data)


@_settings(SQLITE_EXAMPLES)
@given(data=st.data())
def test_devices_converge_and_nothing_accepted_is_lost_sqlite(tmp_path_factory, request, data):
    _property("sqlite", tmp_path_factory.mktemp("conv"), request, data)


@pytest.mark.postgres
@_settings(PG_EXAMPLES)
@given(data=st.data())
def test_devices_converge_and_nothing_accepted_is_lost_postgresql(tmp_path_factory, request, pg_url, data):
    _property("postgresql", tmp_path_factory.mktemp("conv"), request, data)


# --- named scenarios: small, deterministic cases of the same invariants ---------------------------
@pytest.fixture
def pair(app):
    """Two tablets of workers sharing G1, on a fixed simulated clock, and the city."""
    with app.app_context():
        city = make_city()
    world = World()
    a = SimDevice(app.test_client(), "w1", "dev-w1-a", wall=world.wall())
    b = SimDevice(app.test_client(), "w12", "dev-w12-a", wall=world.wall())
    a.login(), b.login()
    return app, city, world, a, b


def test_concurrent_edits_of_one_field_keep_one_winner_and_the_loser(pair):
    app, city, world, a, b = pair
    hid = a.create_household(city["G1"], address="和平路1号")
    a.sync(), b.sync()
    a.edit("household", hid, note="低保户")
    world.advance(5)
    b.edit("household", hid, note="独居老人", phone="13800138000")     # newer, made without seeing a's
    a.sync(), b.sync(), a.sync()
    server = server_state(app)
    rec = server["records"][("household", hid)]
    assert rec["values"]["note"] == "独居老人" and rec["values"]["phone"] == "13800138000"
    (c,) = server["conflicts"]
    assert (c["field"], c["lost"], c["kept"], c["lost_side"]) == ("note", "低保户", "独居老人", "current")
    fresh = SimDevice(app.test_client(), "w12", "dev-w12-fresh")
    fresh.login(), fresh.sync()
    check_all(app, [a, b], fresh)


def test_a_lost_answer_then_the_same_batch_again_changes_nothing(pair):
    app, city, world, a, b = pair
    hid = a.create_household(city["G1"], address="和平路1号")
    a.create_person(hid, name="王伟", id_number="11010519491231002X")
    assert a.sync(batch_size=10, faults=["lost"]) is False
    server = server_state(app)
    assert len(server["change_log"]) == 2 and a.inflight is not None and a.accepted == {}
    a.edit("household", hid, note="需复查")
    assert a.sync(batch_size=10, faults=["ok", "dup"])
    kinds = [(p["kind"], [r["status"] for r in p["results"]]) for p in a.pushes]
    assert kinds == [("lost", ["applied", "applied"]), ("resend", ["already_applied", "already_applied"]),
                     ("first", ["applied"]), ("duplicate", ["already_applied"])]
    b.sync()
    fresh = SimDevice(app.test_client(), "w12", "dev-w12-fresh")
    fresh.login(), fresh.sync(pull_limit=1)
    server = check_all(app, [a, b], fresh)
    assert len(server["change_log"]) == 3


def test_a_stale_flag_transition_cannot_undo_a_later_one(pair):
    """Community staff on two tablets: one rejects a confirmed flag offline; the other, later,
    starts and resolves it. The later transitions win everywhere, the stale one stays in the
    log; then the grid worker verifies it with a follow-up visit."""
    app, city, world, a, b = pair
    grids = [city["G1"], city["G2"]]
    c1 = SimDevice(app.test_client(), "comm1", "dev-comm1-a", wall=world.wall(), grid_ids=grids)
    c2 = SimDevice(app.test_client(), "comm1", "dev-comm1-b", wall=world.wall(), grid_ids=grids)
    c1.login(), c2.login()
    hid = a.create_household(city["G1"], address="和平路1号")
    fid = a.raise_flag(hid, colour="red")
    a.sync(), c1.sync()
    c1.flag_event(fid, "confirm")
    c1.sync(), c2.sync()
    world.advance(5)
    stale = c2.flag_event(fid, "reject")           # offline, on a "confirmed" view
    world.advance(5)
    c1.flag_event(fid, "start")
    c1.flag_event(fid, "resolve")
    c1.sync(), c2.sync(), c1.sync(), a.sync(), b.sync()
    views = {d.device_id: d.flag_view(fid)["state"] for d in (a, b, c1, c2)}
    assert set(views.values()) == {"resolved"}, views
    assert c2.flag_view(fid)["concurrent"] == [stale]
    server = server_state(app)
    assert server["flags"][fid][0] == "resolved" and stale in server["flag_events"]
    a.flag_event(fid, "verify", visit_id=a.record_visit(hid))
    a.sync(), c1.sync(), c2.sync(), b.sync()
    assert {d.flag_view(fid)["state"] for d in (a, b, c1, c2)} == {"verified"}
    fresh = SimDevice(app.test_client(), "w12", "dev-w12-fresh")
    fresh.login(), fresh.sync()
    check_all(app, [a, b, c1, c2], fresh)


def test_a_flag_event_refused_for_its_level_leaves_no_trace(pair):
    """Community staff confirm a flag offline while, on another tablet, it is escalated to the
    street: the escalation arrives first, so the confirm is refused (``not_allowed``); the
    refusing device takes it out of its replica, and every replica still equals the server."""
    app, city, world, a, b = pair
    grids = [city["G1"], city["G2"]]
    c1 = SimDevice(app.test_client(), "comm1", "dev-comm1-a", wall=world.wall(), grid_ids=grids)
    c2 = SimDevice(app.test_client(), "comm1", "dev-comm1-b", wall=world.wall(), grid_ids=grids)
    c1.login(), c2.login()
    hid = a.create_household(city["G1"], address="和平路1号")
    fid = a.raise_flag(hid, colour="yellow")
    a.sync(), c1.sync(), c2.sync()
    c2.flag_event(fid, "confirm")
    c1.flag_event(fid, "escalate", level="street")
    c1.sync(), c2.sync(), c1.sync(), a.sync(), b.sync()
    ((change, reason),) = c2.rejected
    assert change["fields"]["action"] == "confirm" and reason["code"] == "not_allowed"
    assert {d.flag_view(fid)["state"] for d in (a, b, c1, c2)} == {"reported"}
    assert {d.flag_view(fid)["level"] for d in (a, b, c1, c2)} == {"street"}
    fresh = SimDevice(app.test_client(), "w12", "dev-w12-fresh")
    fresh.login(), fresh.sync()
    check_all(app, [a, b, c1, c2], fresh)


def test_rewriting_a_value_a_field_already_has_keeps_its_newer_stamp(pair):
    """Two devices write the same value to a field; a third write, stamped between the two,
    arrives last. The field's winner is the newest write (the second, same value), so the
    in-between write must lose everywhere. The server has to remember the newer stamp even
    though the value did not change, or it later lets the older write win where every device
    keeps the newer one."""
    app, city, world, a, b = pair
    c = SimDevice(app.test_client(), "w1", "dev-w1-b", wall=world.wall())
    c.login()
    hid = a.create_household(city["G1"], address="和平路1号")
    a.sync(), b.sync(), c.sync()
    a.edit("household", hid, note="低保户")          # t1
    world.advance(5)
    c.edit("household", hid, note="需复查")          # t2, offline until the end
    world.advance(5)
    b.edit("household", hid, note="低保户")          # t3: same value as t1, newer stamp
    a.sync(), b.sync()
    c.sync(), a.sync(), b.sync(), c.sync()
    server = server_state(app)
    rec = server["records"][("household", hid)]
    for device in (a, b, c):
        mine = device.records[("household", hid)]
        assert mine["values"]["note"] == "低保户" and node_of(mine["stamps"]["note"]) == "dev-w12-a"
    assert (rec["values"]["note"], node_of(rec["stamps"]["note"])) == ("低保户", "dev-w12-a"), (
        f"server kept note={rec['values']['note']!r} @ {rec['stamps']['note']}; every device kept "
        f"'低保户' @ {b.records[('household', hid)]['stamps']['note']}")
    fresh = SimDevice(app.test_client(), "w12", "dev-w12-fresh")
    fresh.login(), fresh.sync()
    check_all(app, [a, b, c], fresh)


def test_a_newer_keep_beats_an_older_delete_on_the_server_too(pair):
    """One worker deletes a household offline; another, later, marks it as not deleted (it is
    still there) without having seen the delete. The newer write wins: the household is not
    deleted, on the devices and on the server alike."""
    app, city, world, a, b = pair
    hid = a.create_household(city["G1"], address="和平路1号")
    a.sync(), b.sync()
    b.delete("household", hid)                     # t1, offline
    world.advance(5)
    a.delete("household", hid, deleted=False)      # t2 > t1: "still lived in"
    a.sync(), b.sync(), a.sync()
    assert a.records[("household", hid)]["values"]["deleted"] is False
    assert b.records[("household", hid)]["values"]["deleted"] is False
    server = server_state(app)
    rec = server["records"][("household", hid)]
    assert rec["values"]["deleted"] is False, (
        f"the server holds the household as deleted (stamps {rec['stamps']}) while every device, "
        f"having merged the same two writes, holds it as not deleted")


def test_a_device_that_sees_its_own_change_again_is_unchanged(pair):
    app, city, world, a, b = pair
    hid = a.create_household(city["G1"], address="和平路1号", note="低保户")
    pid = a.create_person(hid, name="王伟", phone="13912345678")
    assert a.sync(pull_limit=1, crash_after_first_page=True) is False
    before = device_state(a)
    assert a.sync(pull_limit=1)
    assert device_state(a) == before
    assert a.ids("person", household_id=hid) == [pid]
    b.sync()
    fresh = SimDevice(app.test_client(), "w12", "dev-w12-fresh")
    fresh.login(), fresh.sync()
    check_all(app, [a, b], fresh)


def test_each_device_pulls_only_its_own_grids(pair):
    app, city, world, a, b = pair
    g2 = b.create_household(city["G2"], address="解放街3号")
    g1 = b.create_household(city["G1"], address="和平路1号")
    b.sync(), a.sync()
    assert a.ids("household") == [g1]
    assert sorted(b.ids("household")) == sorted([g1, g2])
    fresh = SimDevice(app.test_client(), "w12", "dev-w12-fresh")
    fresh.login(), fresh.sync()
    check_all(app, [a, b], fresh)


def test_the_invariant_checks_can_fail(pair):
    """The checks see a replica that differs, a lost write and a duplicated change."""
    app, city, world, a, b = pair
    hid = a.create_household(city["G1"], address="和平路1号", note="低保户")
    a.sync(), b.sync()
    b.records[("household", hid)]["values"]["note"] = "篡改"
    server = server_state(app)
    with pytest.raises(AssertionError, match="records differ"):
        check_replicas_equal_server(server, [b])
    (change,) = a.accepted.values()
    forged = dict(change, fields={"note": "从未保存"}, stamp=change["stamp"][:-len("dev-w1-a")] + "dev-zz")
    with pytest.raises(AssertionError, match="is gone"):
        check_no_accepted_write_lost(server, {**a.accepted, str(uuid.uuid4()): forged})
    server["change_log"].append(server["change_log"][0])
    with pytest.raises(AssertionError, match="twice"):
        check_resends_were_noops(server, [a])
