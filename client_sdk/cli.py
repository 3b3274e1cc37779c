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

from sync.checklist import CHECK_KEYS, STATUSES
from sync.clock import stamp_wall_ms
from sync.entities import GENDERS, RELATIONS
from sync.flags import ACTIONS, COLOURS, LEVELS

from .client import FieldClient
from .errors import AuthRequired, InvalidInput, ServerUnavailable, StoreLocked, SyncClientError

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
                          "--plaintext to keep a store in the clear)")
    passphrase = getpass.getpass("passphrase for the local store: ")
    if new and getpass.getpass("again: ") != passphrase:
        raise StoreLocked("the two passphrases differ")
    if not passphrase:
        raise StoreLocked("an empty passphrase does not protect anything")
    return {"passphrase": passphrase}


def _short(value):
    return str(value)[:8]


def _resolve(prefix, ids, what):
    """The one id starting with ``prefix``."""
    found = [i for i in ids if i.startswith(prefix.lower())]
    if len(found) != 1:
        problem = "no" if not found else f"{len(found)} matching"
        raise InvalidInput(f"{problem} {what} for {prefix!r}: give more of the id", field=what)
    return found[0]


def _household(client, prefix):
    return _resolve(prefix, [h["id"] for h in client.households(include_deleted=True)], "household")


def _grid(client, prefix):
    grids = client.worker and client.worker.get("grid_ids") or []
    if prefix is None:
        if len(grids) != 1:
            raise InvalidInput(f"you hold {len(grids)} grids: choose one with --grid ({', '.join(map(_short, grids))})",
                               field="grid")
        return grids[0]
    return _resolve(prefix, [str(g) for g in grids], "grid") if grids else prefix


def _progress(stream):
    state = {"phase": None}

    def report(phase, done, total):
        if state["phase"] not in (None, phase):
            stream.write("\n")
        state["phase"] = phase
        if phase == "prune":
            stream.write(f"\r{phase:<6} {done} records of grids no longer held removed")
        elif total:
            filled = int(30 * done / total)
            stream.write(f"\r{phase:<6} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}")
        elif total == 0:
            stream.write(f"\r{phase:<6} nothing to send")
        else:
            stream.write(f"\r{phase:<6} {done} changes")
        stream.flush()

    report.finish = lambda: state["phase"] and stream.write("\n")
    return report


# --- commands ---------------------------------------------------------------------------------
def cmd_login(client, args, out):
    password = args.password or os.environ.get("FIELDSYNC_PASSWORD") or getpass.getpass("password: ")
    worker = client.login(args.username, password, device_name=args.device_name or "")
    grids = worker.get("grid_ids") or []
    print(f"logged in as {worker['username']} ({worker['role']}) on device {client.device_id}", file=out)
    print(f"grids: {', '.join(grids) if grids else 'none'}", file=out)


def cmd_add_household(client, args, out):
    fields = {k: getattr(args, k) for k in ("building", "unit", "room", "head_name", "phone", "note")}
    hid = client.create_household(_grid(client, args.grid), args.address, **fields)
    print(f"household saved: {hid}", file=out)


def cmd_add_person(client, args, out):
    fields = {k: getattr(args, k) for k in ("relation", "gender", "birth_date", "id_number", "phone", "note")}
    pid = client.add_person(_household(client, args.household), args.name, **fields)
    print(f"person saved: {pid}", file=out)


def cmd_visit(client, args, out):
    checks = {key: {"status": getattr(args, key)} for key in CHECK_KEYS}
    try:
        answers = json.loads(args.answers) if args.answers else {}
    except ValueError:
        raise InvalidInput("--answers must be JSON: {\"item\": {\"question\": value}}", field="answers") from None
    if not isinstance(answers, dict) or any(k not in checks or not isinstance(v, dict) for k, v in answers.items()):
        raise InvalidInput(f"--answers must map check items ({', '.join(CHECK_KEYS)}) to objects", field="answers")
    for key, given in answers.items():
        checks[key]["answers"] = given
    hid = _household(client, args.household)
    amends = _resolve(args.amends, [v["id"] for v in client.visits(hid)], "visit") if args.amends else None
    vid = client.record_visit(hid, checks, visited_at=args.at, note=args.note, amends_id=amends)
    flagged = [f"{k}={c['status']}" for k, c in checks.items() if c["status"] != "ok"]
    print(f"visit saved: {vid} ({', '.join(flagged) or 'all six checks ok'})", file=out)
    # the warning at the door: the city's rules on these answers, before any sync
    for s in client.suggestions(checks):
        print(f"WARNING {s['colour'].upper()}: {s['reason']} -> fieldsync flag {_short(hid)} "
              f"--category {s['category']} --colour {s['colour']}", file=out)


def cmd_due(client, args, out):
    rows = client.due_visits()
    for d in rows:
        late = "OVERDUE " if d["overdue"] else ""
        print(f"{late}{d['due_at']:%Y-%m-%d %H:%M}  {d['why']:<7} household {_short(d['household_id'])}  "
              f"{d['colour']} {d['category']} ({d['flag_state']})", file=out)
    print(f"({len(rows)} households due)", file=out)


def cmd_queue(client, args, out):
    rows = client.flag_queue()
    for f in rows:
        actions = ", ".join(f["allowed_actions"]) or "-"
        print(f"{_short(f['id'])}  {f['colour']:<6} {f['state']:<11} {f['level']:<9} {f['category']}  "
              f"you may: {actions}", file=out)
    print(f"({len(rows)} flags)", file=out)


def cmd_flag(client, args, out):
    hid = _household(client, args.household)
    person = _resolve(args.person, [p["id"] for p in client.persons(hid)], "person") if args.person else None
    fid = client.raise_flag(hid, args.category, args.colour, person_id=person, note=args.note, level=args.level)
    print(f"flag raised: {fid} ({args.colour}, reported)", file=out)


def cmd_move_flag(client, args, out):
    fid = _resolve(args.flag, [f["id"] for f in client.flags()], "flag")
    visit = None
    if args.visit:
        visit = _resolve(args.visit, [v["id"] for v in client.visits(client.flag(fid)["household_id"])], "visit")
    client.move_flag(fid, args.action, note=args.note, visit_id=visit, level=args.level, colour=args.colour)
    flag = client.flag(fid)
    print(f"flag {_short(fid)}: {args.action} -> {flag['state']} ({flag['colour']}, {flag['level']})", file=out)


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
            bad = [f"{k}={c['status']}" for k, c in v["checks"].items() if c.get("status") != "ok"]
            print(f"{_short(v['id'])}  {v['visited_at']}  household {_short(v['household_id'])}  "
                  f"{', '.join(bad) or 'all ok'}", file=out)
    elif what == "flags":
        rows = client.flags(state=args.state)
        for f in rows:
            print(f"{_short(f['id'])}  {f['colour']:<6} {f['state']:<11} {f['level']:<9} {f['category']}  "
                  f"household {_short(f['household_id'])}", file=out)
    elif what == "grids":
        rows = (client.worker or {}).get("grid_ids") or []
        for g in rows:
            print(g, file=out)
    else:
        rows = client.rejected_changes()
        for r in rows:
            c = r["change"]
            print(f"{c['entity']} {_short(c['entity_id'])}  refused: {r['reason']['message']}", file=out)
    print(f"({len(rows)} {what})", file=out)


def cmd_pending(client, args, out):
    pending = client.pending_changes()
    for c in pending:
        made = dt.datetime.fromtimestamp(stamp_wall_ms(c["stamp"]) / 1000).strftime("%Y-%m-%d %H:%M")
        print(f"{made}  {c['entity']:<10} {_short(c['entity_id'])}  {', '.join(sorted(c['fields']))}",
              file=out)
    print(f"{len(pending)} changes waiting to be sent", file=out)


def cmd_sync(client, args, out):
    bar = _progress(sys.stderr)
    try:
        report = client.sync(progress=bar)
    finally:
        bar.finish()
    print(f"pushed {report.pushed} (conflicts {report.conflicts}, refused {report.rejected}), "
          f"pulled {report.pulled} in {report.seconds['total']:.2f} s", file=out)
    if report.resynced:
        print("the server asked for a fresh start: everything was pulled again; nothing unsent was lost", file=out)
    if report.grids_changed:
        print(f"your grids changed: {report.dropped} records of grids you no longer hold were removed", file=out)
    if report.rejected:
        print("some changes were refused: see `fieldsync list rejected`", file=out)


def cmd_logout(client, args, out):
    client.logout(wipe=args.wipe, force=args.force)
    print("logged out" + (" and the local store wiped" if args.wipe else ""), file=out)


# --- parser -----------------------------------------------------------------------------------
def build_parser():
    p = argparse.ArgumentParser(prog="fieldsync", description="A grid worker's field device, offline first.")
    p.add_argument("--store", default=os.environ.get("FIELDSYNC_STORE", "fieldsync.db"), help="local store file")
    p.add_argument("--server", default=os.environ.get("FIELDSYNC_SERVER"), help="server URL (remembered)")
    p.add_argument("--passphrase-env", default="FIELDSYNC_PASSPHRASE", metavar="VAR",
                   help="environment variable holding the passphrase that encrypts the store")
    p.add_argument("--plaintext", action="store_true",
                   help="keep the store unencrypted (names, ID numbers and the token readable in the file)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("login", help="log in on this device")
    s.add_argument("username")
    s.add_argument("--password", help="default: $FIELDSYNC_PASSWORD, else asked for")
    s.add_argument("--device-name")
    s.set_defaults(func=cmd_login)

    s = sub.add_parser("add-household", help="register a household")
    s.add_argument("--address", required=True)
    s.add_argument("--grid", help="grid id or prefix (default: your only grid)")
    for name in ("building", "unit", "room", "head-name", "phone", "note"):
        s.add_argument("--" + name)
    s.set_defaults(func=cmd_add_household)

    s = sub.add_parser("add-person", help="add a member to a household")
    s.add_argument("household")
    s.add_argument("--name", required=True)
    s.add_argument("--relation", choices=RELATIONS)
    s.add_argument("--gender", choices=GENDERS)
    for name in ("birth-date", "id-number", "phone", "note"):
        s.add_argument("--" + name)
    s.set_defaults(func=cmd_add_person)

    s = sub.add_parser("visit", help="record a visit against the six checks")
    s.add_argument("household")
    for key in CHECK_KEYS:
        s.add_argument("--" + key, choices=STATUSES, default="ok", help=f"status of the {key} check (default ok)")
    s.add_argument("--note")
    s.add_argument("--at", help="when, ISO 8601 with offset (default: now)")
    s.add_argument("--amends", help="the visit this one corrects")
    s.add_argument("--answers", help='structured answers as JSON, e.g. \'{"income": {"income_per_person": 600}}\'')
    s.set_defaults(func=cmd_visit)

    s = sub.add_parser("flag", help="raise a warning flag on a household")
    s.add_argument("household")
    s.add_argument("--category", required=True)
    s.add_argument("--colour", required=True, choices=COLOURS)
    s.add_argument("--person")
    s.add_argument("--level", choices=LEVELS)
    s.add_argument("--note")
    s.set_defaults(func=cmd_flag)

    s = sub.add_parser("move-flag", help="move a flag through its states")
    s.add_argument("flag")
    s.add_argument("action", choices=ACTIONS)
    s.add_argument("--note")
    s.add_argument("--visit", help="the follow-up visit (verify)")
    s.add_argument("--level", choices=LEVELS)
    s.add_argument("--colour", choices=COLOURS)
    s.set_defaults(func=cmd_move_flag)

    s = sub.add_parser("list", help="show what the device holds")
    s.add_argument("what", choices=("households", "persons", "visits", "flags", "grids", "rejected"))
    s.add_argument("--grid")
    s.add_argument("--household")
    s.add_argument("--state")
    s.set_defaults(func=cmd_list)

    sub.add_parser("pending", help="changes not yet sent").set_defaults(func=cmd_pending)
    sub.add_parser("due", help="flagged households due a visit").set_defaults(func=cmd_due)
    sub.add_parser("queue", help="flags waiting on you, with what you may do").set_defaults(func=cmd_queue)
    sub.add_parser("sync", help="send and receive changes").set_defaults(func=cmd_sync)
    s = sub.add_parser("logout", help="log out (and wipe the store on a shared tablet)")
    s.add_argument("--wipe", action="store_true", help="delete the local store")
    s.add_argument("--force", action="store_true", help="wipe even with unsent changes")
    s.set_defaults(func=cmd_logout)
    return p


def main(argv=None, out=None):
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    try:
        with FieldClient(args.store, args.server, **store_secret(args)) as client:
            args.func(client, args, out)
    except AuthRequired as exc:
        print(f"fieldsync: {exc.message} (log in with: fieldsync login <username>)", file=sys.stderr)
        return EXIT_AUTH
    except ServerUnavailable as exc:
        print(f"fieldsync: {exc.message}; nothing was lost, sync again later", file=sys.stderr)
        return EXIT_NETWORK
    except SyncClientError as exc:
        where = f" [{exc.field}]" if exc.field else ""
        print(f"fieldsync: error{where}: {exc.message}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        # `fieldsync list households | head`: the reader left; that is not an error. Point
        # stdout at /dev/null so the interpreter's final flush does not complain either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return 0
