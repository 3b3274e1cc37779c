"""Command line: ``gridsync <command>`` (or ``flask --app server <command>``).

create-admin, import-areas, create-worker, import-accounts, seed-demo, and ``demo``, which migrates, seeds and
serves a demo city in one go.
"""
import csv
import os
import uuid

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import func, select

from sync import messages
from sync.errors import InvalidInput
from sync.messages import N_

from . import cli_i18n
from .cli_i18n import _, ngettext
from .extensions import db
from .models import DEPARTMENT_LEVELS, ROLES, Area, Department, Worker
from .services import account_import, accounts


#: the refusals of the account services (server/services/accounts.py), by code
REFUSALS = {
    "bad_area_level": N_("the level must be one of %(levels)s"),
    "area_needs_parent": N_("area %(code)s: only a city has no parent"),
    "area_under": N_("area %(code)s: a %(level)s cannot sit under a %(parent)s"),
    "bad_role": N_("the role must be one of %(roles)s"),
    "department_staff": N_("a department's staff (role department) and only they name their department"),
    "worker_exists": N_("a worker named %(user)r exists already"),
    "not_a_grid": N_("%(code)s is a %(level)s, not a grid"),
    "bad_department_level": N_("a department's level must be one of %(levels)s"),
    "department_area": N_("department %(code)s: a %(level)s department serves a %(level)s, not a %(is)s"),
    "bad_hours": N_("%(field)s must be whole hours from 1 to %(max)s"),
    "department_exists": N_("a department with code %(code)r exists already"),
}
_NAMED = {"level": messages.LEVELS, "parent": messages.LEVELS, "is": messages.LEVELS}


def refusal(exc):
    """A service's refusal as a command-line error, in the reader's language: the words for its
    code (levels by their names, the field by its), else the service's own detail."""
    if exc.code in REFUSALS:
        values = {k: messages.name(_NAMED[k], v, _) if k in _NAMED else v for k, v in (exc.params or {}).items()}
        values["field"] = messages.field_name(exc.field, _)
        return click.ClickException(_(REFUSALS[exc.code]) % values)
    return click.ClickException(messages.message(exc.code, exc.field, exc.params, _) or exc.message)


def create_area(*args, **kwargs):
    """``services.accounts.create_area``, its refusal as a command-line error."""
    try:
        return accounts.create_area(*args, **kwargs)
    except InvalidInput as exc:
        raise refusal(exc) from None


def create_worker(*args, **kwargs):
    try:
        return accounts.create_worker(*args, **kwargs)
    except InvalidInput as exc:
        raise refusal(exc) from None



def _area_by_code(code):
    area = db.session.execute(select(Area).where(Area.code == code)).scalar_one_or_none()
    if area is None:
        raise click.ClickException(_("no area with code %(code)r") % {"code": code})
    return area


def _password(value):
    return value or click.prompt(_("password"), hide_input=True, confirmation_prompt=True)


@click.command("create-admin", help=N_("Create an administrator account."))
@click.argument("username")
@click.option("--password", envvar="GRIDSYNC_ADMIN_PASSWORD", help=N_("asked for when not given"))
@with_appcontext
def create_admin_cmd(username, password):
    create_worker(username, _password(password), "admin")
    db.session.commit()
    click.echo(_("administrator %(user)s created") % {"user": username})


@click.command("create-worker", help=N_("Create a worker with a role, an area and (for grid workers) grids, "
                                        "or (for a department's staff) a department."))
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True, help=N_("the worker's role"))
@click.option("--name", "display_name", help=N_("the name shown to others"))
@click.option("--area", "area_code", help=N_("code of the area a staff member answers for"))
@click.option("--grids", default="", help=N_("comma-separated grid codes (grid workers)"))
@click.option("--department", "department_code", help=N_("code of the department (role department)"))
@click.option("--phone", "work_phone", help=N_("work phone, shown on the cases this person holds"))
@click.option("--password", envvar="GRIDSYNC_WORKER_PASSWORD", help=N_("asked for when not given"))
@with_appcontext
def create_worker_cmd(username, role, display_name, area_code, grids, department_code, work_phone, password):
    area = _area_by_code(area_code) if area_code else None
    grid_rows = [_area_by_code(c.strip()) for c in grids.split(",") if c.strip()]
    department = None
    if department_code:
        department = db.session.execute(select(Department).where(Department.code == department_code)).scalar_one_or_none()
        if department is None:
            raise click.ClickException(_("no department with code %(code)r") % {"code": department_code})
    create_worker(username, _password(password), role, display_name, area, grid_rows, department=department,
                  work_phone=work_phone)
    db.session.commit()
    click.echo(_("%(role)s %(user)s created") % {"role": messages.name(messages.ROLES, role, _), "user": username})


@click.command("create-department", help=N_("Add a department that a case may summon."))
@click.argument("code")
@click.argument("name")
@click.option("--level", type=click.Choice(DEPARTMENT_LEVELS), required=True, help=N_("the level it serves"))
@click.option("--area", "area_code", help=N_("code of the district or street it serves (default: the whole city)"))
@click.option("--report-hours", type=int, default=24, show_default=True, help=N_("hours to report in once summoned"))
@click.option("--answer-hours", type=int, default=72, show_default=True, help=N_("hours from the summons to answer"))
@with_appcontext
def create_department_cmd(code, name, level, area_code, report_hours, answer_hours):
    area = _area_by_code(area_code) if area_code else None
    try:
        accounts.create_department(code, name, level, area, report_hours, answer_hours)
    except InvalidInput as exc:
        raise refusal(exc) from None
    db.session.commit()
    click.echo(_("department %(code)s %(name)s created") % {"code": code, "name": name})


@click.command("import-areas", help=N_("Import areas from a CSV with columns code,name,level,parent_code "
                                       "(parents first)."))
@click.argument("csv_file", type=click.File(encoding="utf-8-sig"))
@with_appcontext
def import_areas_cmd(csv_file):
    reader = csv.DictReader(csv_file)
    missing = {"code", "name", "level", "parent_code"} - set(reader.fieldnames or ())
    if missing:
        raise click.ClickException(_("the CSV lacks columns: %(columns)s") % {"columns": ", ".join(sorted(missing))})
    by_code = {}
    count = 0
    for line, row in enumerate(reader, start=2):
        code = row["code"].strip()
        if not code:
            raise click.ClickException(_("line %(line)d: empty code") % {"line": line})
        if code in by_code or db.session.execute(select(Area.id).where(Area.code == code)).first():
            raise click.ClickException(_("line %(line)d: area code %(code)r exists already")
                                       % {"line": line, "code": code})
        parent = None
        if row["parent_code"].strip():
            parent = by_code.get(row["parent_code"].strip()) or _area_by_code(row["parent_code"].strip())
        try:
            by_code[code] = create_area(code, row["name"].strip(), row["level"].strip(), parent)
        except click.ClickException as exc:
            raise click.ClickException(_("line %(line)d: %(problem)s")
                                       % {"line": line, "problem": exc.message}) from None
        count += 1
    db.session.commit()
    click.echo(ngettext("%(n)d area imported", "%(n)d areas imported", count) % {"n": count})


@click.command("import-accounts", help=N_(
    "Import accounts from a CSV with columns username,role,area,grids and optionally "
    "display_name,department,work_phone. The whole file is checked first: any bad row, or a username that "
    "exists already, and nothing is written."))
@click.argument("csv_file", type=click.File(encoding="utf-8-sig"))
@click.option("--passwords-out", type=click.Path(dir_okay=False), required=True,
              help=N_("new file (mode 0600) for each account's one-time password; never printed"))
@with_appcontext
def import_accounts_cmd(csv_file, passwords_out):
    try:
        count = account_import.import_accounts(csv_file, passwords_out)
    except account_import.ImportRefused as exc:
        for problem in exc.problems:
            click.echo(account_import.problem_text(problem, _), err=True)
        raise click.ClickException(ngettext("%(n)d problem in %(file)s; nothing was imported",
                                            "%(n)d problems in %(file)s; nothing was imported", len(exc.problems))
                                   % {"n": len(exc.problems), "file": csv_file.name}) from None
    except FileExistsError:
        raise click.ClickException(_("%(file)s exists already; name a new file") % {"file": passwords_out}) from None
    click.echo(ngettext("%(n)d account imported; one-time passwords in %(file)s",
                        "%(n)d accounts imported; one-time passwords in %(file)s", count)
               % {"n": count, "file": passwords_out})


#: what the demo seeding counts, as a person calls it
DEMO_COUNTS = {"grids": N_("grids"), "households": N_("households"), "persons": N_("persons"),
               "visits": N_("visits"), "flags": N_("flags"), "flag events": N_("flag steps"),
               "escalated": N_("escalated"), "summons": N_("departments summoned")}


@click.command("seed-demo", help=N_("Fill an empty database with a demo city and print its logins."))
@click.option("--households", default=2000, show_default=True, help=N_("how many households"))
@click.option("--seed", default=7, show_default=True, help=N_("the random seed (the same seed, the same city)"))
@with_appcontext
def seed_demo_cmd(households, seed):
    from .demo import DEMO_LOGIN_PARAMS, DEMO_LOGINS, seed_demo
    if db.session.execute(select(func.count()).select_from(Area)).scalar_one():
        raise click.ClickException(_("the database already has areas; seed-demo only fills an empty one"))
    stats = seed_demo(households=households, seed=seed)
    click.echo(_("demo city: %(counts)s") % {"counts": ", ".join(
        f"{v} {_(DEMO_COUNTS[k]) if k in DEMO_COUNTS else k}" for k, v in stats.items())})
    click.echo(_("demo logins (username / password / role):"))
    for username, password, role, what in DEMO_LOGINS:
        click.echo(f"  {username:12} {password:16} {messages.name(messages.ROLES, role, _):12} "
                   f"{_(what) % DEMO_LOGIN_PARAMS.get(username, {})}")


@click.command("demo", help=N_("Migrate the database, seed the demo city if it is empty, and serve it."))
@click.option("--host", default="127.0.0.1", show_default=True, help=N_("the address to serve on"))
@click.option("--port", default=5000, show_default=True, help=N_("the port to serve on (make demo PORT=5001)"))
@click.pass_context
@with_appcontext
def demo_cmd(ctx, host, port):
    from flask_migrate import upgrade
    app = current_app._get_current_object()
    upgrade()
    if not db.session.execute(select(func.count()).select_from(Area)).scalar_one():
        ctx.invoke(seed_demo_cmd)
    else:
        from .services.review import refresh
        refresh(wait=True)
    if "GRIDSYNC_COOKIE_SECURE" not in os.environ:
        # the demo is served over plain http: a Secure cookie would never come back
        app.config["SESSION_COOKIE_SECURE"] = False
    click.echo(_("serving on http://%(host)s:%(port)s  (review pages: /review, API: /api/v1, "
                 "OpenAPI: /api/v1/openapi.json)") % {"host": host, "port": port})
    from .jobs import start_scheduler
    start_scheduler(app)
    # Flask refuses app.run() inside its own CLI; the demo serves with werkzeug directly.
    from werkzeug.serving import run_simple
    run_simple(host, port, app, threaded=True)


@click.command("revoke-device", help=N_("Revoke a lost or stolen device: its tokens stop working and it cannot "
                                        "log in again."))
@click.argument("device_id")
@with_appcontext
def revoke_device_cmd(device_id):
    """Revoke a lost or stolen device: its tokens stop working and it cannot log in again."""
    from .models import Device
    from .services.admin import revoke_device
    device = db.session.get(Device, device_id)
    if device is None:
        raise click.ClickException(_("no device %(id)r") % {"id": device_id})
    revoke_device(device)        # the same as the admin page's button (/admin/devices)
    db.session.commit()
    click.echo(_("device %(id)s revoked") % {"id": device_id})


@click.command("disable-worker", help=N_("Disable an account: its tokens stop working at once."))
@click.argument("username")
@with_appcontext
def disable_worker_cmd(username):
    worker = db.session.execute(select(Worker).where(Worker.username == username)).scalar_one_or_none()
    if worker is None:
        raise click.ClickException(_("no worker %(user)r") % {"user": username})
    worker.active = False
    db.session.commit()
    click.echo(_("worker %(user)s disabled") % {"user": username})


@click.command("reset-sync-epoch", help=N_(
    "After restoring the database from a backup: every device's cursor is then refused and devices pull from "
    "the start (keeping their unsent changes), so none trusts a lost future."))
@with_appcontext
def reset_sync_epoch_cmd():
    from .models import SyncState
    state = db.session.get(SyncState, 1)
    state.epoch = uuid.uuid4().hex[:12]
    db.session.commit()
    click.echo(_("sync epoch is now %(epoch)s") % {"epoch": state.epoch})


@click.command("run-scheduler", help=N_(
    "Run the scheduled jobs (escalation of overdue flags) in the foreground. Safe to run in several processes "
    "at once: only one acts in each round."))
@with_appcontext
def run_scheduler_cmd():
    from .jobs import start_scheduler
    click.echo(_("escalation job every %(s)s s; Ctrl-C stops") % {"s": current_app.config["ESCALATION_INTERVAL_S"]})
    start_scheduler(current_app._get_current_object(), blocking=True)


#: the events a city's webhook receives (server/services/webhooks.py)
WEBHOOK_KINDS = {"summoned": N_("summoned"), "escalated": N_("escalated"), "overdue": N_("overdue")}


@click.command("webhook-status", help=N_("List the city's webhook events not yet delivered, oldest first, with "
                                         "attempts and last error."))
@click.option("--limit", default=100, show_default=True, help=N_("how many undelivered events to list"))
@with_appcontext
def webhook_status_cmd(limit):
    from .models import WebhookOutbox
    from .services.webhooks import status
    url = current_app.config.get("WEBHOOK_URL")
    sent = db.session.execute(select(func.count()).select_from(WebhookOutbox)
                              .where(WebhookOutbox.sent_at.is_not(None))).scalar()
    pending = status(limit)
    click.echo(_("webhook: %(url)s; %(sent)d delivered, %(waiting)d waiting") % {
        "url": url or _("not configured"), "sent": sent, "waiting": len(pending)})
    for row in pending:
        next_at = row.next_at.isoformat(timespec="seconds") if row.next_at else "-"
        kind = _(WEBHOOK_KINDS[row.kind]) if row.kind in WEBHOOK_KINDS else row.kind
        click.echo(f"{row.id}  {kind}  " + _("queued %(at)s  attempts %(n)d  next %(next)s  last error: %(error)s") % {
            "at": row.created_at.isoformat(timespec="seconds"), "n": row.attempts, "next": next_at,
            "error": row.last_error or "-"})


@click.command("refresh-review", help=N_("Bring the review roll-ups up to date now (the scheduler does it every "
                                         "few minutes)."))
@click.option("--full", is_flag=True, help=N_("recount visits per day from the visits too"))
@with_appcontext
def refresh_review_cmd(full):
    from .services.review import refresh
    took = refresh(wait=True, full=full or None)
    said = _("review roll-ups rebuilt in %(s).1f s") if full else _("review roll-ups brought up to date in %(s).1f s")
    click.echo(said % {"s": took})


@click.command("link-register", help=N_(
    "Link a register CSV (a name column and any of record_id,id_number,gender,birth_date,phone,address,source, "
    "headed in English or Chinese; UTF-8, GBK or UTF-16): write record_id,cluster_id, rows of one person sharing "
    "a cluster. With --against-register an imported civil-affairs list is linked against the server's own "
    "persons as well."))
@click.argument("input_csv")
@click.argument("output_csv")
@click.option("--against-register", is_flag=True,
              help=N_("also link against the persons the server holds; adds a register_person_id column"))
@click.option("--workers", type=int, default=None, help=N_("processes (default: all CPUs)"))
@with_appcontext
def link_register_cmd(input_csv, output_csv, against_register, workers):
    from sync.identity import linkcsv
    if not against_register:
        ids, clusters = _read_register(input_csv, lambda: _link_file(input_csv, workers))
        _write_csv(output_csv, ["record_id", "cluster_id"], zip(ids, clusters))
        click.echo(_("%(n)d records in %(people)d persons") % {"n": len(ids), "people": len(set(clusters))}, err=True)
        return
    from sync.identity.linkage import link_records
    rows = _read_register(input_csv, lambda: linkcsv.read_rows(input_csv))
    register = _register_records()
    clusters = link_records(rows + register, workers=workers)
    members = {}
    for rec in register:
        members.setdefault(clusters[rec["record_id"]], rec["record_id"][len("register:"):])
    _write_csv(output_csv, ["record_id", "cluster_id", "register_person_id"],
               ([row["record_id"], clusters[row["record_id"]], members.get(clusters[row["record_id"]], "")]
                for row in rows))
    linked = sum(1 for row in rows if clusters[row["record_id"]] in members)
    click.echo(_("%(n)d records linked; %(linked)d match a person the server holds")
               % {"n": len(rows), "linked": linked}, err=True)


def _link_file(path, workers):
    from sync.identity import linkcsv
    with linkcsv.open_text(path) as source:
        return linkcsv.link_stream(source, workers=workers)


def _read_register(path, read):
    """``read()``, with what is wrong with the file said in the reader's language."""
    from sync.identity import linkcsv
    try:
        return read()
    except linkcsv.InputError as exc:
        raise click.ClickException(f"{path}: " + _(_REGISTER_ERRORS[exc.kind]) % exc.params) from None
    except UnicodeError:
        raise click.ClickException(_("%(file)s is not text in UTF-8, GB18030 (GBK) or UTF-16")
                                   % {"file": path}) from None
    except csv.Error as exc:
        raise click.ClickException(_("%(file)s is not a readable CSV file: %(why)s") % {"file": path, "why": exc}) \
            from None
    except OSError as exc:
        raise click.ClickException(_("cannot read %(file)s: %(why)s") % {"file": path, "why": exc.strerror}) from None


def _write_csv(path, header, rows):
    try:
        with open(path, "w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
    except OSError as exc:
        raise click.ClickException(_("cannot write %(file)s: %(why)s") % {"file": path, "why": exc.strerror}) \
            from None


#: what is wrong with a register file (sync.identity.linkcsv.InputError.kind), in the reader's language
_REGISTER_ERRORS = {
    "empty": N_("the file is empty: it needs a header line naming the columns"),
    "no_name": N_("no name column: the header must name the person's name (姓名 or name); it names %(header)s"),
    "empty_id": N_("line %(line)d: the record id is empty"),
    "repeated_id": N_("line %(line)d: the record id %(id)s appears twice"),
}


def _register_records():
    """The server's persons as link records (personal fields decrypted only in memory)."""
    from .models import Household, Person
    from .services.records import vault
    v = vault()
    query = select(Person, Household.address).join(Household, Household.id == Person.household_id) \
        .where(Person.deleted.is_(False))
    return [{"record_id": f"register:{p.id}", "name": p.name, "id_number": v.decrypt(p.id_number_enc) or "",
             "gender": p.gender or "", "birth_date": p.birth_date.isoformat() if p.birth_date else "",
             "phone": v.decrypt(p.phone_enc) or "", "address": address or ""}
            for p, address in db.session.execute(query).all()]


COMMANDS = (refresh_review_cmd, create_admin_cmd, create_worker_cmd, create_department_cmd, import_areas_cmd,
            import_accounts_cmd, seed_demo_cmd, demo_cmd, revoke_device_cmd, disable_worker_cmd, reset_sync_epoch_cmd,
            run_scheduler_cmd, link_register_cmd, webhook_status_cmd)


def register_commands(app):
    for cmd in COMMANDS:
        app.cli.add_command(cli_i18n.speak(cmd))


class Gridsync(FlaskGroup):
    """Flask's command group, saying its help and the commands it brings in the reader's language."""

    def get_command(self, ctx, name):
        cmd = super().get_command(ctx, name)
        if cmd is not None and cmd not in COMMANDS:
            cli_i18n.speak(cmd, theirs=True, name=name)
        return cmd


def make_group():
    """The ``gridsync`` command group, in the environment's language (Chinese by default)."""
    from . import create_app
    os.environ.setdefault("FLASK_APP", "server")
    cli_i18n.use()
    cli_i18n.teach_click()
    group = Gridsync(create_app=create_app, add_default_commands=True, help=cli_i18n.GROUP_HELP)
    return cli_i18n.speak(group)


def main():
    import sys

    from sync.checklist import ChecklistConfigError

    from .config import ConfigError
    group = make_group()
    try:
        group(prog_name="gridsync")
    except (ConfigError, ChecklistConfigError) as exc:
        # a setting the server cannot use: one line naming it, no traceback
        click.echo(_("gridsync: configuration: %(problem)s") % {"problem": exc}, err=True)
        sys.exit(2)
