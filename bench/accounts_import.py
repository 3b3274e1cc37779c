"""Setting up a city's accounts: ``gridsync import-accounts`` against the per-call
``gridsync create-worker`` path, both with the production password hashing.

Builds a fresh migrated SQLite database in a temp dir (or, with ``--database-url``, a scratch
PostgreSQL database created there and dropped at the end), a city of communities with 24 grids
each, and a CSV of ``--accounts`` accounts (grid workers with 4 or 5 grids each, as Taizhou's
7,049 workers hold 33,900 grids, plus a community worker per community). Then:

- baseline: ``gridsync create-worker`` run as a command ``--baseline`` times (app start plus one
  scrypt hash each: what a city would do in a shell loop), and ``services.accounts.create_worker``
  in one process with scrypt (the hash alone);
- import: ``import_accounts`` on the whole CSV (validated whole, one-time passwords hashed with
  ``IMPORT_PASSWORD_HASH_METHOD`` in a process pool, one transaction), then checks a sample of
  the written passwords against the stored hashes.
"""
import argparse
import csv
import io
import os
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from benchapp import app_config, migrate  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GRIDS_PER_COMMUNITY = 24


def build_city(accounts):
    """Areas by bulk insert; returns the CSV text for ``accounts`` accounts."""
    from sqlalchemy import insert

    from server.extensions import db
    from server.models import Area
    communities = max(1, -(-accounts // 6))   # five grid workers and one community worker each
    rows, lines = [], ["username,role,display_name,area,grids,department,work_phone"]
    city_id = uuid.uuid4()
    rows.append(dict(id=city_id, code="X", name="市", level="city", parent_id=None, path="/X/"))
    d_id = uuid.uuid4()
    rows.append(dict(id=d_id, code="D", name="区", level="district", parent_id=city_id, path="/X/D/"))
    s_id = uuid.uuid4()
    rows.append(dict(id=s_id, code="S", name="街道", level="street", parent_id=d_id, path="/X/D/S/"))
    n = 0
    for c in range(communities):
        cc, c_id = f"C{c}", uuid.uuid4()
        rows.append(dict(id=c_id, code=cc, name=f"社区{c}", level="community", parent_id=s_id,
                         path=f"/X/D/S/{cc}/"))
        grids = [f"G{c}-{g}" for g in range(GRIDS_PER_COMMUNITY)]
        rows += [dict(id=uuid.uuid4(), code=g, name=g, level="grid", parent_id=c_id, path=f"/X/D/S/{cc}/{g}/")
                 for g in grids]
        for w in range(6):
            if n == accounts:
                break
            if w == 5:
                lines.append(f"c{c},community,社区员{c},{cc},,,0571-{c:06d}")
            else:
                mine = grids[w * 5:w * 5 + (5 if w % 5 else 4)]
                lines.append(f"g{c}-{w},grid_worker,网格员{c}-{w},{cc},\"{','.join(mine)}\",,")
            n += 1
    db.session.execute(insert(Area), rows)
    db.session.commit()
    return "\n".join(lines) + "\n", len(rows)


def baseline_cli(url, count, tmp):
    """``gridsync create-worker`` as a command, the production hashing (scrypt) and keys from the env."""
    from server.config import TestConfig
    env = dict(os.environ, DATABASE_URL=url.replace("postgresql+psycopg://", "postgresql://"),
               GRIDSYNC_SECRET_KEY="bench", GRIDSYNC_PII_KEY=TestConfig.PII_KEY,
               GRIDSYNC_BLIND_INDEX_KEY=TestConfig.BLIND_INDEX_KEY, GRIDSYNC_WORKER_PASSWORD="bench-pw-123")
    exe = os.path.join(os.path.dirname(sys.executable), "gridsync")
    start = time.perf_counter()
    for i in range(count):
        subprocess.run([exe, "create-worker", f"base{i}", "--role", "community", "--area", "C0"], cwd=tmp, env=env,
                       check=True, capture_output=True)
    return (time.perf_counter() - start) / count


def baseline_service(count):
    from werkzeug.security import generate_password_hash
    start = time.perf_counter()
    for i in range(count):
        generate_password_hash(f"bench-pw-{i}", method="scrypt")
    return (time.perf_counter() - start) / count


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=7049)
    parser.add_argument("--baseline", type=int, default=3, help="create-worker calls timed")
    parser.add_argument("--database-url", help="a PostgreSQL server; a scratch database is made there")
    args = parser.parse_args()

    from server import create_app
    from server.config import Config
    from server.extensions import db
    from server.services.account_import import import_accounts

    with tempfile.TemporaryDirectory() as tmp:
        scratch = None
        if args.database_url:
            import psycopg
            admin = args.database_url.replace("postgresql+psycopg://", "postgresql://")
            scratch = f"bench_accounts_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{scratch}"')
            url = "postgresql+psycopg://" + admin.split("://", 1)[1].rsplit("/", 1)[0] + "/" + scratch
        else:
            url = "sqlite:///" + os.path.join(tmp, "bench.db")
        try:
            migrate(url)
            cfg = app_config(url)
            cfg["PASSWORD_HASH_METHOD"] = Config.PASSWORD_HASH_METHOD
            cfg["IMPORT_PASSWORD_HASH_METHOD"] = Config.IMPORT_PASSWORD_HASH_METHOD
            app = create_app(cfg)
            with app.app_context():
                text, areas = build_city(args.accounts)
                db.session.remove()
            print(f"city: {areas} areas, {args.accounts} accounts in the CSV, {os.cpu_count()} cores")
            cli_s = baseline_cli(url, args.baseline, tmp)
            hash_s = baseline_service(args.baseline)
            print(f"baseline create-worker command: {cli_s:.2f} s per account "
                  f"(7,049 accounts: {cli_s * 7049 / 3600:.1f} h); scrypt alone {hash_s:.2f} s per account")
            out = os.path.join(tmp, "passwords.csv")
            with app.app_context():
                start = time.perf_counter()
                n = import_accounts(io.StringIO(text), out)
                seconds = time.perf_counter() - start
                from sqlalchemy import select
                from werkzeug.security import check_password_hash

                from server.models import Worker
                with open(out, encoding="utf-8") as f:
                    sample = list(csv.DictReader(f))[::max(1, n // 20)]
                for row in sample:
                    stored = db.session.execute(select(Worker.password_hash).where(
                        Worker.username == row["username"])).scalar_one()
                    assert check_password_hash(stored, row["password"]), row["username"]
                db.session.remove()
                db.engine.dispose()
            per_s = n / seconds
            print(f"import-accounts: {n} accounts in {seconds:.1f} s ({per_s:.0f} per s, "
                  f"{cli_s * n / seconds:.0f}x the create-worker command, "
                  f"{hash_s * n / seconds:.0f}x scrypt one by one); {len(sample)} passwords checked")
            print(f"RESULT accounts={n} seconds={seconds:.2f} per_s={per_s:.0f} "
                  f"baseline_s_per_account={cli_s:.2f} speedup={cli_s * n / seconds:.0f}")
        finally:
            if scratch:
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')


if __name__ == "__main__":
    main()
