"""Accounts for a whole city from one CSV: validated whole, then written in one transaction.

Hashing is the cost of creating an account (scrypt takes about half a second here). Imported
accounts get random one-time passwords of 100 bits, which no one can guess however fast the
hash is, so they are hashed with ``IMPORT_PASSWORD_HASH_METHOD`` (a werkzeug method that
``check_password_hash`` reads like any other) in a process pool; passwords people choose keep
``PASSWORD_HASH_METHOD``.
"""
import csv
import os
import secrets
import uuid
from concurrent.futures import ProcessPoolExecutor

from flask import current_app
from sqlalchemy import insert, select
from werkzeug.security import generate_password_hash

from sync.messages import N_

from ..extensions import db
from ..models import ROLES, Area, Department, Worker, WorkerGrid

REQUIRED = ("username", "role", "area", "grids")
OPTIONAL = ("display_name", "department", "work_phone")
#: roles that answer for an area, and the level it must be
AREA_LEVEL = {"grid_worker": "community", "community": "community", "street": "street", "district": "district"}
#: no 0/o, 1/l/i: read off paper and typed on a tablet
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


class Problem(tuple):
    """A problem of the file as facts: ``(line or None, message id, params)``, said in the
    reader's language by ``problem_text``; ``str()`` is the English."""

    def __new__(cls, at, words, **params):
        return super().__new__(cls, (at, words, params))

    def __str__(self):
        return problem_text(self, lambda text: text)


def problem_text(problem, gettext):
    from sync import messages
    line, words, params = problem
    named = {"role": messages.ROLES, "level": messages.LEVELS, "is": messages.LEVELS}
    said = gettext(words) % {k: messages.name(named[k], v, gettext) if k in named else v for k, v in params.items()}
    return gettext(N_("line %(line)d: %(problem)s")) % {"line": line, "problem": said} if line else said


class ImportRefused(Exception):
    """The file has problems; ``problems`` lists them (``Problem``), and nothing was written."""

    def __init__(self, problems):
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


def one_time_password():
    """Four groups of five from a 31-letter alphabet: about 99 bits."""
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(5)) for _ in range(4))


def read_rows(stream):
    """The CSV's rows as ``(line, row)``, or ImportRefused naming the missing columns."""
    reader = csv.DictReader(stream)
    try:
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or ())]
        if missing:
            raise ImportRefused([Problem(1, N_("the CSV lacks columns: %(columns)s"), columns=", ".join(missing))])
        rows = [(reader.line_num, {k: (v or "").strip() if isinstance(v, str) else "" for k, v in row.items()
                                   if k is not None}) for row in reader]
    except UnicodeDecodeError:
        # decoded in blocks, so the line is not known
        raise ImportRefused([Problem(None, N_("the file is not UTF-8 text; save it as CSV UTF-8"))]) from None
    except csv.Error as exc:
        raise ImportRefused([Problem(reader.line_num, N_("not readable as CSV (%(why)s)"), why=str(exc))]) from None
    if not rows:
        raise ImportRefused([Problem(None, N_("the CSV has no accounts under its header"))])
    return rows


def validate(rows):
    """Every row's problems, and for a clean file the accounts to create."""
    areas = {a.code: a for a in db.session.execute(select(Area)).scalars()}
    departments = {d.code: d for d in db.session.execute(select(Department)).scalars()}
    existing = set(db.session.execute(select(Worker.username)).scalars())
    seen, problems, accounts = {}, [], []
    for line, row in rows:
        said = []
        username, role = row["username"], row["role"]
        if not username:
            said.append((N_("empty username"), {}))
        elif len(username) > 64:
            said.append((N_("username longer than 64 characters"), {}))
        elif username in seen:
            said.append((N_("username %(user)r is also on line %(line)d"), {"user": username, "line": seen[username]}))
        elif username in existing:
            said.append((N_("a worker named %(user)r exists already"), {"user": username}))
        seen.setdefault(username, line)
        if role not in ROLES:
            said.append((N_("role %(typed)r is not one of %(roles)s"), {"typed": role, "roles": ", ".join(ROLES)}))
        area = None
        if row["area"]:
            area = areas.get(row["area"])
            if area is None:
                said.append((N_("no area with code %(code)r"), {"code": row["area"]}))
            elif role in AREA_LEVEL and area.level != AREA_LEVEL[role]:
                said.append((N_("a %(role)s answers for a %(level)s, and %(code)s is a %(is)s"),
                             {"role": role, "level": AREA_LEVEL[role], "code": area.code, "is": area.level}))
        elif role in AREA_LEVEL:
            said.append((N_("a %(role)s needs an area"), {"role": role}))
        grids = []
        for code in filter(None, (c.strip() for c in row["grids"].split(","))):
            grid = areas.get(code)
            if grid is None:
                said.append((N_("no grid with code %(code)r"), {"code": code}))
            elif grid.level != "grid":
                said.append((N_("%(code)s is a %(level)s, not a grid"), {"code": code, "level": grid.level}))
            elif area is not None and not grid.path.startswith(area.path):
                said.append((N_("grid %(code)s is outside area %(area)s"), {"code": code, "area": area.code}))
            else:
                grids.append(grid)
        if grids and role != "grid_worker":
            said.append((N_("only a grid_worker has grids"), {}))
        if role == "grid_worker" and not row["grids"]:
            said.append((N_("a grid_worker needs grids"), {}))
        department = None
        code = row.get("department", "")
        if role == "department":
            department = departments.get(code)
            if department is None:
                said.append((N_("no department with code %(code)r"), {"code": code}) if code
                            else (N_("a department's staff need a department"), {}))
        elif code:
            said.append((N_("only role department names a department"), {}))
        if len(row.get("work_phone", "")) > 32 or len(row.get("display_name", "")) > 128:
            said.append((N_("display_name (128) or work_phone (32) too long"), {}))
        problems += [Problem(line, words, **params) for words, params in said]
        if not said:
            accounts.append((row, role, area, grids, department))
    return problems, accounts


def _open_private(path):
    """Created here, mode 0600 from the start, never over an existing file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.fchmod(fd, 0o600)  # whatever the umask
    return os.fdopen(fd, "w", encoding="utf-8", newline="")


def import_accounts(stream, passwords_path, workers=None):
    """Import the CSV in ``stream``; write ``username,password`` lines to ``passwords_path``.
    Returns the number of accounts. Raises ImportRefused (nothing written) or FileExistsError."""
    problems, accounts = validate(read_rows(stream))
    if problems:
        raise ImportRefused(problems)
    if os.path.exists(passwords_path):
        raise FileExistsError(passwords_path)
    passwords = [one_time_password() for _ in accounts]
    method = current_app.config["IMPORT_PASSWORD_HASH_METHOD"]
    hashes = hash_all(passwords, method, workers)
    worker_rows, grid_rows = [], []
    for (row, role, area, grids, department), password_hash in zip(accounts, hashes):
        wid = uuid.uuid4()
        worker_rows.append(dict(id=wid, username=row["username"], display_name=row.get("display_name") or row["username"],
                                role=role, area_id=area.id if area else None,
                                department_id=department.id if department else None,
                                work_phone=row.get("work_phone") or None, password_hash=password_hash, active=True,
                                session_epoch=0))
        grid_rows += [dict(worker_id=wid, grid_id=g.id) for g in grids]
    try:
        with _open_private(passwords_path) as out:
            writer = csv.writer(out)
            writer.writerow(("username", "password"))
            writer.writerows((row["username"], pw) for (row, *_), pw in zip(accounts, passwords))
        if worker_rows:
            db.session.execute(insert(Worker), worker_rows)
        if grid_rows:
            db.session.execute(insert(WorkerGrid), grid_rows)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        if os.path.exists(passwords_path):
            os.unlink(passwords_path)
        raise
    return len(worker_rows)


def _hash_chunk(args):
    passwords, method = args
    return [generate_password_hash(p, method=method) for p in passwords]


def hash_all(passwords, method, workers=None):
    """Hash in a process pool (one process per core); a small batch in this process."""
    workers = workers or os.cpu_count() or 1
    if workers == 1 or len(passwords) < 200:
        return _hash_chunk((passwords, method))
    size = -(-len(passwords) // (workers * 4))
    chunks = [(passwords[i:i + size], method) for i in range(0, len(passwords), size)]
    with ProcessPoolExecutor(workers) as pool:
        return [h for part in pool.map(_hash_chunk, chunks) for h in part]
