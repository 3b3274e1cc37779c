"""Named stories of the same invariants as the properties, small and deterministic: real tablets
(the SDK) against the app, on SQLite and PostgreSQL."""
import uuid

import pytest

from server.services.linker import link_pending, merge_households
from sync.clock import wall_clock_ms
from sync.merge import node_of
from tests.properties.server import (check_all, check_log_and_refusals, check_no_accepted_write_lost,
                                     check_replicas_equal_server, server_state)
from tests.properties.tablets import Tablet, World

CHECKS_OK = {k: {"status": "ok"} for k in ("income", "food", "clothing", "children", "health", "housing")}


@pytest.fixture
def office(app, city):
    """The fixture city, a shared simulated clock, and a way to make logged-in tablets."""
    world = World(wall_clock_ms())
    made = []

    def tablet(user, device_id):
        t = Tablet(app, user, device_id, wall=world.wall())
        made.append(t)
        return t

    yield app, city, world, tablet
    for t in made:
        t.close()


def _fresh(tablet):
    fresh = tablet("w12", "dev-w12-fresh")
    assert fresh.sync()
    return fresh


def test_concurrent_edits_of_one_field_keep_one_winner_and_the_loser(office):
    app, city, world, tablet = office
    a, b = tablet("w1", "dev-w1-a"), tablet("w12", "dev-w12-a")
    hid = a.client.create_household(city["G1"], "和平路1号")
    a.sync(), b.sync()
    a.client.update_household(hid, note="低保户")
    world.advance(5)
    b.client.update_household(hid, note="独居老人", phone="13800138000")   # newer, made without seeing a's
    a.sync(), b.sync(), a.sync()
    server = server_state(app)
    rec = server["records"][("household", hid)]
    assert rec["values"]["note"] == "独居老人" and rec["values"]["phone"] == "13800138000"
    (c,) = server["conflicts"]
    assert (c["field"], c["lost"], c["kept"], c["lost_side"]) == ("note", "低保户", "独居老人", "current")
    check_all(app, [a, b], _fresh(tablet))


def test_a_lost_answer_then_the_same_batch_again_changes_nothing(office):
    app, city, world, tablet = office
    a, b = tablet("w1", "dev-w1-a"), tablet("w12", "dev-w12-a")
    hid = a.client.create_household(city["G1"], "和平路1号")
    a.client.add_person(hid, "王伟", id_number="11010519491231002X")
    assert a.sync(["lost"]) is False
    assert len(server_state(app)["change_log"]) == 2 and len(a.client.pending_changes()) == 2
    a.client.update_household(hid, note="需复查")
    assert a.sync(["dup"])
    statuses = [[r["status"] for r in p["results"]] for p in a.link.pushes]
    assert statuses == [["applied", "applied"], ["already_applied", "already_applied", "applied"],
                        ["already_applied", "already_applied", "already_applied"]]
    b.sync()
    server = check_all(app, [a, b], _fresh(tablet))
    assert len(server["change_log"]) == 3


def test_a_stale_flag_transition_cannot_undo_a_later_one(office):
    """Community staff on two tablets: one rejects a confirmed flag offline; the other, later,
    starts and resolves it. The later transitions win everywhere, the stale one stays in the
    log marked concurrent; then the grid worker verifies it with a follow-up visit."""
    app, city, world, tablet = office
    a, b = tablet("w1", "dev-w1-a"), tablet("w12", "dev-w12-a")
    c1, c2 = tablet("comm1", "dev-comm1-a"), tablet("comm1", "dev-comm1-b")
    hid = a.client.create_household(city["G1"], "和平路1号")
    fid = a.client.raise_flag(hid, "困境儿童", "red")
    a.sync(), c1.sync()
    c1.client.move_flag(fid, "confirm")
    c1.sync(), c2.sync()
    world.advance(5)
    stale = c2.client.move_flag(fid, "reject")          # offline, on a "confirmed" view
    world.advance(5)
    c1.client.move_flag(fid, "start")
    c1.client.move_flag(fid, "resolve")
    c1.sync(), c2.sync(), c1.sync(), a.sync(), b.sync()
    assert {t.client.flag(fid)["state"] for t in (a, b, c1, c2)} == {"resolved"}
    assert c2.client.flag(fid)["concurrent"] == [stale]
    a.client.move_flag(fid, "verify", visit_id=a.client.record_visit(hid, CHECKS_OK))
    a.sync(), c1.sync(), c2.sync(), b.sync()
    assert {t.client.flag(fid)["state"] for t in (a, b, c1, c2)} == {"verified"}
    check_all(app, [a, b, c1, c2], _fresh(tablet))


def test_a_transition_made_before_an_escalation_was_heard_of_is_kept(office):
    """Community staff confirm a flag offline while the scheduler escalates it to the street.
    The confirm was made in good faith at the level the tablet saw: it is accepted, folded by
    its stamp (the flag is confirmed, at street level) and shown as concurrent; every replica
    ends equal to the server, and nothing is refused."""
    import datetime as dt

    from server.jobs import escalate_overdue
    app, city, world, tablet = office
    a, c = tablet("w1", "dev-w1-a"), tablet("comm1", "dev-comm1-a")
    hid = a.client.create_household(city["G1"], "和平路1号")
    fid = a.client.raise_flag(hid, "困境儿童", "red")
    a.sync(), c.sync()
    world.advance(5)
    confirm = c.client.move_flag(fid, "confirm")               # offline
    assert escalate_overdue(app, now=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)) == 1
    assert c.sync() and a.sync()
    assert c.client.rejected_changes() == []
    for t in (a, c):
        view = t.client.flag(fid)
        assert (view["state"], view["level"]) == ("confirmed", "street")
        assert view["concurrent"] == [confirm]
    check_all(app, [a, c], _fresh(tablet))


def test_rewriting_a_value_a_field_already_has_keeps_its_newer_stamp(office):
    app, city, world, tablet = office
    a, b, c = tablet("w1", "dev-w1-a"), tablet("w12", "dev-w12-a"), tablet("w1", "dev-w1-b")
    hid = a.client.create_household(city["G1"], "和平路1号")
    a.sync(), b.sync(), c.sync()
    a.client.update_household(hid, note="低保户")          # t1
    world.advance(5)
    c.client.update_household(hid, note="需复查")          # t2, offline until the end
    world.advance(5)
    b.client.update_household(hid, note="低保户")          # t3: same value as t1, newer stamp
    a.sync(), b.sync()
    c.sync(), a.sync(), b.sync(), c.sync()
    rec = server_state(app)["records"][("household", hid)]
    assert (rec["values"]["note"], node_of(rec["stamps"]["note"])) == ("低保户", "dev-w12-a")
    check_all(app, [a, b, c], _fresh(tablet))


def test_a_newer_keep_beats_an_older_delete(office):
    app, city, world, tablet = office
    a, b = tablet("w1", "dev-w1-a"), tablet("w12", "dev-w12-a")
    hid = a.client.create_household(city["G1"], "和平路1号")
    a.sync(), b.sync()
    b.client.delete_household(hid)                          # t1, offline
    world.advance(5)
    a.client.update_household(hid, deleted=False)           # t2 > t1: "still lived in"
    a.sync(), b.sync(), a.sync()
    assert server_state(app)["records"][("household", hid)]["values"]["deleted"] is False
    check_all(app, [a, b], _fresh(tablet))


def test_each_tablet_pulls_only_its_own_grids(office):
    app, city, world, tablet = office
    a, b = tablet("w1", "dev-w1-a"), tablet("w12", "dev-w12-a")
    g2 = b.client.create_household(city["G2"], "解放街3号")
    g1 = b.client.create_household(city["G1"], "和平路1号")
    b.sync(), a.sync()
    assert a.ids("household") == [g1] and sorted(b.ids("household")) == sorted([g1, g2])
    check_all(app, [a, b], _fresh(tablet))


# --- offline work on what changed meanwhile (merged, moved) -----------------------------------------
def _family_twice(city, a, b):
    ha = a.client.create_household(city["G1"], "和平路12号", building="3栋", room="301")
    pa = a.client.add_person(ha, "王伟", id_number="11010519491231002X", relation="head")
    a.sync()
    hb = b.client.create_household(city["G1"], "和平路12号", building="3栋", room="301")
    pb = b.client.add_person(hb, "王伟", id_number="11010519491231002X", relation="head")
    b.sync()
    return ha, pa, hb, pb


def test_a_red_flag_raised_on_a_household_merged_away_meanwhile_reaches_the_community(office, client, auth):
    """The linker merges B's copy of a family into A's while B, offline, raises a red flag on
    its copy naming the person (whom the merge moved): the flag is accepted as sent, and the
    community's queue has it."""
    app, city, world, tablet = office
    a, b = tablet("w1", "dev-w1-a"), tablet("w12", "dev-w12-a")
    ha, pa, hb, pb = _family_twice(city, a, b)
    world.advance(5)
    fid = b.client.raise_flag(hb, "事实无人抚养儿童", "red", person_id=pb)     # offline, on its copy
    with app.app_context():
        assert link_pending()["merged"] >= 1
    assert b.sync() and a.sync()
    assert b.client.rejected_changes() == []
    queue = client.get("/api/v1/flags/queue", headers=auth.headers("comm1")).get_json()
    assert fid in [f["id"] for f in queue]
    check_all(app, [a, b], _fresh(tablet))


def test_a_flag_on_a_person_moved_meanwhile_is_accepted(office):
    app, city, world, tablet = office
    a, b = tablet("w1", "dev-w1-a"), tablet("w12", "dev-w12-a")
    h1 = a.client.create_household(city["G1"], "和平路1号")
    h2 = a.client.create_household(city["G1"], "和平路2号")
    pid = a.client.add_person(h1, "王小明", relation="child")
    a.sync(), b.sync()
    a.client.update_person(pid, household_id=h2)              # the child moves in with relatives
    a.sync()
    world.advance(5)
    b.client.raise_flag(h1, "困境儿童", "yellow", person_id=pid)   # offline, the old household
    assert b.sync() and a.sync()
    assert b.client.rejected_changes() == []
    check_all(app, [a, b], _fresh(tablet))


def test_an_edit_carried_from_a_merged_copy_keeps_its_stamp(office):
    """C (offline) edits the duplicate's note; A later edits the survivor's note and syncs
    first; when C syncs, the server carries C's older value over with C's own stamp: A's newer
    value stays, C's is kept as a conflict. The order of arrival decides nothing."""
    app, city, world, tablet = office
    a, c = tablet("w1", "dev-w1-a"), tablet("w12", "dev-w12-a")
    ha, _, hc, _ = _family_twice(city, a, c)
    with app.app_context():
        link_pending()
        survivor = ha if server_state(app)["records"][("household", hc)]["values"]["merged_into"] == ha else hc
    copy = hc if survivor == ha else ha
    editor_of_copy, editor_of_survivor = (c, a) if copy == hc else (a, c)
    editor_of_survivor.sync()
    editor_of_copy.client.update_household(copy, note="独居")            # older, offline
    world.advance(5)
    editor_of_survivor.client.update_household(survivor, note="低保户")  # newer
    editor_of_survivor.sync()
    editor_of_copy.sync(), editor_of_survivor.sync()
    server = server_state(app)
    assert server["records"][("household", survivor)]["values"]["note"] == "低保户"
    assert [(c_["field"], c_["lost"]) for c_ in server["conflicts"] if c_["entity_id"] == survivor] == \
        [("note", "独居")]
    check_all(app, [a, c], _fresh(tablet))


# --- refusals are undone on the tablet ------------------------------------------------------------
def test_a_refused_household_is_undone_with_everything_that_hangs_on_it(office):
    """w12 loses grid G2 while, offline, it registers a family there with a member, a visit
    and a red flag with an event. The server refuses the household (``out_of_scope``); the
    tablet takes it out with all four that hang on it, keeps them in one refusal group for the
    worker to see, and ends equal to the server."""
    app, city, world, tablet = office
    w = tablet("w12", "dev-w12-a")
    kept = w.client.create_household(city["G1"], "和平路1号")
    w.sync()
    hid = w.client.create_household(city["G2"], "解放街3号")
    pid = w.client.add_person(hid, "王小明")
    w.client.record_visit(hid, CHECKS_OK)
    fid = w.client.raise_flag(hid, "困境儿童", "red", person_id=pid)
    w.client.move_flag(fid, "note", note="已联系村委会")
    w.client.update_household(kept, note="低保户")              # unrelated: goes through
    _assign(app, city, "w12", ["G1"])
    assert w.sync()
    refused = w.client.rejected_changes()
    assert [r["reason"]["code"] for r in refused] == ["out_of_scope"] + ["depends_on_refused"] * 4
    assert {r["group"] for r in refused} == {refused[0]["change"]["change_id"]}
    assert [h["id"] for h in w.client.households()] == [kept]
    assert w.client.household(kept)["note"] == "低保户"
    assert w.client.flags() == [] and w.client.pending_changes() == []
    server = server_state(app)
    check_replicas_equal_server(server, [w])
    check_no_accepted_write_lost(server, check_log_and_refusals(
        server, [w], lambda t, ch, r: r["code"] in ("out_of_scope", "depends_on_refused")))


def test_a_refused_edit_is_rebased_on_what_the_server_holds(office):
    """An edit to a record that stays on the server is refused: the tablet rebuilds the record
    from the server's copy plus its other unsent edits, and a newer pulled value is not lost."""
    app, city, world, tablet = office
    w, other = tablet("w12", "dev-w12-a"), tablet("w2", "dev-w2-a")
    hid = w.client.create_household(city["G2"], "解放街3号", note="旧")
    w.sync(), other.sync()
    w.client.update_household(hid, note="新", phone="13800138000")      # offline
    world.advance(5)
    other.client.update_household(hid, head_name="赵一")                  # the grid's own worker
    other.sync()
    _assign(app, city, "w12", ["G1"])
    assert w.sync()
    assert [r["reason"]["code"] for r in w.client.rejected_changes()] == ["out_of_scope"]
    assert w.client.household(hid) is None                                 # pruned with the grid
    _assign(app, city, "w12", ["G1", "G2"])
    assert w.sync()
    held = w.client.household(hid)
    assert (held["note"], held.get("phone"), held["head_name"]) == ("旧", None, "赵一")
    check_replicas_equal_server(server_state(app), [w, other])


def _assign(app, city, username, codes):
    from sqlalchemy import delete, select

    from server.extensions import db
    from server.models import Worker, WorkerGrid
    with app.app_context():
        worker = db.session.execute(select(Worker).where(Worker.username == username)).scalar_one()
        db.session.execute(delete(WorkerGrid).where(WorkerGrid.worker_id == worker.id))
        for code in codes:
            db.session.add(WorkerGrid(worker_id=worker.id, grid_id=uuid.UUID(city[code])))
        db.session.commit()


def test_the_invariant_checks_can_fail(office):
    """The checks see a replica that differs, a lost write and a duplicated change."""
    app, city, world, tablet = office
    a, b = tablet("w1", "dev-w1-a"), tablet("w12", "dev-w12-a")
    hid = a.client.create_household(city["G1"], "和平路1号", note="低保户")
    a.sync(), b.sync()
    store = b.client._store
    values, stamps, grid = store.load_records("household", [hid])[hid]
    with store.transaction():
        store.put_records("household", [(hid, dict(values, note="篡改"), stamps, grid)])
    server = server_state(app)
    with pytest.raises(AssertionError, match="records differ"):
        check_replicas_equal_server(server, [b])
    (change,) = a.accepted().values()
    forged = dict(change, fields={"note": "从未保存"}, stamp=change["stamp"][:-len("dev-w1-a")] + "dev-zz")
    with pytest.raises(AssertionError, match="is gone"):
        check_no_accepted_write_lost(server, {**a.accepted(), str(uuid.uuid4()): forged})
    server["change_log"].append(server["change_log"][0])
    with pytest.raises(AssertionError, match="twice"):
        check_log_and_refusals(server, [a])


def test_merging_two_households_by_hand_keeps_both_tablets_equal(office):
    app, city, world, tablet = office
    a, b = tablet("w1", "dev-w1-a"), tablet("w12", "dev-w12-a")
    ha, _, hb, _ = _family_twice(city, a, b)
    with app.app_context():
        from server.extensions import db
        merge_households(uuid.UUID(ha), uuid.UUID(hb), 1.0, ["address=exact"])
        db.session.commit()
    a.sync(), b.sync()
    check_all(app, [a, b], _fresh(tablet))


def test_visits_and_flags_of_a_merged_copy_are_the_survivors(office, client, auth):
    """After a merge, what was recorded on the duplicate (a visit, a red flag) shows on the
    surviving household, on the tablets and in the REST views (the household's visits and
    flags, the due list)."""
    app, city, world, tablet = office
    a, b = tablet("w1", "dev-w1-a"), tablet("w12", "dev-w12-a")
    ha, _, hb, _ = _family_twice(city, a, b)
    vid = b.client.record_visit(hb, CHECKS_OK)
    fid = b.client.raise_flag(hb, "困境儿童", "red")
    b.sync()
    with app.app_context():
        link_pending()
    a.sync(), b.sync()
    server = server_state(app)
    survivor, copy = (ha, hb) if server["records"][("household", hb)]["values"]["merged_into"] == ha else (hb, ha)
    h = auth.headers("w1")
    for t in (a, b):
        assert vid in [v["id"] for v in t.client.visits(survivor)]
        assert fid in [f["id"] for f in t.client.flags(household_id=survivor)]
        assert {d["household_id"] for d in t.client.due_visits() if d["flag_id"] == fid} == {survivor}
    assert vid in [v["id"] for v in client.get(f"/api/v1/visits?household_id={survivor}", headers=h).get_json()]
    assert fid in [f["id"] for f in client.get(f"/api/v1/flags?household_id={survivor}", headers=h).get_json()]
    due = client.get("/api/v1/visits/due", headers=h).get_json()
    assert [d["household_id"] for d in due if d["flag_id"] == fid] == [survivor]


def _move(app, username, hid, grid):
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": username, "password": "pw-" + username,
                                                     "device_id": f"web-{username}"}).json["token"]
    return client.post(f"/api/v1/households/{hid}/move", headers={"Authorization": "Bearer " + token},
                       json={"grid_id": grid})


def test_a_family_moves_to_another_grid_with_its_history(office):
    """A family moves from G1 to G2: G2's tablet receives the household with its members,
    visits and flag history; G1's tablet lets it go, and an edit it made offline meanwhile is
    refused as outside its grids and undone; a tablet holding both grids keeps it; a new tablet
    of G2 bootstraps it; a tablet of G1 set up after the move never keeps it."""
    app, city, world, tablet = office
    a, b, both = tablet("w1", "dev-w1-a"), tablet("w2", "dev-w2-a"), tablet("w12", "dev-w12-a")
    assert a.sync()
    hid = a.client.create_household(city["G1"], "和平路1号", head_name="李梅")
    pid = a.client.add_person(hid, "李小明", id_number="11010519491231002X")
    world.advance(5)
    fid = a.client.raise_flag(hid, "事实无人抚养儿童", "red", person_id=pid, note="独自在家")
    a.client.record_visit(hid, CHECKS_OK)
    world.advance(5)
    a.client.update_household(hid, note="复查")
    assert a.sync() and b.sync() and both.sync()
    assert a.ids("household") == [hid] and b.ids("household") == []
    world.advance(5)
    a.client.update_household(hid, note="离线改的")            # made before a hears of the move

    assert _move(app, "w1", hid, city["G2"]).status_code == 404    # w1 may not write G2
    moved = _move(app, "comm1", hid, city["G2"])
    assert moved.status_code == 200 and moved.json["grid_id"] == city["G2"]
    assert _move(app, "comm1", hid, city["G2"]).json["code"] == "same_grid"

    assert a.sync() and b.sync() and both.sync()
    assert b.ids("household") == [hid] and b.ids("person") == [pid] and b.ids("flag") == [fid]
    assert a.ids("household") == [] and a.ids("person") == [] and a.ids("flag") == []
    assert both.ids("household") == [hid]
    (refused,) = a.client.rejected_changes()
    assert refused["change"]["entity_id"] == hid and refused["reason"]["code"] == "out_of_scope"

    b.client.update_household(hid, note="已迁入")
    assert b.sync() and both.sync()
    late_g1 = tablet("w1", "dev-w1-late")
    assert late_g1.sync() and late_g1.ids("household") == []
    server = check_all(app, [a, b, both, late_g1], _fresh(tablet),
                       allowed_refusals=lambda t, change, reason: t is a and reason["code"] == "out_of_scope")
    assert server["records"][("household", hid)]["values"]["note"] == "已迁入"
    fresh_g2 = tablet("w2", "dev-w2-fresh")
    assert fresh_g2.sync()
    check_replicas_equal_server(server, [fresh_g2])
    assert len(fresh_g2.replica()["visits"]) == len(b.replica()["visits"]) == 1
