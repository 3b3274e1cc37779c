"""The server's side of the sync properties: everything it holds, in the shape of
``Tablet.replica()``, and the invariants every run must end with.

(a) every tablet's replica (values *and* per-field stamps, visits, flag events, flag views)
    equals the server's records in its grids, and so does a new tablet pulling from scratch;
(b) the change log holds each change the server accepted from a tablet exactly once, and a
    change re-sent after it was accepted came back ``already_applied``; a tablet's changes
    were refused only for what is never allowed (the ``allowed_refusals`` of the run);
(c) every accepted field write is still the current value, or is kept in a conflict row, or was
    overwritten by a later write whose author saw it, or its value lives on in a newer write;
(d) each flag's stored state, level and colour are those folded from its events.
"""
import datetime as dt
import json

from sqlalchemy import select

from sync.flags import fold_flag
from sync.merge import node_of
from tests.properties.tablets import ACCEPTED, full_values

RECORDS = ("household", "person", "flag")
SERVER_AUTHORS = frozenset({"server", "scheduler", "web"})


def _utc_text(value):
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def server_state(app):
    from server.extensions import db
    from server.models import ChangeLog, Conflict, Flag, FlagEvent, Visit
    from server.services.records import MODELS, row_values

    state = {"records": {}, "grid": {}, "visits": {}, "flag_events": {}, "flags": {}, "folded": {}}
    with app.app_context():
        for entity in RECORDS:
            for row in db.session.execute(select(MODELS[entity])).scalars():
                key = (entity, str(row.id))
                state["records"][key] = {"values": full_values(entity, row_values(entity, row)),
                                         "stamps": dict(row.stamps)}
                if entity == "flag":
                    state["grid"][key] = str(row.grid_id)
        for (entity, eid), rec in state["records"].items():
            if entity == "household":
                state["grid"][(entity, eid)] = rec["values"]["grid_id"]
            elif entity == "person":
                hid = rec["values"]["household_id"]
                state["grid"][(entity, eid)] = state["records"][("household", hid)]["values"]["grid_id"]
        for v in db.session.execute(select(Visit)).scalars():
            state["visits"][str(v.id)] = {
                "id": str(v.id), "stamp": v.stamp, "household_id": str(v.household_id),
                "visited_at": _utc_text(v.visited_at), "checklist_version": v.checklist_version,
                "checks": v.checks, "note": v.note, "amends_id": str(v.amends_id) if v.amends_id else None}
        events = {}
        for e in db.session.execute(select(FlagEvent)).scalars():
            ev = {"id": str(e.id), "stamp": e.stamp, "flag_id": str(e.flag_id), "action": e.action,
                  "from_state": e.from_state, "at_level": e.at_level, "level": e.level, "colour": e.colour,
                  "visit_id": str(e.visit_id) if e.visit_id else None, "note": e.note, "reason": e.reason,
                  "assignee_id": str(e.assignee_id) if e.assignee_id else None,
                  "department_id": str(e.department_id) if e.department_id else None}
            state["flag_events"][ev["id"]] = ev
            events.setdefault(ev["flag_id"], []).append(ev)
        for f in db.session.execute(select(Flag)).scalars():
            fid = str(f.id)
            state["flags"][fid] = (f.state, f.current_level, f.current_colour)
            view = fold_flag(f.colour, f.level, events.get(fid, []))
            state["folded"][fid] = (view["state"], view["level"], view["colour"])
            # the named holder is stored as folded too (none here unless a scenario assigns one)
            assert (str(f.holder_id) if f.holder_id else None) == view["holder"], fid
        vault = app.extensions["pii_vault"]
        state["conflicts"] = []
        for c in db.session.execute(select(Conflict)).scalars():
            values = vault.decrypt_json(c.values_enc)
            state["conflicts"].append({
                "entity": c.entity, "entity_id": str(c.entity_id), "field": c.field, "kept_stamp": c.kept_stamp,
                "lost_stamp": c.lost_stamp, "lost_side": c.lost_side, "kept": values["kept"],
                "lost": values["lost"], "change_id": str(c.change_id)})
        state["change_log"] = [(str(cid), device) for cid, device in db.session.execute(
            select(ChangeLog.change_id, ChangeLog.device_id).order_by(ChangeLog.seq))]
        # the server's own changes (merges, carry-overs, escalations), for what they saw
        state["server_changes"] = [json.loads(p) for p in db.session.execute(
            select(ChangeLog.payload).where(ChangeLog.device_id.in_(SERVER_AUTHORS))).scalars()]
    return state


def in_scope(server, grid_ids):
    """The server's state restricted to what a tablet holding ``grid_ids`` pulls."""
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


def _diff(mine_part, server_part):
    lines = []
    for key in sorted(set(mine_part) | set(server_part), key=str):
        mine, theirs = mine_part.get(key), server_part.get(key)
        if mine == theirs:
            continue
        if isinstance(mine, dict) and isinstance(theirs, dict) and "stamps" in mine and "stamps" in theirs:
            names = sorted(n for n in set(mine["values"]) | set(mine["stamps"]) | set(theirs["stamps"])
                           if (mine["values"].get(n), mine["stamps"].get(n))
                           != (theirs["values"].get(n), theirs["stamps"].get(n)))
            for n in names:
                lines.append(f"  {key}.{n}: tablet {mine['values'].get(n)!r} @ {mine['stamps'].get(n)}, "
                             f"server {theirs['values'].get(n)!r} @ {theirs['stamps'].get(n)}")
        else:
            lines.append(f"  {key}:\n    tablet {mine}\n    server {theirs}")
    return lines


def check_replicas_equal_server(server, tablets):
    """(a) and (d), tablet side."""
    problems = []
    for tablet in tablets:
        mine, theirs = tablet.replica(), in_scope(server, tablet.grid_ids)
        for part in ("records", "visits", "flag_events", "flags"):
            diff = _diff(mine[part], theirs[part])
            if diff:
                problems.append(f"{tablet.device_id}: {part} differ from the server's:\n" + "\n".join(diff[:10]))
    assert not problems, "\n".join(problems)


def check_log_and_refusals(server, tablets, allowed_refusals=lambda tablet, change, reason: False):
    """(b); returns every accepted change by id."""
    accepted = {}
    for tablet in tablets:
        assert tablet.client.pending_changes() == [], f"{tablet.device_id}: changes left unsent"
        for item in tablet.client.rejected_changes():
            change, reason = item["change"], item["reason"]
            assert allowed_refusals(tablet, change, reason), (
                f"{tablet.device_id}: a change refused for what the tablet could not know: {reason} {change}")
        seen = {}
        for push in tablet.link.pushes:
            for change, result in zip(push["changes"], push["results"]):
                first = seen.get(change["change_id"])
                if first is not None and first in ACCEPTED:
                    assert result["status"] == "already_applied", (
                        f"{tablet.device_id}: a re-sent change the server had accepted was not a no-op: "
                        f"{first} then {result}")
                seen.setdefault(change["change_id"], result["status"])
        accepted.update(tablet.accepted())
    log = [cid for cid, device in server["change_log"] if device not in SERVER_AUTHORS]
    assert len(log) == len(set(log)), "a change id is in the change log twice"
    assert sorted(log) == sorted(accepted), (
        f"change log holds {len(log)} tablet changes, the server accepted {len(accepted)}; "
        f"missing from the log: {sorted(set(accepted) - set(log))[:5]}, "
        f"never acknowledged: {sorted(set(log) - set(accepted))[:5]}")
    return accepted


def check_no_accepted_write_lost(server, accepted):
    """(c) The server's own changes (a merge marking the copy merged, moving its members) name
    what they replace as their base: they saw it, like a person who overwrites a value."""
    lost_in_conflicts = {}
    for c in server["conflicts"]:
        lost_in_conflicts.setdefault((c["entity_id"], c["field"], c["lost_stamp"]), []).append(c["lost"])
    seen_by, writes, lost = {}, {}, []
    for ch in server["server_changes"]:
        for name, base in (ch.get("base") or {}).items():
            if base:
                seen_by.setdefault((ch["entity_id"], name, base), []).append(ch["stamp"])
    for ch in accepted.values():
        entity, eid = ch["entity"], ch["entity_id"]
        if entity in ("visit", "flag_event"):
            if eid not in server["visits" if entity == "visit" else "flag_events"]:
                lost.append(f"{entity} {eid} (change {ch['change_id']}) is not on the server")
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
        survived = set()
        for stamp, value, ch in sorted(field_writes, key=lambda w: w[0], reverse=True):
            if rec["stamps"].get(name) == stamp and rec["values"][name] != value:
                lost.append(f"{entity} {eid}.{name}: stamp {stamp} is current but the value is "
                            f"{rec['values'][name]!r}, not the {value!r} written with it")
            elif not (rec["stamps"].get(name) == stamp or rec["values"][name] == value or value in survived
                      or value in lost_in_conflicts.get((eid, name, stamp), [])
                      or any(later > stamp for later in seen_by.get((eid, name, stamp), []))):
                lost.append(f"{entity} {eid}.{name} = {value!r} @ {stamp} (change {ch['change_id']}, "
                            f"tablet {node_of(stamp)}) is gone: now {rec['values'][name]!r} @ "
                            f"{rec['stamps'].get(name)}, no conflict keeps it, no later write saw it")
                continue
            survived.add(value)
    assert not lost, "accepted writes lost:\n" + "\n".join(lost[:10])


def check_flags_fold(server):
    """(d), server side."""
    wrong = {fid: (stored, server["folded"][fid]) for fid, stored in server["flags"].items()
             if stored != server["folded"][fid]}
    assert not wrong, f"flag state stored vs folded from its events: {wrong}"


def check_all(app, tablets, fresh, allowed_refusals=lambda tablet, change, reason: False):
    server = server_state(app)
    check_flags_fold(server)
    accepted = check_log_and_refusals(server, tablets, allowed_refusals)
    check_no_accepted_write_lost(server, accepted)
    check_replicas_equal_server(server, tablets + [fresh])
    return server
