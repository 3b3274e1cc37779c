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

from sync.errors import InvalidInput

from .extensions import db
from .models import DEPARTMENT_LEVELS, ROLES, Area, Department, Worker
from .services import account_import, accounts


def create_area(*args, **kwargs):
    """``services.accounts.create_area``, its refusal as a command-line error."""
    try:
        return accounts.create_area(*args, **kwargs)
    except InvalidInput as exc:
        raise click.ClickException(exc.message) from None


def create_worker(*args, **kwargs):
    try:
        return accounts.create_worker(*args, **kwargs)
    except InvalidInput as exc:
        raise click.ClickException(exc.message) from None



def _area_by_code(code):
    area = db.session.execute(select(Area).where(Area.code == code)).scalar_one_or_none()
    if area is None:
        raise click.ClickException(f"no area with code {code!r}")
    return area


def _password(value):
    return value or click.prompt("password", hide_input=True, confirmation_prompt=True)


@click.command("create-admin")
@click.argument("username")
@click.option("--password", envvar="GRIDSYNC_ADMIN_PASSWORD", help="asked for when not given")
@with_appcontext
def create_admin_cmd(username, password):
    """Create an administrator account."""
    create_worker(username, _password(password), "admin")
    db.session.commit()
    click.echo(f"admin {username} created")


@click.command("create-worker")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--name", "display_name")
@click.option("--area", "area_code", help="code of the area a staff member answers for")
@click.option("--grids", default="", help="comma-separated grid codes (grid workers)")
@click.option("--department", "department_code", help="code of the department (role department)")
@click.option("--phone", "work_phone", help="work phone, shown on the cases this person holds")
@click.option("--password", envvar="GRIDSYNC_WORKER_PASSWORD", help="asked for when not given")
@with_appcontext
def create_worker_cmd(username, role, display_name, area_code, grids, department_code, work_phone, password):
    """Create a worker with a role, an area and (for grid workers) grids, or (for a department's
    staff) a department."""
    area = _area_by_code(area_code) if area_code else None
    grid_rows = [_area_by_code(c.strip()) for c in grids.split(",") if c.strip()]
    department = None
    if department_code:
        department = db.session.execute(select(Department).where(Department.code == department_code)).scalar_one_or_none()
        if department is None:
            raise click.ClickException(f"no department with code {department_code!r}")
    create_worker(username, _password(password), role, display_name, area, grid_rows, department=department,
                  work_phone=work_phone)
    db.session.commit()
    click.echo(f"{role} {username} created")


@click.command("create-department")
@click.argument("code")
@click.argument("name")
@click.option("--level", type=click.Choice(DEPARTMENT_LEVELS), required=True)
@click.option("--area", "area_code", help="code of the district or street it serves (default: the whole city)")
@click.option("--report-hours", type=int, default=24, show_default=True, help="hours to report in once summoned")
@click.option("--answer-hours", type=int, default=72, show_default=True, help="hours from the summons to answer")
@with_appcontext
def create_department_cmd(code, name, level, area_code, report_hours, answer_hours):
    """Add a department that a case may summon (街乡吹哨、部门报到)."""
    area = _area_by_code(area_code) if area_code else None
    try:
        accounts.create_department(code, name, level, area, report_hours, answer_hours)
    except InvalidInput as exc:
        raise click.ClickException(exc.message) from None
    db.session.commit()
    click.echo(f"department {code} {name} created")


@click.command("import-areas")
@click.argument("csv_file", type=click.File(encoding="utf-8-sig"))
@with_appcontext
def import_areas_cmd(csv_file):
    """Import areas from a CSV with columns code,name,level,parent_code (parents first)."""
    reader = csv.DictReader(csv_file)
    missing = {"code", "name", "level", "parent_code"} - set(reader.fieldnames or ())
    if missing:
        raise click.ClickException(f"the CSV lacks columns: {', '.join(sorted(missing))}")
    by_code = {}
    count = 0
    for line, row in enumerate(reader, start=2):
        code = row["code"].strip()
        if not code:
            raise click.ClickException(f"line {line}: empty code")
        if code in by_code or db.session.execute(select(Area.id).where(Area.code == code)).first():
            raise click.ClickException(f"line {line}: area code {code!r} exists already")
        parent = None
        if row["parent_code"].strip():
            parent = by_code.get(row["parent_code"].strip()) or _area_by_code(row["parent_code"].strip())
        try:
            by_code[code] = create_area(code, row["name"].strip(), row["level"].strip(), parent)
        except click.ClickException as exc:
            raise click.ClickException(f"line {line}: {exc.message}") from None
        count += 1
    db.session.commit()
    click.echo(f"{count} areas imported")


@click.command("import-accounts")
@click.argument("csv_file", type=click.File(encoding="utf-8-sig"))
@click.option("--passwords-out", type=click.Path(dir_okay=False), required=True,
              help="new file (mode 0600) for each account's one-time password; never printed")
@with_appcontext
def import_accounts_cmd(csv_file, passwords_out):
    """Import accounts from a CSV with columns username,role,area,grids and optionally
    display_name,department,work_phone. The whole file is checked first: any bad row, or a
    username that exists already, and nothing is written."""
    try:
        count = account_import.import_accounts(csv_file, passwords_out)
    except account_import.ImportRefused as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        raise click.ClickException(f"{len(exc.problems)} problem(s) in {csv_file.name}; nothing was imported") from None
    except FileExistsError:
        raise click.ClickException(f"{passwords_out} exists already; name a new file") from None
    click.echo(f"{count} accounts imported; one-time passwords in {passwords_out}")


@click.command("seed-demo")
@click.option("--households", default=2000, show_default=True)
@click.option("--seed", default=7, show_default=True)
@with_appcontext
def seed_demo_cmd(households, seed):
    """Fill an empty database with a demo city and print its logins."""
    from .demo import DEMO_LOGINS, seed_demo
    if db.session.execute(select(func.count()).select_from(Area)).scalar_one():
        raise click.ClickException("the database already has areas; seed-demo only fills an empty one")
    stats = seed_demo(households=households, seed=seed)
    click.echo("demo city: " + ", ".join(f"{v} {k}" for k, v in stats.items()))
    click.echo("demo logins (username / password / role):")
    for username, password, role, what in DEMO_LOGINS:
        click.echo(f"  {username:12} {password:16} {role:12} {what}")


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.pass_context
@with_appcontext
def demo_cmd(ctx, host, port):
    """Migrate the database, seed the demo city if it is empty, and serve it."""
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
    click.echo(f"serving on http://{host}:{port}  (review pages: /review, API: /api/v1, "
               "OpenAPI: /api/v1/openapi.json)")
    from .jobs import start_scheduler
    start_scheduler(app)
    # Flask refuses app.run() inside its own CLI; the demo serves with werkzeug directly.
    from werkzeug.serving import run_simple
    run_simple(host, port, app, threaded=True)


@click.command("revoke-device")
@click.argument("device_id")
@with_appcontext
def revoke_device_cmd(device_id):
    """Revoke a lost or stolen device: its tokens stop working and it cannot log in again."""
    from .models import Device
    from .services.admin import revoke_device
    device = db.session.get(Device, device_id)
    if device is None:
        raise click.ClickException(f"no device {device_id!r}")
    revoke_device(device)        # the same as the admin page's button (/admin/devices)
    db.session.commit()
    click.echo(f"device {device_id} revoked")


@click.command("disable-worker")
@click.argument("username")
@with_appcontext
def disable_worker_cmd(username):
    """Disable an account: its tokens stop working at once."""
    worker = db.session.execute(select(Worker).where(Worker.username == username)).scalar_one_or_none()
    if worker is None:
        raise click.ClickException(f"no worker {username!r}")
    worker.active = False
    db.session.commit()
    click.echo(f"worker {username} disabled")


@click.command("reset-sync-epoch")
@with_appcontext
def reset_sync_epoch_cmd():
    """After restoring the database from a backup: every device's cursor is then refused and
    devices pull from the start (keeping their unsent changes), so none trusts a lost future."""
    from .models import SyncState
    state = db.session.get(SyncState, 1)
    state.epoch = uuid.uuid4().hex[:12]
    db.session.commit()
    click.echo(f"sync epoch is now {state.epoch}")


@click.command("run-scheduler")
@with_appcontext
def run_scheduler_cmd():
    """Run the scheduled jobs (escalation of overdue flags) in the foreground. Safe to run in
    several processes at once: only one acts in each round."""
    from .jobs import start_scheduler
    click.echo(f"escalation job every {current_app.config['ESCALATION_INTERVAL_S']} s; Ctrl-C stops")
    start_scheduler(current_app._get_current_object(), blocking=True)


@click.command("webhook-status")
@click.option("--limit", default=100, show_default=True, help="how many undelivered events to list")
@with_appcontext
def webhook_status_cmd(limit):
    """List the city's webhook events not yet delivered, oldest first, with attempts and last error."""
    from .models import WebhookOutbox
    from .services.webhooks import status
    url = current_app.config.get("WEBHOOK_URL")
    sent = db.session.execute(select(func.count()).select_from(WebhookOutbox)
                              .where(WebhookOutbox.sent_at.is_not(None))).scalar()
    pending = status(limit)
    click.echo(f"webhook: {url or 'not configured'}; {sent} delivered, {len(pending)} waiting")
    for row in pending:
        next_at = row.next_at.isoformat(timespec="seconds") if row.next_at else "-"
        click.echo(f"{row.id}  {row.kind:<9}  queued {row.created_at.isoformat(timespec='seconds')}  "
                   f"attempts {row.attempts}  next {next_at}  last error: {row.last_error or '-'}")


@click.command("refresh-review")
@click.option("--full", is_flag=True, help="recount visits per day from the visits too")
@with_appcontext
def refresh_review_cmd(full):
    """Bring the review roll-ups up to date now (the scheduler does it every few minutes)."""
    from .services.review import refresh
    took = refresh(wait=True, full=full or None)
    click.echo(f"review roll-ups {'rebuilt' if full else 'brought up to date'} in {took:.1f} s")


@click.command("link-register")
@click.argument("input_csv")
@click.argument("output_csv")
@click.option("--against-register", is_flag=True,
              help="also link against the persons the server holds; adds a register_person_id column")
@click.option("--workers", type=int, default=None, help="processes (default: all CPUs)")
@with_appcontext
def link_register_cmd(input_csv, output_csv, against_register, workers):
    """Link a register CSV (record_id,name,id_number,gender,birth_date,phone,address): write
    record_id,cluster_id, rows of one person sharing a cluster. With --against-register an
    imported civil-affairs list is linked against the server's own persons as well."""
    from sync.identity import linkcsv
    if not against_register:
        code = linkcsv.main([input_csv, output_csv] + (["--workers", str(workers)] if workers else []))
        if code:
            raise click.exceptions.Exit(code)
        return
    from sync.identity.linkage import link_records
    try:
        with open(input_csv, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = set(linkcsv.COLUMNS) - set(reader.fieldnames or ())
            if missing:
                raise click.ClickException(f"{input_csv}: missing columns {', '.join(sorted(missing))}")
            rows = [{k: (row.get(k) or "").strip() for k in linkcsv.COLUMNS} for row in reader]
    except OSError as exc:
        raise click.ClickException(f"cannot read {input_csv}: {exc.strerror}") from None
    register = _register_records()
    clusters = link_records(rows + register, workers=workers)
    members = {}
    for rec in register:
        members.setdefault(clusters[rec["record_id"]], rec["record_id"][len("register:"):])
    with open(output_csv, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["record_id", "cluster_id", "register_person_id"])
        for row in rows:
            cluster = clusters[row["record_id"]]
            writer.writerow([row["record_id"], cluster, members.get(cluster, "")])
    linked = sum(1 for row in rows if clusters[row["record_id"]] in members)
    click.echo(f"{len(rows)} records linked; {linked} match a person the server holds", err=True)


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


def register_commands(app):
    for cmd in (refresh_review_cmd, create_admin_cmd, create_worker_cmd, create_department_cmd, import_areas_cmd, import_accounts_cmd, seed_demo_cmd, demo_cmd,
                revoke_device_cmd, disable_worker_cmd, reset_sync_epoch_cmd, run_scheduler_cmd,
                link_register_cmd, webhook_status_cmd):
        app.cli.add_command(cmd)


def main():
    import sys

    from sync.checklist import ChecklistConfigError

    from . import create_app
    from .config import ConfigError
    os.environ.setdefault("FLASK_APP", "server")
    try:
        FlaskGroup(create_app=create_app, add_default_commands=True)(prog_name="gridsync")
    except (ConfigError, ChecklistConfigError) as exc:
        # a setting the server cannot use: one line naming it, no traceback
        click.echo(f"gridsync: configuration: {exc}", err=True)
        sys.exit(2)
