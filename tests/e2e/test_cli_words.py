"""Every ``fieldsync`` command says its words in the reader's language: under LANG=zh_CN.UTF-8
no English word is left but data and ids (codes, id prefixes, option names one types); under
LANG=en no Chinese but the data typed. Both values of a collision are shown."""
import io
import re

import pytest

from client_sdk.cli import main

CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
#: what may stay in Latin letters in Chinese output: ids and what one types (commands, options,
#: codes), the server's address, and the few words argparse's metavars and choices are
IDS = re.compile(r"https?://\S+|\b[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}\b|\b[0-9a-f]{6,8}\b|--?[a-z][\w-]*"
                 r"|fieldsync(?: [a-z-]+)?|\b[A-Z]\d+\b|\bw1\b|\$?(?:FIELDSYNC_[A-Z]+|LANG)\b|\b1x+\b"
                 r"|\b[a-z]+_[a-z_]+\b|\b[a-z]+\.[a-z_]+\b|\b[a-z]+-[a-z-]+\b|\bzh_CN\b")
#: codes and choices a person types (argparse lists them; a suggested command names them)
TYPED = {"ok", "concern", "urgent", "red", "yellow", "green", "community", "street", "district", "bureau", "city",
         "grid", "head", "spouse", "child", "parent", "grandchild", "grandparent", "sibling", "other", "M", "F", "U",
         "confirm", "start", "resolve", "verify", "close", "reject", "reopen", "escalate", "route", "recolour",
         "note", "assign", "summon", "answer", "release", "households", "persons", "visits", "flags", "grids",
         "categories", "questions", "rejected", "zh", "en", "zh_CN", "login", "visit", "flag", "list", "pending",
         "due", "queue", "sync", "logout", "conflicts", "username", "household", "person", "what", "action",
         "VAR", "income", "food", "clothing", "children", "health", "housing", "none", "dibao", "tekun", "temporary",
         "certified", "parents", "one_parent", "grandparents", "relatives", "A", "B", "C", "D", "json", "JSON",
         "in_school", "age", "carer", "ISO", "X", "x", "true", "false", "amends"}
def _city_words():
    """The checklist's own phrases and labels: the city's configuration, in its language."""
    import json
    import os

    import sync
    path = os.path.join(os.path.dirname(sync.__file__), "data", "checklists.json")
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    return tuple(sorted(set(re.findall(r'"(?:label|phrase)": "([^"]+)"', text)), key=len, reverse=True)) \
        if json.loads(text) else ()


DATA = _city_words() + ("光明巷7号", "刘小宝", "王伟", "孩子无人照看", "13800138000", "13900139000", "一网格", "点点钱袋子", "掂掂米袋子",
        "看看衣柜子", "问问小孩子", "望望身板子", "查查住宅子")


def _english_words(text):
    text = IDS.sub(" ", text)
    return sorted({w for w in re.findall(r"[A-Za-z][A-Za-z']*", text) if w not in TYPED})


def _chinese(text, data):
    for d in data:
        text = text.replace(d, "")
    return sorted(set(CJK.findall(text)))


def _day(live, tmp_path, capsys, monkeypatch, lang):
    """Every command once (and the refusals a worker meets), as a person would type them."""
    monkeypatch.delenv("LANGUAGE", raising=False)
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LANG", lang)
    monkeypatch.setenv("FIELDSYNC_PASSPHRASE", "口令")
    monkeypatch.setenv("FIELDSYNC_KEYRING", "off")
    said = []

    def run(store, *argv, ok=True):
        out = io.StringIO()
        try:
            code = main(["--store", str(tmp_path / store), "--server", live.url, *argv], out=out)
        except SystemExit as exc:          # --help, and argparse's own refusals
            code = 0 if exc.code in (0, None) else 2
        err = capsys.readouterr()
        text = out.getvalue() + err.out + err.err
        said.append((argv, text))
        assert (code == 0) == ok, (argv, text)
        return text

    run("a.db", "--help")
    for command in ("login", "add-household", "add-person", "edit-household", "edit-person", "visit", "flag",
                    "move-flag", "list", "pending", "due", "queue", "sync", "conflicts", "logout"):
        run("a.db", command, "--help")
    run("a.db", "sync", ok=False)                                    # not logged in
    run("a.db", "login", "w1", "--password", "pw-w1")
    run("b.db", "login", "w1", "--password", "pw-w1", "--device-name", "tab-b")
    run("a.db", "list", "grids")
    run("a.db", "add-household", "--address", "光明巷7号", "--phone", "abc", ok=False)
    hid = run("a.db", "add-household", "--address", "光明巷7号", "--phone", "13800138000")
    hid = re.search(r"[0-9a-f]{8}-[0-9a-f-]{27}", hid).group(0)
    run("a.db", "add-person", hid[:6], "--name", "刘小宝", "--id-number", "12345", ok=False)
    run("a.db", "add-person", hid[:6], "--name", "刘小宝", "--relation", "child", "--birth-date", "2016-03-02")
    run("a.db", "add-person", "ffffff", "--name", "王伟", ok=False)          # no such household
    run("a.db", "visit", hid[:6], "--at", "2030-01-01T09:00:00+08:00", ok=False)
    run("a.db", "visit", hid[:6], "--at", "2020-01-01T09:00:00+08:00", ok=False)
    run("a.db", "visit", hid[:6], "--answers", "{", ok=False)
    run("a.db", "visit", hid[:6], "--children", "urgent", "--note", "孩子无人照看",
        "--answers", '{"children": {"children": [{"age": 9, "in_school": true, "carer": "none"}]}}')
    run("a.db", "flag", hid[:6], "--category", "bogus", "--colour", "red", ok=False)
    flag = run("a.db", "flag", hid[:6], "--category", "de_facto_unsupported_child", "--colour", "red")
    flag = re.search(r"[0-9a-f]{8}-[0-9a-f-]{27}", flag).group(0)
    run("a.db", "move-flag", flag[:6], "confirm", ok=False)                 # the community's to confirm
    for what in ("households", "persons", "visits", "flags", "grids", "categories", "questions", "rejected"):
        run("a.db", "list", what, *(("--household", hid[:6]) if what == "persons" else ()))
    run("a.db", "pending")
    run("a.db", "due")
    run("a.db", "queue")
    run("a.db", "edit-household", hid[:6], ok=False)                          # nothing to change
    run("a.db", "sync")
    run("b.db", "sync")
    run("a.db", "edit-household", hid[:6], "--phone", "13900139000")
    run("b.db", "edit-household", hid[:6], "--phone", "010-12345678")
    run("a.db", "sync")
    run("b.db", "sync")
    conflicts = run("a.db", "conflicts")
    run("a.db", "logout")
    run("a.db", "pending")
    return said, conflicts


def test_fieldsync_says_no_english_under_a_chinese_locale(live, tmp_path, capsys, monkeypatch):
    said, conflicts = _day(live, tmp_path, capsys, monkeypatch, "zh_CN.UTF-8")
    left = {" ".join(argv): _english_words(text) for argv, text in said if _english_words(text)}
    assert not left, "\n".join(f"{k}: {v}" for k, v in left.items())
    assert "电话" in conflicts and "13900139000" in conflicts and "010-12345678" in conflicts
    assert "保留" in conflicts and "落选" in conflicts


def test_fieldsync_says_no_chinese_under_an_english_locale(live, tmp_path, capsys, monkeypatch):
    said, conflicts = _day(live, tmp_path, capsys, monkeypatch, "en_US.UTF-8")
    left = {" ".join(argv): _chinese(text, DATA) for argv, text in said if _chinese(text, DATA)}
    assert not left, "\n".join(f"{k}: {v}" for k, v in left.items())
    assert "phone" in conflicts and "kept" in conflicts and "lost" in conflicts
