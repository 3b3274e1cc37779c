"""The command line through Flask's CLI runner: import-areas, create-worker, create-admin, seed-demo.

Commands are invoked with no app context pushed, as from a shell; each opens its own, and what it
leaves behind is read afterwards in a fresh context.
"""
import re
import uuid

import pytest
from click.testing import Result
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from server.demo import DEMO_LOGINS
from server.extensions import db
from server.models import Area, Household, Person, Visit, Worker, WorkerGrid

HEADER = "code,name,level,parent_code\n"
GOOD = HEADER + ("X,测试市,city,\nD1,一区,district,X\nS1,一街道,street,D1\nC1,一社区,community,S1\n"
                 "G1,一网格,grid,C1\nG2,二网格,grid,C1\n")


def write_csv(tmp_path, content, name="areas.csv"):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def count(app, model, *where):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def assert_clean_error(result: Result, *fragments):
    """Exit status 1 with an ``Error: …`` line, no traceback."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Error:" in result.output and "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output


def test_import_areas_builds_the_tree(app, cli, tmp_path):
    result = cli("import-areas", write_csv(tmp_path, GOOD))
    assert result.exit_code == 0, result.output
    assert "6 areas imported" in result.output
    with app.app_context():
        areas = {a.code: a for a in db.session.execute(select(Area)).scalars()}
        assert set(areas) == {"X", "D1", "S1", "C1", "G1", "G2"}
        assert areas["G2"].path == "/X/D1/S1/C1/G2/"
        assert areas["G2"].parent_id == areas["C1"].id
        assert areas["X"].parent_id is None and areas["X"].level == "city"
        assert areas["S1"].name == "一街道"


def test_import_areas_accepts_a_bom_and_a_parent_already_in_the_database(app, cli, tmp_path):
    assert cli("import-areas", write_csv(tmp_path, GOOD)).exit_code == 0
    more = "\ufeff" + HEADER + "C2,二社区,community,S1\nG3,三网格,grid,C2\n"
    result = cli("import-areas", write_csv(tmp_path, more, "more.csv"))
    assert result.exit_code == 0, result.output
    with app.app_context():
        g3 = db.session.execute(select(Area).where(Area.code == "G3")).scalar_one()
        assert g3.path == "/X/D1/S1/C2/G3/"


def test_import_areas_csv_missing_a_column(app, cli, tmp_path):
    result = cli("import-areas", write_csv(tmp_path, "code,name,level\nX,测试市,city\n"))
    assert_clean_error(result, "parent_code")
    assert count(app, Area) == 0


@pytest.mark.parametrize("content,fragments", [
    (GOOD + "G9,坏网格,grid,S1\n", ("line 8", "a grid cannot sit under a street")),
    (HEADER + "X,测试市,city,\nD1,一区,district,X\nG9,坏网格,grid,D1\nS1,一街道,street,D1\n",
     ("line 4", "grid", "district")),
    (HEADER + "X,测试市,city,\nD1,一区,district,NOPE\n", ("NOPE",)),
    (HEADER + "X,测试市,city,\nD1,一区,county,X\n", ("line 3", "level must be one of")),
    (HEADER + "X,测试市,city,\nD1,一区,district,\n", ("line 3", "only a city has no parent")),
    (HEADER + "X,测试市,city,\n,无名,district,X\n", ("line 3", "empty code")),
])
def test_import_areas_bad_row_is_a_clean_error_and_imports_nothing(app, cli, tmp_path, content, fragments):
    result = cli("import-areas", write_csv(tmp_path, content))
    assert_clean_error(result, *fragments)
    # The rows before the bad one were not kept: the file goes in whole or not at all.
    assert count(app, Area) == 0


def test_import_areas_duplicate_code_is_a_clean_error(app, cli, tmp_path):
    """A code met twice (in the file, or already imported) should be named, not a traceback."""
    assert cli("import-areas", write_csv(tmp_path, GOOD)).exit_code == 0
    again = cli("import-areas", write_csv(tmp_path, HEADER + "C9,九社区,community,S1\nG1,一网格,grid,C9\n", "b.csv"))
    assert_clean_error(again, "G1")
    assert count(app, Area) == 6


def test_create_worker(app, cli, client, tmp_path):
    assert cli("import-areas", write_csv(tmp_path, GOOD)).exit_code == 0
    result = cli("create-worker", "li", "--role", "grid_worker", "--name", "李四", "--area", "C1",
                 "--grids", "G1, G2", "--password", "s3cret-pw")
    assert result.exit_code == 0, result.output
    assert "grid worker li created" in result.output
    with app.app_context():
        worker = db.session.execute(select(Worker).where(Worker.username == "li")).scalar_one()
        assert (worker.role, worker.display_name) == ("grid_worker", "李四")
        assert worker.password_hash != "s3cret-pw" and check_password_hash(worker.password_hash, "s3cret-pw")
        grids = db.session.execute(select(Area.code).join(WorkerGrid, WorkerGrid.grid_id == Area.id).where(
            WorkerGrid.worker_id == worker.id)).scalars().all()
        assert sorted(grids) == ["G1", "G2"]
    resp = client.post("/api/v1/auth/token", json={"username": "li", "password": "s3cret-pw", "device_id": "t1"})
    assert resp.status_code == 201
    assert len(resp.json["worker"]["grid_ids"]) == 2


@pytest.mark.parametrize("args,fragments", [
    (("--role", "grid_worker", "--grids", "C1"), ("C1 is a community, not a grid",)),
    (("--role", "grid_worker", "--grids", "G1,G404"), ("G404",)),
    (("--role", "street", "--area", "NOWHERE"), ("NOWHERE",)),
])
def test_create_worker_errors_create_nothing(app, cli, tmp_path, args, fragments):
    assert cli("import-areas", write_csv(tmp_path, GOOD)).exit_code == 0
    result = cli("create-worker", "zhao", *args, "--password", "pw")
    assert_clean_error(result, *fragments)
    assert count(app, Worker) == 0
    assert count(app, WorkerGrid) == 0


def test_create_worker_rejects_an_unknown_role_and_a_taken_name(app, cli, tmp_path):
    assert cli("import-areas", write_csv(tmp_path, GOOD)).exit_code == 0
    bad_role = cli("create-worker", "zhao", "--role", "mayor", "--password", "pw")
    assert bad_role.exit_code == 2 and "mayor" in bad_role.output
    assert cli("create-worker", "zhao", "--role", "bureau", "--password", "pw").exit_code == 0
    taken = cli("create-worker", "zhao", "--role", "bureau", "--password", "other")
    assert_clean_error(taken, "zhao", "exists already")
    assert count(app, Worker) == 1


def test_create_admin(app, cli, client):
    result = cli("create-admin", "boss", "--password", "admin-pw")
    assert result.exit_code == 0, result.output
    from_env = cli("create-admin", "boss2", env={"GRIDSYNC_ADMIN_PASSWORD": "env-pw"})
    assert from_env.exit_code == 0, from_env.output
    with app.app_context():
        admins = db.session.execute(select(Worker).where(Worker.role == "admin")).scalars().all()
        assert sorted(a.username for a in admins) == ["boss", "boss2"]
    token = client.post("/api/v1/auth/token", json={"username": "boss2", "password": "env-pw",
                                                    "device_id": "desk"}).json["token"]
    h = {"Authorization": "Bearer " + token}
    assert client.get("/api/v1/auth/me", headers=h).json["role"] == "admin"
    assert client.get("/api/v1/households", headers=h).status_code == 403
    assert_clean_error(cli("create-admin", "boss", "--password", "again"), "exists already")


def test_seed_demo(app, cli, client):
    result = cli("seed-demo", "--households", 60)
    assert result.exit_code == 0, result.output
    stats = {k: int(v) for v, k in re.findall(r"(\d+) (grids|households|persons|visits|flags)\b", result.output)}
    assert stats["households"] == 60
    assert count(app, Household) == 60
    assert count(app, Person) == stats["persons"]
    assert count(app, Visit) == stats["visits"]
    assert stats["persons"] >= 60 and stats["visits"] > 0
    assert count(app, Area, Area.level == "grid") == stats["grids"] == 48
    for username, password, role, _ in DEMO_LOGINS:
        assert username in result.output and password in result.output
        resp = client.post("/api/v1/auth/token", json={"username": username, "password": password,
                                                       "device_id": f"demo-{username}"})
        assert resp.status_code == 201, (username, resp.json)
        assert resp.json["worker"]["role"] == role
    # worker1 holds the first four grids: 60 households laid out grid by grid over 48 grids
    # put households 0-4 there (i * 48 // 60 < 4), each entered from worker1's tablet.
    token = client.post("/api/v1/auth/token", json={"username": "worker1", "password": "worker-demo",
                                                    "device_id": "demo-w1b"}).json["token"]
    listed = client.get("/api/v1/households?per_page=500", headers={"Authorization": "Bearer " + token})
    assert listed.status_code == 200 and len(listed.json) == 5
    with app.app_context():
        worker1 = db.session.execute(select(Worker.id).where(Worker.username == "worker1")).scalar_one()
        ids = [uuid.UUID(h["id"]) for h in listed.json]
        visitors = set(db.session.execute(select(Visit.worker_id).where(Visit.household_id.in_(ids))).scalars())
    assert visitors <= {worker1}
    # the seed leaves the review's roll-ups built: the bureau sees the city at once
    bureau = client.post("/api/v1/auth/token", json={"username": "bureau", "password": "bureau-demo",
                                                     "device_id": "demo-b2"}).json["token"]
    city = client.get("/api/v1/areas", headers={"Authorization": "Bearer " + bureau}).json[0]
    summary = client.get(f"/api/v1/review/areas/{city['id']}/summary",
                         headers={"Authorization": "Bearer " + bureau}).json
    assert summary["households"] == 60 and summary["as_of"] is not None


def test_the_demo_citys_cases_tell_one_story(app, cli):
    from server.demo import CATEGORIES
    from server.models import Flag, FlagEvent
    assert cli("seed-demo", "--households", 400).exit_code == 0
    with app.app_context():
        flags = db.session.execute(select(Flag.category, Flag.note)).all()
        events = db.session.execute(select(FlagEvent.action, FlagEvent.worker_id, FlagEvent.reason)).all()
    stories = {(c, n) for options in CATEGORIES.values() for c, _, n in options}
    assert flags and all((c, n) in stories for c, n in flags)                # a note matches its category
    assert all(who is not None for action, who, _ in events if action != "escalate")   # named staff act
    # each escalation names the state the flag was in that day, not the state it ended in
    assert {r["state"] for action, _, r in events if action == "escalate"} > {"reported"}


def test_seed_demo_refuses_a_database_with_areas(app, cli, tmp_path):
    assert cli("import-areas", write_csv(tmp_path, GOOD)).exit_code == 0
    result = cli("seed-demo", "--households", 5)
    assert_clean_error(result, "already has areas")
    assert count(app, Household) == 0 and count(app, Area) == 6


def test_refresh_review_brings_the_roll_ups_up_to_date(app, cli, tmp_path):
    from server.models import ReviewSnapshot, ReviewState
    assert cli("import-areas", write_csv(tmp_path, GOOD)).exit_code == 0
    result = cli("refresh-review")
    assert result.exit_code == 0 and "brought up to date" in result.output
    with app.app_context():
        state = db.session.get(ReviewState, 1)
        assert state.refreshed_at is not None and state.full_at is not None  # the first round is full
    assert count(app, ReviewSnapshot) == 6
    result = cli("refresh-review", "--full")
    assert result.exit_code == 0 and "rebuilt" in result.output


def test_link_register_links_a_list_and_finds_the_registers_own_persons(app, tmp_path):
    import csv as _csv
    import time as _time
    import uuid as _uuid

    from server.services.server_changes import apply_as_server
    from sync.changes import make_change
    from tests.city import make_city
    with app.app_context():
        city = make_city()
        hid, pid = str(_uuid.uuid4()), str(_uuid.uuid4())
        ms = int(_time.time() * 1000)
        apply_as_server([
            make_change("household", hid, {"grid_id": city["G1"], "address": "和平路1号"}, f"{ms:013d}-0000-server"),
            make_change("person", pid, {"household_id": hid, "name": "王伟", "id_number": "11010519491231002X",
                                        "birth_date": "1949-12-31", "gender": "M"}, f"{ms:013d}-0001-server")])
        from server.extensions import db
        db.session.commit()
    source = tmp_path / "import.csv"
    source.write_text("record_id,name,id_number,gender,birth_date,phone,address\n"
                      "r1,王玮,１１０１０５１９４９１２３１００２ｘ,M,1949-12-31,,和平路一号\n"
                      "r2,李娜,,F,1990-01-01,13800138000,幸福街5号\n", encoding="utf-8")
    runner = app.test_cli_runner()
    plain = runner.invoke(args=["link-register", str(source), str(tmp_path / "plain.csv")])
    assert plain.exit_code == 0, plain.output
    assert list(_csv.reader((tmp_path / "plain.csv").read_text(encoding="utf-8").splitlines())) == [
        ["record_id", "cluster_id"], ["r1", "r1"], ["r2", "r2"]]
    result = runner.invoke(args=["link-register", str(source), str(tmp_path / "out.csv"), "--against-register"])
    assert result.exit_code == 0, result.output
    rows = list(_csv.DictReader((tmp_path / "out.csv").read_text(encoding="utf-8").splitlines()))
    assert [(r["record_id"], r["register_person_id"]) for r in rows] == [("r1", pid), ("r2", "")]
    bad = tmp_path / "bad.csv"
    bad.write_text("record_id,id_number\nr1,110105194912310021\n", encoding="utf-8")
    for extra in ([], ["--against-register"]):
        refused = runner.invoke(args=["link-register", str(bad), str(tmp_path / "x.csv")] + extra)
        assert refused.exit_code != 0 and "no name column" in refused.output and "record_id,id_number" in refused.output
        assert not (tmp_path / "x.csv").exists()


def test_link_register_reads_a_spreadsheets_register_and_says_what_is_wrong_in_chinese(app, cli, tmp_path):
    """A register saved by a spreadsheet on a Chinese system: GBK, Chinese headers, no record id
    column, the cells as people fill them in; and a file without a name column, in Chinese."""
    import csv as _csv

    from server import cli_i18n
    source = tmp_path / "名单.csv"
    source.write_bytes("序号,姓名,性别,身份证号码,出生年月,联系电话,现住址\r\n"
                       "1,王伟（户主）,1,'110105194912310021,1949年12月31日,13800138000/0576-88123456,和平路1号\r\n"
                       "2,王伟,男,,19491231.0,13800138000,和平路一号\r\n"
                       "3,李娜,2,,1990-01-01,,幸福街5号\r\n".encode("gbk"))
    result = cli("link-register", source, tmp_path / "out.csv")
    assert result.exit_code == 0, result.output
    rows = list(_csv.DictReader((tmp_path / "out.csv").read_text(encoding="utf-8").splitlines()))
    assert [(r["record_id"], r["cluster_id"]) for r in rows] == [("1", "1"), ("2", "1"), ("3", "3")]
    bad = tmp_path / "bad.csv"
    bad.write_bytes("序号,身份证号码\r\n1,110105194912310021\r\n".encode("gbk"))
    cli_i18n.use("zh_CN")
    refused = cli("link-register", bad, tmp_path / "x.csv", "--against-register")
    assert refused.exit_code != 0 and "没有姓名列" in refused.output and "序号,身份证号码" in refused.output
    assert not (tmp_path / "x.csv").exists()
