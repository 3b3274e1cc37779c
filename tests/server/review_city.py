"""The fixture city's records for the review tests, entered through the sync API on a fake
clock, with every figure the tests expect worked out by hand in the comments below.

"Now" is T0 = Wednesday 2026-11-18 04:00 UTC (12:00 local, UTC+8).

Households (6 live): G1 h1, h2, (h3 deleted); G2 h4; G3 h5, h6; G4 h7 (entered by the system:
no worker holds G4).  Persons (9 live): h1 2 (+1 deleted), h2 1, h4 3, h5 1, h7 2.
Visits:  h1 by w1 at T0-2d (local Mon 11-16) and T0-40d;  h2 by w12 at T0-60d;
         h4 by w2 at T0-10d;  h4 by w12 at 2026-11-15 17:30 UTC = local Mon 11-16 01:30 (week W47,
         though the UTC day is Sunday of W46);  h5 by w3 at T0-100d.
Flags:   f1 red 困境儿童 on h1 (G1), raised T0-3d+1h, never acted on: overdue at community.
         f2 yellow 因病致贫 on h4 (G2), raised T0-1d: open, not overdue.
         f3 red 困境儿童 on h5 (G3), raised T0-5d; the escalation job at T0-3d moves it to the
            street, whose 24 h run out at T0-2d: open, overdue, escalated.
         f4 green 独居老人 on h2 (G1), raised T0-10d, closed T0-10d+30h (30 hours).
         f5 yellow 因病致贫 on h1 (G1), raised T0-20d, closed T0-20d+50h (50 hours).
         f6 red 困境儿童 on h4 (G2), raised T0-6d, rejected 2 hours later.
         f7 green 独居老人 on h2 (G1), raised T0-200d, closed 10 hours later (outside 90 days).
"""
import datetime as dt
import uuid

from server.extensions import db
from server.jobs import escalate_overdue
from server.services.server_changes import apply_as_server, server_change
from tests.server.test_casework_api import checks, change, pushed, use_clock

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 11, 18, 4, 0, tzinfo=UTC)
D = dt.timedelta(days=1)
H = dt.timedelta(hours=1)


def _ok(results):
    for r in results:
        assert r["status"] == "applied", r
    return results


def _iso(t):
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def build(app, client, auth, city):
    clock = use_clock(app, T0 - 300 * D)
    ids = {}

    def hh(key, grid, who, members=0, dead_members=0):
        hid = ids[key] = str(uuid.uuid4())
        out = [change("household", hid, {"grid_id": city[grid], "address": f"和平路{len(ids)}号",
                                         "head_name": f"王{key}伟"}, "")]
        for i in range(members + dead_members):
            out.append(change("person", uuid.uuid4(), {"household_id": hid, "name": f"王{key}{i}",
                                                       "birth_date": "1970-01-01", "deleted": i >= members,
                                                       "id_number": "11010519491231002X" if i == 0 else None}, ""))
        _ok(pushed(client, auth, who, out))

    hh("h1", "G1", "w1", members=2, dead_members=1)
    hh("h2", "G1", "w1", members=1)
    hh("h3", "G1", "w1")
    _ok(pushed(client, auth, "w1", [change("household", ids["h3"], {"deleted": True}, "")]))
    hh("h4", "G2", "w2", members=3)
    hh("h5", "G3", "w3", members=1)
    hh("h6", "G3", "w3")
    # G4 has no worker: its household comes in as the server's own change.
    hid = ids["h7"] = str(uuid.uuid4())
    with app.app_context():
        out = apply_as_server([server_change(e, eid, f) for e, eid, f in [
            ("household", hid, {"grid_id": city["G4"], "address": "四网格1号"}),
            ("person", uuid.uuid4(), {"household_id": hid, "name": "赵一"}),
            ("person", uuid.uuid4(), {"household_id": hid, "name": "赵二"})]])
        db.session.commit()
        assert all(r["status"] == "applied" for r in out.results), out.results

    def visit(key, who, at):
        vid = str(uuid.uuid4())
        _ok(pushed(client, auth, who, [change("visit", vid, {"household_id": ids[key], "visited_at": _iso(at),
                                                             "checklist_version": 1, "checks": checks()}, "")]))
        return vid

    visit("h1", "w1", T0 - 2 * D)
    v_h1 = visit("h1", "w1", T0 - 40 * D)
    v_h2 = visit("h2", "w12", T0 - 60 * D)
    visit("h4", "w2", T0 - 10 * D)
    visit("h4", "w12", dt.datetime(2026, 11, 15, 17, 30, tzinfo=UTC))
    visit("h5", "w3", T0 - 100 * D)

    def flag(key, hkey, colour, category, at, who):
        clock.now = at
        fid = ids[key] = str(uuid.uuid4())
        _ok(pushed(client, auth, who, [change("flag", fid, {"household_id": ids[hkey], "category": category,
                                                            "colour": colour}, "")]))
        return fid

    def act(fkey, who, action, frm, at, **kw):
        clock.now = at
        fields = {"flag_id": ids[fkey], "action": action, "from_state": frm, **kw}
        _ok(pushed(client, auth, who, [change("flag_event", uuid.uuid4(), fields, "")]))

    def close(fkey, who, at, visit_id):
        act(fkey, "comm1", "confirm", "reported", at)
        act(fkey, "comm1", "start", "confirmed", at)
        act(fkey, "comm1", "resolve", "in_progress", at)
        act(fkey, who, "verify", "resolved", at, visit_id=visit_id)
        act(fkey, "comm1", "close", "verified", at)

    flag("f7", "h2", "green", "独居老人", T0 - 200 * D, "w1")
    close("f7", "w1", T0 - 200 * D + 10 * H, v_h2)
    flag("f5", "h1", "yellow", "因病致贫", T0 - 20 * D, "w1")
    close("f5", "w1", T0 - 20 * D + 50 * H, v_h1)
    flag("f4", "h2", "green", "独居老人", T0 - 10 * D, "w1")
    close("f4", "w12", T0 - 10 * D + 30 * H, v_h2)
    flag("f6", "h4", "red", "困境儿童", T0 - 6 * D, "w2")
    act("f6", "comm1", "reject", "reported", T0 - 6 * D + 2 * H, note="not in difficulty")
    flag("f3", "h5", "red", "困境儿童", T0 - 5 * D, "w3")
    assert escalate_overdue(app, now=T0 - 3 * D) == 1
    flag("f1", "h1", "red", "困境儿童", T0 - 3 * D + H, "w1")
    flag("f2", "h4", "yellow", "因病致贫", T0 - 1 * D, "w2")
    clock.now = T0
    return ids


def build_and_refresh(app, client, auth, city):
    """The records above, with the review's roll-ups built as of T0; returns their ids."""
    from server.services import review
    ids = build(app, client, auth, city)
    with app.app_context():
        review.refresh(T0)
    return ids
