"""``gridsync import-accounts``: a city's accounts from one CSV, checked whole, passwords to a 0600 file."""
import csv
import os
import stat

import pytest
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from server.extensions import db
from server.models import Area, Department, Worker, WorkerGrid
from server.services.account_import import hash_all
from server.services.accounts import create_department
from tests.city import make_city

HEADER = "username,role,display_name,area,grids,department,work_phone\n"
GOOD = HEADER + (
    "zhang,grid_worker,张三,C1,\"G1,G2\",,\n"
    "wang,grid_worker,王五,C2,G3,,\n"
    "liu,community,刘社区,C1,,,0571-1111\n"
    "chen,street,陈街道,S1,,,\n"
    "zhao,district,赵区,D1,,,\n"
    "wj,department,卫健甲,,,WJ-D1,0571-2222\n"
    "mz,bureau,民政局,,,,\n"
)


@pytest.fixture
def cli(app):
    with app.app_context():
        make_city()
        create_department("WJ-D1", "区卫健局", "district", db.session.execute(
            select(Area).where(Area.code == "D1")).scalar_one())
        db.session.commit()
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=[str(a) for a in args])


def write(tmp_path, content):
    path = tmp_path / "accounts.csv"
    path.write_text(content, encoding="utf-8")
    return path


def workers(app):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(Worker)).scalar_one()


def test_a_good_file_imports_every_account_and_they_log_in(app, cli, tmp_path):
    before = workers(app)
    out = tmp_path / "passwords.csv"
    result = cli("import-accounts", write(tmp_path, GOOD), "--passwords-out", out)
    assert result.exit_code == 0, result.output
    assert "7 accounts imported" in result.output
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    with out.open(encoding="utf-8") as f:
        passwords = {r["username"]: r["password"] for r in csv.DictReader(f)}
    assert sorted(passwords) == sorted(["zhang", "wang", "liu", "chen", "zhao", "wj", "mz"])
    for pw in passwords.values():
        assert pw not in result.output and len(pw) == 23
    assert len(set(passwords.values())) == 7
    assert workers(app) == before + 7
    with app.app_context():
        by_name = {w.username: w for w in db.session.execute(
            select(Worker).where(Worker.username.in_(passwords))).scalars()}
        codes = {a.id: a.code for a in db.session.execute(select(Area)).scalars()}
        for name, (role, area) in {"zhang": ("grid_worker", "C1"), "wang": ("grid_worker", "C2"),
                                   "liu": ("community", "C1"), "chen": ("street", "S1"),
                                   "zhao": ("district", "D1"), "wj": ("department", None),
                                   "mz": ("bureau", None)}.items():
            w = by_name[name]
            assert (w.role, codes.get(w.area_id)) == (role, area)
            assert check_password_hash(w.password_hash, passwords[name])
        assert by_name["zhang"].display_name == "张三" and by_name["liu"].work_phone == "0571-1111"
        dept = db.session.execute(select(Department).where(Department.code == "WJ-D1")).scalar_one()
        assert by_name["wj"].department_id == dept.id and by_name["wj"].work_phone == "0571-2222"
        grids = db.session.execute(select(Area.code).join(WorkerGrid, WorkerGrid.grid_id == Area.id).where(
            WorkerGrid.worker_id == by_name["zhang"].id)).scalars().all()
        assert sorted(grids) == ["G1", "G2"]
    client = app.test_client()
    for name in ("zhang", "liu"):
        resp = client.post("/api/v1/auth/token", json={"username": name, "password": passwords[name],
                                                       "device_id": "t-" + name})
        assert resp.status_code == 201, resp.json
    assert len(client.post("/api/v1/auth/token", json={"username": "zhang", "password": passwords["zhang"],
                                                       "device_id": "t-zhang"}).json["worker"]["grid_ids"]) == 2
    assert client.post("/api/v1/auth/token", json={"username": "zhang", "password": passwords["wang"],
                                                   "device_id": "t-zhang"}).status_code == 401


@pytest.mark.parametrize("bad_row,fragment", [
    ("bad,grid_worker,,C9,G1,,", "no area with code 'C9'"),
    ("bad,grid_worker,,C1,G9,,", "no grid with code 'G9'"),
    ("bad,grid_worker,,C1,G3,,", "grid G3 is outside area C1"),
    ("bad,chief,,C1,,,", "role 'chief' is not one of"),
    ("zhang,community,,C1,,,", "username 'zhang' is also on line 2"),
    ("w1,community,,C1,,,", "a worker named 'w1' exists already"),
    ("bad,department,,,,NOPE,", "no department with code 'NOPE'"),
    ("bad,street,,C1,,,", "a street staff answers for a street, and C1 is a community"),
])
def test_one_bad_row_writes_nothing_and_names_its_line(app, cli, tmp_path, bad_row, fragment):
    before = workers(app)
    out = tmp_path / "passwords.csv"
    lines = GOOD.splitlines()
    content = "\n".join(lines[:4] + [bad_row] + lines[4:]) + "\n"   # the bad row is line 5
    result = cli("import-accounts", write(tmp_path, content), "--passwords-out", out)
    assert result.exit_code == 1, result.output
    assert f"line 5: {fragment}" in result.output
    assert "nothing was imported" in result.output and "Traceback" not in result.output
    assert not out.exists()
    assert workers(app) == before


def test_every_bad_row_is_reported(app, cli, tmp_path):
    content = HEADER + "a,grid_worker,,C9,G1,,\nb,chief,,C1,,,\nc,community,,C1,,,\n"
    result = cli("import-accounts", write(tmp_path, content), "--passwords-out", tmp_path / "p.csv")
    assert result.exit_code == 1
    assert "line 2: no area with code 'C9'" in result.output and "line 3: role 'chief'" in result.output
    assert "line 4" not in result.output and "2 problems" in result.output


def test_a_missing_column_writes_nothing(app, cli, tmp_path):
    before = workers(app)
    result = cli("import-accounts", write(tmp_path, "username,role,area\nzz,community,C1\n"),
                 "--passwords-out", tmp_path / "p.csv")
    assert result.exit_code == 1
    assert "line 1: the CSV lacks columns: grids" in result.output
    assert workers(app) == before and not (tmp_path / "p.csv").exists()


def test_an_existing_passwords_file_is_not_overwritten(app, cli, tmp_path):
    before = workers(app)
    out = tmp_path / "p.csv"
    out.write_text("keep me", encoding="utf-8")
    result = cli("import-accounts", write(tmp_path, GOOD), "--passwords-out", out)
    assert result.exit_code == 1 and "exists already" in result.output
    assert out.read_text(encoding="utf-8") == "keep me" and workers(app) == before


def test_hashing_in_a_pool_gives_hashes_that_check():
    passwords = [f"pw-{i}" for i in range(250)]
    hashes = hash_all(passwords, "pbkdf2:sha256:1000", workers=2)
    assert len(hashes) == 250
    assert all(check_password_hash(h, p) for h, p in zip(hashes[::50], passwords[::50]))
    assert not check_password_hash(hashes[0], passwords[1])


@pytest.mark.parametrize("content,fragment", [
    (HEADER.encode() + "zhang,grid_worker,张三,C1,G1,,\n".encode("gbk"), "the file is not UTF-8 text"),
    (HEADER.encode(), "the CSV has no accounts"),
    (b"", "line 1: the CSV lacks columns: username, role, area, grids"),
])
def test_an_unreadable_or_empty_file_is_a_clean_error(app, cli, tmp_path, content, fragment):
    before = workers(app)
    path = tmp_path / "accounts.csv"
    path.write_bytes(content)
    result = cli("import-accounts", path, "--passwords-out", tmp_path / "p.csv")
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert fragment in result.output
    assert workers(app) == before and not (tmp_path / "p.csv").exists()


def test_a_cheap_hash_still_costs_a_full_check_at_log_in(app, cli, tmp_path, monkeypatch):
    """With scrypt configured, logging in with an imported password also runs the dummy scrypt check."""
    import server.auth as auth
    out = tmp_path / "passwords.csv"
    assert cli("import-accounts", write(tmp_path, GOOD), "--passwords-out", out).exit_code == 0
    with out.open(encoding="utf-8") as f:
        password = next(r["password"] for r in csv.DictReader(f) if r["username"] == "zhang")
    checked = []
    real = auth.check_password_hash
    monkeypatch.setattr(auth, "check_password_hash", lambda h, p: checked.append(h.split("$")[0]) or real(h, p))
    with app.app_context():
        app.config["PASSWORD_HASH_METHOD"] = "scrypt"
        assert auth.authenticate("zhang", password).username == "zhang"
    assert checked == ["pbkdf2:sha256:1000", "scrypt:32768:8:1"]
