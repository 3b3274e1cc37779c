"""A worker's day with the ``fieldsync`` console script against the live server."""
import io
import os
import shutil
import subprocess
import sys

import pytest

from client_sdk import FieldClient
from client_sdk.cli import EXIT_AUTH, main

PASSPHRASE = "口令 for the cli tests"


@pytest.fixture(autouse=True)
def _store_passphrase(monkeypatch):
    """The CLI's stores are encrypted: their passphrase comes from the environment here."""
    monkeypatch.setenv("FIELDSYNC_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("FIELDSYNC_KEYRING", "off")


def _run(store, live, *argv):
    out = io.StringIO()
    code = main(["--lang", "en", "--store", str(store), "--server", live.url, *argv], out=out)
    return code, out.getvalue()



def test_a_workers_day_with_the_cli(live, tmp_path, capsys):
    store = tmp_path / "cli.db"
    code, out = _run(store, live, "login", "w1", "--password", "pw-w1")
    assert code == 0 and "logged in as w1 (grid worker)" in out and "grids: G1 " in out   # by code and name

    code, out = _run(store, live, "add-household", "--address", "和平路12号", "--head-name", "张芳", "--phone", "13600136000")
    assert code == 0
    hid = out.split(": ")[1].strip()
    code, out = _run(store, live, "add-person", hid[:6], "--name", "张小明", "--relation", "child",
                     "--birth-date", "2015-03-02")
    assert code == 0 and "person saved" in out
    code, out = _run(store, live, "visit", hid[:6], "--children", "urgent", "--food", "concern", "--note", "孩子无人照看")
    assert code == 0 and "children=urgent" in out and "food=concern" in out
    visit = out.split(": ")[1].split(" ")[0]
    code, out = _run(store, live, "flag", hid[:6], "--category", "de_facto_unsupported_child", "--colour", "red")
    flag = out.split(": ")[1].split(" ")[0]
    code, out = _run(store, live, "move-flag", flag[:6], "confirm")
    assert code != 0                                 # confirming is the community's job

    code, out = _run(store, live, "pending")
    assert "4 changes waiting" in out
    code, out = _run(store, live, "list", "visits")
    assert "children=urgent" in out and "(1 visits)" in out

    # The sync runs through the installed console script, progress bar and all.
    script = shutil.which("fieldsync", path=os.path.dirname(sys.executable))
    done = subprocess.run([script, "--lang", "en", "--store", str(store), "sync"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "pushed 4" in done.stdout and "push   [" in done.stderr

    # Community staff confirm, handle and resolve the case on their own tablet…
    staff = tmp_path / "staff.db"
    assert _run(staff, live, "login", "comm1", "--password", "pw-comm1")[0] == 0
    assert _run(staff, live, "sync")[0] == 0
    for action in ("confirm", "start", "resolve"):
        code, out = _run(staff, live, "move-flag", flag[:6], action)
        assert code == 0, out
    assert _run(staff, live, "sync")[0] == 0
    # …and the worker verifies it with a follow-up visit.
    assert _run(store, live, "sync")[0] == 0
    code, out = _run(store, live, "move-flag", flag[:6], "verify", "--visit", visit[:6])
    assert code == 0 and "-> verified" in out
    assert _run(store, live, "sync")[0] == 0

    code, out = _run(store, live, "list", "flags")
    assert "red" in out and "verified" in out
    assert live.get(f"/flags/{flag}", "w1")["state"] == "verified"
    code, out = _run(store, live, "pending")
    assert "0 changes waiting" in out

    code, out = _run(store, live, "logout", "--wipe")
    assert code == 0 and not store.exists()


def test_cli_errors_are_one_line_and_exit_nonzero(live, tmp_path, capsys):
    store = tmp_path / "cli.db"
    assert _run(store, live, "sync")[0] == EXIT_AUTH
    assert "log in" in capsys.readouterr().err
    _run(store, live, "login", "w1", "--password", "pw-w1")
    code, _ = _run(store, live, "add-household", "--address", " ")
    assert code == 1 and "address" in capsys.readouterr().err
    with FieldClient(store, passphrase=PASSPHRASE) as client:
        assert client.pending_changes() == []


def test_fieldsync_speaks_chinese_by_default_and_english_when_asked(live, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("LANGUAGE", raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    store = tmp_path / "zh.db"

    def run(*argv):
        out = io.StringIO()
        code = main(["--store", str(store), "--server", live.url, *argv], out=out)
        return code, out.getvalue()

    code, out = run("login", "w1", "--password", "pw-w1")
    assert code == 0 and "已登录：w1（网格员）" in out and "网格：G1 一网格" in out
    code, out = run("list", "grids")
    assert out.splitlines()[0].startswith("G1  一网格  ") and "(1 网格)" in out
    code, out = run("add-household", "--address", "光明巷7号", "--phone", "abc")
    assert code != 0 and "错误 [电话]：电话不是有效的电话号码" in capsys.readouterr().err
    code, out = run("add-household", "--address", "光明巷7号", "--phone", "13800138000")
    hid = out.split("：")[1].strip()
    code, out = run("add-person", hid[:6], "--name", "刘小宝", "--id-number", "12345")
    assert code != 0 and "身份证号不是有效的身份证号" in capsys.readouterr().err
    code, out = run("flag", hid[:6], "--category", "bogus", "--colour", "red")
    assert code != 0 and "类别不是本市的预警类别" in capsys.readouterr().err
    code, out = run("visit", hid[:6], "--at", "2030-01-01T09:00:00+08:00")
    assert code != 0 and "走访时间晚于当前时间" in capsys.readouterr().err
    code, out = run("visit", hid[:6], "--children", "urgent",
                    "--answers", '{"children": {"children": [{"age": 9, "in_school": true, "carer": "none"}]}}')
    assert code == 0 and "红色预警：有儿童无人照看 → fieldsync flag" in out
    assert "儿童=紧急" in out and not any(word in out for word in ("WARNING", "visit saved", "children=", "no one"))

    code, out = run("--lang", "en", "visit", hid[:6], "--children", "urgent",
                    "--answers", '{"children": {"children": [{"age": 9, "in_school": true, "carer": "none"}]}}')
    assert "WARNING RED: a child has no one caring for them" in out
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    code, out = run("pending")
    assert "changes waiting to be sent" in out


def test_fieldsync_lists_the_questions_and_categories_and_edits_what_was_typed(live, tmp_path, capsys):
    store = tmp_path / "edit.db"
    assert _run(store, live, "login", "w1", "--password", "pw-w1")[0] == 0
    code, out = _run(store, live, "list", "questions")
    assert code == 0 and "--income" in out and "income.income_per_person  number" in out
    code, out = _run(store, live, "list", "categories")
    assert "de_facto_unsupported_child" in out and "elderly_alone" in out
    code, out = _run(store, live, "add-household", "--address", "和平路1号")
    hid = out.split(": ")[1].strip()
    code, out = _run(store, live, "add-person", hid[:6], "--name", "王伟")
    pid = out.split(": ")[1].strip()
    assert _run(store, live, "edit-household", hid[:6], "--phone", "abc")[0] != 0
    assert _run(store, live, "edit-household", hid[:6], "--phone", "010-12345678")[0] == 0
    assert _run(store, live, "edit-person", pid[:6], "--id-number", "11010519491231002x")[0] == 0
    with FieldClient(store, passphrase=PASSPHRASE) as client:
        assert client.household(hid)["phone"] == "010-12345678"
        assert client.person(pid)["id_number"] == "11010519491231002X"
