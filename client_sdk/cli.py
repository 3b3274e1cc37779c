"""``fieldsync``: a field device on the command line, for trying the SDK and for demos.

``fieldsync --store tablet.db --server http://127.0.0.1:5000 login worker1`` and then add
households, persons, visits and flags offline, list them, and ``sync`` with a progress bar.
Ids may be shortened to any unique prefix (as git does), since nobody types a UUID at a door.
The store is encrypted (docs/security.md §11). Its secret comes, in this order, from the
environment variable named by ``--passphrase-env`` (``FIELDSYNC_PASSPHRASE``), from the OS keyring
where the optional ``keyring`` package finds one (a random key kept there under the store's
path), or from a passphrase asked for on the terminal (twice when the store is new, as at the
first login); never from the command line, which other users can read. ``--plaintext`` is the
explicit opt-out.
"""
import argparse
import datetime as dt
import getpass
import json
import os
import sys
import unicodedata

from sync import inputs, messages
from sync.checklist import CHECK_KEYS, STATUSES
from sync.clock import stamp_wall_ms
from sync.entities import GENDERS, RELATIONS
from sync.flags import ACTIONS, COLOURS, LEVELS

from . import i18n
from .client import FieldClient
from .errors import AuthRequired, InvalidInput, ServerUnavailable, StoreLocked, SyncClientError
from .i18n import N_, _, ngettext

EXIT_ERROR, EXIT_AUTH, EXIT_NETWORK = 1, 3, 4


_KEYRING_SERVICE = "fieldsync"


def _keyring():
    """The keyring module if it has a real backend here (not the one that always fails), or None;
    ``FIELDSYNC_KEYRING=off`` leaves it out."""
    if os.environ.get("FIELDSYNC_KEYRING", "on") == "off":
        return None
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    try:
        if isinstance(keyring.get_keyring(), fail.Keyring):
            return None
    except Exception:           # a broken keyring configuration: behave as if there were none
        return None
    return keyring


def store_secret(args, stdin=None):
    """``FieldClient`` keyword arguments for the store's encryption (see the module docstring)."""
    if args.plaintext:
        return {"plaintext": True}
    passphrase = os.environ.get(args.passphrase_env)
    if passphrase:
        return {"passphrase": passphrase}
    new = args.store == ":memory:" or not os.path.exists(args.store)
    ring = _keyring()
    if ring is not None:
        name = os.path.abspath(args.store)
        held = ring.get_password(_KEYRING_SERVICE, name)
        if held:
            return {"key": bytes.fromhex(held)}
        if new:
            key = os.urandom(32)
            ring.set_password(_KEYRING_SERVICE, name, key.hex())
            return {"key": key}
    stdin = stdin or sys.stdin
    if not stdin.isatty():
        raise StoreLocked(f"the store is encrypted: set ${args.passphrase_env} to its passphrase (or use "
                          "--plaintext to keep a store in the clear)", code="store_needs_passphrase",
                          params={"var": args.passphrase_env})
    passphrase = getpass.getpass(_("passphrase for the local store: "))
    if new and getpass.getpass(_("again: ")) != passphrase:
        raise StoreLocked("the two passphrases differ", code="passphrases_differ")
    if not passphrase:
        raise StoreLocked("an empty passphrase does not protect anything", code="empty_passphrase")
    return {"passphrase": passphrase}


def _short(value):
    return str(value)[:8]


def _resolve(prefix, ids, what):
    """The one id starting with ``prefix``."""
    found = [i for i in ids if i.startswith(prefix.lower())]
    if len(found) != 1:
        what_name = messages.field_name(what, _)
        if not found:
            said = _("no %(what)s matches %(prefix)r: give more of the id") % {"what": what_name, "prefix": prefix}
        else:
            said = _("%(n)d of %(what)s match %(prefix)r: give more of the id") % {
                "n": len(found), "what": what_name, "prefix": prefix}
        raise InvalidInput(said, field=what, code="ambiguous_id")
    return found[0]


def _household(client, prefix):
    return _resolve(prefix, [h["id"] for h in client.households(include_deleted=True)], "household")


def _grids(client):
    """The grids held, as ``{id, code, name}`` (a server that sent only ids: the ids)."""
    worker = client.worker or {}
    named = worker.get("grids") or []
    return named or [{"id": str(g), "code": "", "name": ""} for g in worker.get("grid_ids") or []]


def _grid(client, prefix):
    grids = _grids(client)
    if prefix is None:
        if len(grids) != 1:
            raise InvalidInput(_("you hold %(n)d grids: choose one with --grid (%(codes)s)") % {
                "n": len(grids), "codes": ", ".join(g["code"] or _short(g["id"]) for g in grids)},
                field="grid", code="grid_needed")
        return grids[0]["id"]
    by_code = [g["id"] for g in grids if g["code"] and g["code"].lower() == prefix.lower()]
    if by_code:
        return by_code[0]
    return _resolve(prefix, [g["id"] for g in grids], "grid") if grids else prefix


def _progress(stream):
    state = {"phase": None}

    def report(phase, done, total):
        if state["phase"] not in (None, phase):
            stream.write("\n")
        state["phase"] = phase
        label = {"push": _("push"), "pull": _("pull"), "prune": _("prune")}.get(phase, phase)
        if phase == "prune":
            stream.write("\r" + _("%(phase)s %(n)d records of grids no longer held removed") % {
                "phase": label, "n": done})
        elif total:
            filled = int(30 * done / total)
            stream.write(f"\r{label:<6} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}")
        elif total == 0:
            stream.write(f"\r{label:<6} " + _("nothing to send"))
        else:
            stream.write(f"\r{label:<6} " + _("%(n)d changes") % {"n": done})
        stream.flush()

    report.finish = lambda: state["phase"] and stream.write("\n")
    return report


def _pad(text, width):
    """``text`` left-aligned in ``width`` columns, a Chinese character taking two."""
    wide = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(width - wide, 0)


def _colour(code, width=0):
    return _pad(i18n.name(messages.COLOURS, code), width)


def _state(code, width=0):
    return _pad(i18n.name(messages.STATES, code), width)


def _level(code, width=0):
    return _pad(i18n.name(messages.LEVELS, code), width)


def _check(key, status):
    return f"{i18n.name(messages.CHECKS, key)}={i18n.name(messages.CHECK_STATUSES, status)}"


def _category(code):
    return i18n.name(messages.CATEGORIES, code)


_LIST_NAMES = {}


# --- commands ---------------------------------------------------------------------------------
def cmd_login(client, args, out):
    password = args.password or os.environ.get("FIELDSYNC_PASSWORD") or getpass.getpass(_("password: "))
    worker = client.login(args.username, password, device_name=args.device_name or "")
    print(_("logged in as %(user)s (%(role)s) on device %(device)s") % {
        "user": worker["username"], "role": i18n.name(messages.ROLES, worker["role"]), "device": client.device_id},
        file=out)
    grids = _grids(client)
    print(_("grids: %(grids)s") % {"grids": ", ".join(_grid_label(g) for g in grids) if grids else _("none")},
          file=out)


def _grid_label(g):
    return f"{g['code']} {g['name']}".strip() or g["id"]


def cmd_add_household(client, args, out):
    fields = {k: getattr(args, k) for k in ("building", "unit", "room", "head_name", "phone", "note")}
    hid = client.create_household(_grid(client, args.grid), args.address, **fields)
    print(_("household saved: %(id)s") % {"id": hid}, file=out)


def cmd_add_person(client, args, out):
    fields = {k: getattr(args, k) for k in ("relation", "gender", "birth_date", "id_number", "phone", "note")}
    pid = client.add_person(_household(client, args.household), args.name, **fields)
    print(_("person saved: %(id)s") % {"id": pid}, file=out)


def cmd_edit_household(client, args, out):
    fields = {k: getattr(args, k) for k in ("address", "building", "unit", "room", "head_name", "phone", "note")
              if getattr(args, k) is not None}
    hid = _household(client, args.household)
    client.update_household(hid, **fields)
    print(_("household saved: %(id)s") % {"id": hid}, file=out)


def cmd_edit_person(client, args, out):
    fields = {k: getattr(args, k) for k in ("name", "relation", "gender", "birth_date", "id_number", "phone", "note")
              if getattr(args, k) is not None}
    everyone = [p["id"] for h in client.households() for p in client.persons(h["id"])]
    pid = _resolve(args.person, everyone, "person")
    client.update_person(pid, **fields)
    print(_("person saved: %(id)s") % {"id": pid}, file=out)


def cmd_visit(client, args, out):
    checks = {key: {"status": getattr(args, key)} for key in CHECK_KEYS}
    try:
        answers = json.loads(args.answers) if args.answers else {}
    except ValueError:
        raise InvalidInput(_("--answers must be JSON: {\"item\": {\"question\": value}}"), field="answers",
                           code="bad_answers") from None
    if not isinstance(answers, dict) or any(k not in checks or not isinstance(v, dict) for k, v in answers.items()):
        raise InvalidInput(_("--answers must map check items (%(items)s) to objects") % {"items": ", ".join(CHECK_KEYS)},
                           field="answers", code="bad_answers")
    for key, given in answers.items():
        checks[key]["answers"] = given
    hid = _household(client, args.household)
    amends = _resolve(args.amends, [v["id"] for v in client.visits(hid)], "visit") if args.amends else None
    vid = client.record_visit(hid, checks, visited_at=args.at, note=args.note, amends_id=amends)
    flagged = [_check(k, c["status"]) for k, c in checks.items() if c["status"] != "ok"]
    print(_("visit saved: %(id)s (%(checks)s)") % {"id": vid, "checks": ", ".join(flagged) or _("all six checks ok")},
          file=out)
    # the warning at the door: the city's rules on these answers, before any sync
    for s in client.suggestions(checks):
        print(_("WARNING %(colour)s: %(reason)s -> %(command)s") % {
            "colour": i18n.name(messages.COLOURS, s["colour"]).upper(), "reason": _(s["reason"]),
            "command": f"fieldsync flag {_short(hid)} --category {s['category']} --colour {s['colour']}"}, file=out)


def cmd_due(client, args, out):
    rows = client.due_visits()
    for d in rows:
        late = _("OVERDUE") + " " if d["overdue"] else ""
        why = {"revisit": _("revisit"), "verify": _("verify")}.get(d["why"], d["why"])
        print(f"{late}{d['due_at']:%Y-%m-%d %H:%M}  {_pad(why, 7)} " + _("household %(id)s") % {"id": _short(d["household_id"])}
              + f"  {_colour(d['colour'])} {_category(d['category'])} ({_state(d['flag_state'])})", file=out)
    print("(" + ngettext("%(n)d household due", "%(n)d households due", len(rows)) % {"n": len(rows)} + ")", file=out)


def cmd_queue(client, args, out):
    rows = client.flag_queue()
    for f in rows:
        actions = ", ".join(f"{a} ({i18n.name(messages.ACTIONS, a)})" for a in f["allowed_actions"]) or "-"
        print(f"{_short(f['id'])}  {_colour(f['colour'], 6)} {_state(f['state'], 11)} {_level(f['level'], 9)} "
              f"{_category(f['category'])}  " + _("you may: %(actions)s") % {"actions": actions}, file=out)
    print("(" + ngettext("%(n)d flag", "%(n)d flags", len(rows)) % {"n": len(rows)} + ")", file=out)


def cmd_flag(client, args, out):
    hid = _household(client, args.household)
    person = _resolve(args.person, [p["id"] for p in client.persons(hid)], "person") if args.person else None
    fid = client.raise_flag(hid, args.category, args.colour, person_id=person, note=args.note, level=args.level)
    print(_("flag raised: %(id)s (%(colour)s, %(state)s)") % {
        "id": fid, "colour": _colour(args.colour), "state": _state("reported")}, file=out)


def cmd_move_flag(client, args, out):
    fid = _resolve(args.flag, [f["id"] for f in client.flags()], "flag")
    visit = None
    if args.visit:
        visit = _resolve(args.visit, [v["id"] for v in client.visits(client.flag(fid)["household_id"])], "visit")
    client.move_flag(fid, args.action, note=args.note, visit_id=visit, level=args.level, colour=args.colour)
    flag = client.flag(fid)
    print(_("flag %(id)s: %(action)s -> %(state)s (%(colour)s, %(level)s)") % {
        "id": _short(fid), "action": i18n.name(messages.ACTIONS, args.action), "state": _state(flag["state"]),
        "colour": _colour(flag["colour"]), "level": _level(flag["level"])}, file=out)


def cmd_list(client, args, out):
    what = args.what
    if what == "households":
        rows = client.households(grid_id=_grid(client, args.grid) if args.grid else None)
        for h in rows:
            place = " ".join(filter(None, (h.get("address"), h.get("building"), h.get("unit"), h.get("room"))))
            print(f"{_short(h['id'])}  {place}  {h.get('head_name') or ''}", file=out)
    elif what == "persons":
        rows = client.persons(_household(client, args.household)) if args.household else []
        for p in rows:
            print(f"{_short(p['id'])}  {p['name']}  {p.get('relation') or ''}  {p.get('birth_date') or ''}", file=out)
    elif what == "visits":
        rows = client.visits(_household(client, args.household) if args.household else None)
        for v in rows:
            bad = [_check(k, c.get("status")) for k, c in v["checks"].items() if c.get("status") != "ok"]
            print(f"{_short(v['id'])}  {_local(v['visited_at'])}  "
                  + _("household %(id)s") % {"id": _short(v["household_id"])}
                  + f"  {', '.join(bad) or _('all ok')}", file=out)
    elif what == "flags":
        rows = client.flags(state=args.state)
        for f in rows:
            print(f"{_short(f['id'])}  {_colour(f['colour'], 6)} {_state(f['state'], 11)} {_level(f['level'], 9)} "
                  f"{_category(f['category'])}  " + _("household %(id)s") % {"id": _short(f["household_id"])},
                  file=out)
    elif what == "grids":
        rows = _grids(client)
        for g in rows:
            print(f"{g['code'] or g['id']}  {g['name']}  {g['id']}".rstrip(), file=out)
    elif what == "questions":
        checklists = client.checklists()
        rows = []
        for key, item in checklists.versions[checklists.latest].items():
            print(f"--{key}  {item['phrase']}  ({i18n.name(messages.CHECKS, key)})", file=out)
            for q, spec in item["questions"].items():
                rows.append(q)
                options = f" [{', '.join(map(str, spec['options']))}]" if spec.get("options") else ""
                kind = i18n.name(messages.QUESTION_TYPES, spec["type"])
                print(f"    {key}.{q}  {kind}{options}  {spec.get('label', '')}".rstrip(), file=out)
    elif what == "categories":
        rows = list(inputs.categories(client.checklists().settings).items())
        for code, zh in rows:
            print(f"{code}  {zh if i18n.language() != 'en' else i18n.name(messages.CATEGORIES, code)}", file=out)
    else:
        rows = client.rejected_changes()
        for r in rows:
            c = r["change"]
            reason = i18n.describe(SyncClientError(r["reason"].get("message", ""), code=r["reason"].get("code"),
                                                   field=r["reason"].get("field")))
            print(f"{_entity(c['entity'])} {_short(c['entity_id'])}  " + _("refused: %(reason)s") % {"reason": reason},
                  file=out)
    print(f"({len(rows)} {_LIST_NAMES.get(what, what)})", file=out)


def _entity(code, width=0):
    return _pad(i18n.name(messages.ENTITIES, code), width)


def _fields(names):
    return ("、" if i18n.language() != "en" else ", ").join(messages.field_name(n, _) for n in sorted(names))


def _local(iso):
    """A stored UTC time in this machine's zone, to the minute."""
    try:
        return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone().strftime("%Y-%m-%d %H:%M")
    except (AttributeError, ValueError):
        return str(iso)


def _when(stamp):
    """A stamp's wall time in this machine's zone, to the minute."""
    return dt.datetime.fromtimestamp(stamp_wall_ms(stamp) / 1000).strftime("%Y-%m-%d %H:%M")


def cmd_pending(client, args, out):
    pending = client.pending_changes()
    for c in pending:
        print(f"{_when(c['stamp'])}  {_entity(c['entity'], 10)} {_short(c['entity_id'])}  {_fields(c['fields'])}",
              file=out)
    print(ngettext("%(n)d change waiting to be sent", "%(n)d changes waiting to be sent", len(pending))
          % {"n": len(pending)}, file=out)


def _value(value):
    if value is None or value == "":
        return _("(empty)")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return json.dumps(value, ensure_ascii=False)


def cmd_conflicts(client, args, out):
    """Each collision the server kept: the value kept and the value that lost, side by side."""
    rows = client.conflicts()
    for c in rows:
        print(_("%(entity)s %(id)s, %(field)s:") % {
            "entity": _entity(c["entity"]), "id": _short(c["entity_id"]), "field": messages.field_name(c["field"], _)},
            file=out)
        print("    " + _("kept:  %(value)s (written %(when)s)") % {
            "value": _value(c.get("kept_value")), "when": _when(c["kept_stamp"])}, file=out)
        print("    " + _("lost:  %(value)s (written %(when)s)") % {
            "value": _value(c.get("lost_value")), "when": _when(c["lost_stamp"])}, file=out)
    print("(" + ngettext("%(n)d conflict to review", "%(n)d conflicts to review", len(rows)) % {"n": len(rows)} + ")",
          file=out)


def cmd_sync(client, args, out):
    bar = _progress(sys.stderr)
    try:
        report = client.sync(progress=bar)
    finally:
        bar.finish()
    print(_("pushed %(pushed)d (conflicts %(conflicts)d, refused %(refused)d), pulled %(pulled)d in %(s).2f s") % {
        "pushed": report.pushed, "conflicts": report.conflicts, "refused": report.rejected, "pulled": report.pulled,
        "s": report.seconds["total"]}, file=out)
    if report.resynced:
        print(_("the server asked for a fresh start: everything was pulled again; nothing unsent was lost"), file=out)
    if report.grids_changed:
        print(_("your grids changed: %(n)d records of grids you no longer hold were removed") % {"n": report.dropped},
              file=out)
    if report.rejected:
        print(_("some changes were refused: see `fieldsync list rejected`"), file=out)


def cmd_logout(client, args, out):
    client.logout(wipe=args.wipe, force=args.force)
    print(_("logged out and the local store wiped") if args.wipe else _("logged out"), file=out)


# --- parser -----------------------------------------------------------------------------------
def build_parser():
    p = argparse.ArgumentParser(prog="fieldsync", description=_("A grid worker's field device, offline first."))
    p.add_argument("--store", default=os.environ.get("FIELDSYNC_STORE", "fieldsync.db"), help=_("local store file"))
    p.add_argument("--server", default=os.environ.get("FIELDSYNC_SERVER"), help=_("server URL (remembered)"))
    p.add_argument("--lang", choices=("zh_CN", "zh", "en"),
                   help=_("language of what fieldsync says (default: from LANG, else zh_CN)"))
    p.add_argument("--passphrase-env", default="FIELDSYNC_PASSPHRASE", metavar=_("VAR"),
                   help=_("environment variable holding the passphrase that encrypts the store"))
    p.add_argument("--plaintext", action="store_true",
                   help=_("keep the store unencrypted (names, ID numbers and the token readable in the file)"))
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("login", help=_("log in on this device"))
    s.add_argument("username")
    s.add_argument("--password", help=_("default: $FIELDSYNC_PASSWORD, else asked for"))
    s.add_argument("--device-name")
    s.set_defaults(func=cmd_login)

    s = sub.add_parser("add-household", help=_("register a household"))
    s.add_argument("--address", required=True)
    s.add_argument("--grid", help=_("grid id or prefix (default: your only grid)"))
    for name in ("building", "unit", "room", "head-name", "phone", "note"):
        s.add_argument("--" + name)
    s.set_defaults(func=cmd_add_household)

    s = sub.add_parser("add-person", help=_("add a member to a household"))
    s.add_argument("household")
    s.add_argument("--name", required=True)
    s.add_argument("--relation", choices=RELATIONS)
    s.add_argument("--gender", choices=GENDERS)
    for name in ("birth-date", "id-number", "phone", "note"):
        s.add_argument("--" + name)
    s.set_defaults(func=cmd_add_person)

    s = sub.add_parser("edit-household", help=_("correct a household's details"))
    s.add_argument("household")
    for name in ("address", "building", "unit", "room", "head-name", "phone", "note"):
        s.add_argument("--" + name)
    s.set_defaults(func=cmd_edit_household)

    s = sub.add_parser("edit-person", help=_("correct a person's details"))
    s.add_argument("person")
    s.add_argument("--name")
    s.add_argument("--relation", choices=RELATIONS)
    s.add_argument("--gender", choices=GENDERS)
    for name in ("birth-date", "id-number", "phone", "note"):
        s.add_argument("--" + name)
    s.set_defaults(func=cmd_edit_person)

    s = sub.add_parser("visit", help=_("record a visit against the six checks"))
    s.add_argument("household")
    for key in CHECK_KEYS:
        s.add_argument("--" + key, choices=STATUSES, default="ok",
                       help=_("status of the %(check)s check (default ok)") % {"check": i18n.name(messages.CHECKS, key)})
    s.add_argument("--note")
    s.add_argument("--at", help=_("when, ISO 8601 with offset (default: now)"))
    s.add_argument("--amends", help=_("the visit this one corrects"))
    s.add_argument("--answers", help=_('structured answers as JSON, e.g. \'{"income": {"income_per_person": 600}}\''))
    s.set_defaults(func=cmd_visit)

    s = sub.add_parser("flag", help=_("raise a warning flag on a household"))
    s.add_argument("household")
    s.add_argument("--category", required=True)
    s.add_argument("--colour", required=True, choices=COLOURS)
    s.add_argument("--person")
    s.add_argument("--level", choices=LEVELS)
    s.add_argument("--note")
    s.set_defaults(func=cmd_flag)

    s = sub.add_parser("move-flag", help=_("move a flag through its states"))
    s.add_argument("flag")
    s.add_argument("action", choices=ACTIONS)
    s.add_argument("--note")
    s.add_argument("--visit", help=_("the follow-up visit (verify)"))
    s.add_argument("--level", choices=LEVELS)
    s.add_argument("--colour", choices=COLOURS)
    s.set_defaults(func=cmd_move_flag)

    s = sub.add_parser("list", help=_("show what the device holds"))
    s.add_argument("what", choices=("households", "persons", "visits", "flags", "grids", "categories", "questions",
                                    "rejected"))
    s.add_argument("--grid")
    s.add_argument("--household")
    s.add_argument("--state")
    s.set_defaults(func=cmd_list)

    sub.add_parser("pending", help=_("changes not yet sent")).set_defaults(func=cmd_pending)
    sub.add_parser("due", help=_("flagged households due a visit")).set_defaults(func=cmd_due)
    sub.add_parser("queue", help=_("flags waiting on you, with what you may do")).set_defaults(func=cmd_queue)
    sub.add_parser("sync", help=_("send and receive changes")).set_defaults(func=cmd_sync)
    sub.add_parser("conflicts", help=_("edits that collided, with the value kept and the value lost (online)")) \
        .set_defaults(func=cmd_conflicts)
    s = sub.add_parser("logout", help=_("log out (and wipe the store on a shared tablet)"))
    s.add_argument("--wipe", action="store_true", help=_("delete the local store"))
    s.add_argument("--force", action="store_true", help=_("wipe even with unsent changes"))
    s.set_defaults(func=cmd_logout)
    _name_metavars(p)
    return p


#: what an option's value is called in the help, where it is not a field's own name (sync/messages.py)
METAVARS = {"username": N_("user name"), "password": N_("password"), "device_name": N_("device name"),
            "at": N_("time"), "amends": N_("visit"), "store": N_("file"), "server": N_("address"),
            "state": N_("state"), "answers": N_("answers")}


def _name_metavars(parser):
    """Each value in the help by its name in the reader's language (argparse would show the
    option's English name in capitals); choices stay the codes one types."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _name_metavars(sub)
        elif action.metavar is None and action.choices is None and action.nargs != 0:
            said = _(METAVARS[action.dest]) if action.dest in METAVARS else messages.field_name(action.dest, _)
            action.metavar = said.upper().replace(" ", "_") if i18n.language() == "en" else said


def _lang_in(argv):
    """``--lang`` read before the parser is built, so its help is in that language too."""
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return None


def main(argv=None, out=None):
    out = out or sys.stdout
    argv = sys.argv[1:] if argv is None else list(argv)
    i18n.use(_lang_in(argv))
    i18n.teach_argparse()
    _LIST_NAMES.update(households=_("households"), persons=_("persons"), visits=_("visits"), flags=_("flags"),
                       grids=_("grids"), categories=_("categories"), questions=_("questions"),
                       rejected=_("refused changes"))
    args = build_parser().parse_args(argv)
    try:
        with FieldClient(args.store, args.server, **store_secret(args)) as client:
            args.func(client, args, out)
    except AuthRequired as exc:
        print("fieldsync: " + _("%(message)s (log in with: fieldsync login <username>)") % {
            "message": i18n.describe(exc)}, file=sys.stderr)
        return EXIT_AUTH
    except ServerUnavailable as exc:
        print("fieldsync: " + _("%(message)s; nothing was lost, sync again later") % {
            "message": exc.message if i18n.language() == "en" else _("the server cannot be reached")},
            file=sys.stderr)
        return EXIT_NETWORK
    except SyncClientError as exc:
        where = f" [{messages.field_name(exc.field, _)}]" if exc.field else ""
        print("fieldsync: " + _("error%(where)s: %(message)s") % {"where": where, "message": i18n.describe(exc)},
              file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        # `fieldsync list households | head`: the reader left; that is not an error. Point
        # stdout at /dev/null so the interpreter's final flush does not complain either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return 0
