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
    code = main(["--store", str(store), "--server", live.url, *argv], out=out)
    return code, out.getvalue()



def test_a_workers_day_with_the_cli(live, tmp_path, capsys):
    store = tmp_path / "cli.db"
    code, out = _run(store, live, "login", "w1", "--password", "pw-w1")
    assert code == 0 and "logged in as w1" in out and live.city["G1"] in out

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
    done = subprocess.run([script, "--store", str(store), "sync"], capture_output=True, text=True, timeout=60)
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
