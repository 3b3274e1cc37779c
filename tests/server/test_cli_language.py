"""``gridsync`` says its help, its messages and click's own words in Chinese by default and in
English under LANG=en: no English word but ids (commands, options, codes, CSV columns, names of
tools) in the one, no Chinese but data in the other."""
import os
import re
import subprocess
import sys

import pytest

from server import cli_i18n
from server.cli import COMMANDS

CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
#: ids and names that stay as they are in any language
IDS = re.compile(r"https?://\S+|/tmp/\S+|/api/v1\S*|/review|--?[a-z][\w-]*|\[[a-z_|]+\]|\b[a-z]+(?:[_,][a-z_]+)+\b"
                 r"|\b[a-z]+-[a-z-]+\b|GRIDSYNC_\w+|PORT=\d+|(?<![A-Za-z])(?:Flask(?:-\w+)?|python-dotenv|Python"
                 r"|OpenAPI|API|CPU|Alembic|CSV|UTF-8|UTF-16|GB18030|GBK|Ctrl-C|webhook|IMPORT|gridsync|make demo|[A-Z]\d*)(?![A-Za-z])")
TYPED = {"department", "server", "routes", "shell", "run", "db", "demo", "limiter", "openapi", "district", "street",
         "community", "bureau", "admin", "city", "grid",
         # data: the user names and ids typed
         "li", "zhao", "wang", "zhang", "chief", "nobody", "nothing", "WJ"}


def english_words(text):
    return sorted({w for w in re.findall(r"[A-Za-z]+", IDS.sub(" ", text)) if w not in TYPED})


@pytest.fixture
def chinese():
    cli_i18n.use("zh_CN")
    cli_i18n.teach_click()
    yield
    cli_i18n.use("en")


AREAS = "code,name,level,parent_code\nX,测试市,city,\nD1,一区,district,X\nS1,一街道,street,D1\nC1,一社区,community,S1\n" \
        "G1,一网格,grid,C1\n"


def test_every_commands_help_is_chinese(cli, chinese):
    for command in COMMANDS:
        out = cli(command.name, "--help").output
        assert out.startswith("用法：") and "选项" in out, out
        assert not english_words(out), (command.name, english_words(out), out)


def test_what_the_commands_say_is_chinese(cli, chinese, tmp_path):
    areas = tmp_path / "areas.csv"
    areas.write_text(AREAS, encoding="utf-8")
    said = [cli("import-areas", areas).output]
    assert "已导入 5 个区域" in said[0]
    said.append(cli("create-worker", "li", "--role", "grid_worker", "--area", "C1", "--grids", "G1",
                    "--password", "pw").output)
    assert "已创建网格员 li" in said[-1]
    said.append(cli("create-worker", "li", "--role", "grid_worker", "--area", "C1", "--grids", "G1",
                    "--password", "pw").output)
    assert "用户名 'li' 已存在" in said[-1] and "错误：" in said[-1]
    said.append(cli("create-worker", "zhao", "--role", "grid_worker", "--area", "C9", "--password", "pw").output)
    assert "没有代码为 'C9' 的区域" in said[-1]
    said.append(cli("create-worker", "zhao", "--role", "chief").output)
    assert "的值无效" in said[-1]
    said.append(cli("create-department", "WJ", "卫健局", "--level", "street", "--area", "D1").output)
    assert "街道级部门服务于街道，而不是区" in said[-1]
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("username,role,area,grids\nwang,street,C1,\nzhang,chief,C1,\n", encoding="utf-8")
    said.append(cli("import-accounts", accounts, "--passwords-out", tmp_path / "pw.csv").output)
    assert "第 2 行：街道工作人员应负责一个街道，而 C1 是社区" in said[-1], said[-1]
    assert "有 2 处问题，未导入任何内容" in said[-1]
    said.append(cli("webhook-status").output)
    assert "webhook：未配置" in said[-1]
    said.append(cli("disable-worker", "nobody").output)
    said.append(cli("revoke-device", "nothing").output)
    for out in said:
        assert not english_words(out), (english_words(out), out)


def test_in_english_the_commands_say_no_chinese_but_data(cli, tmp_path):
    areas = tmp_path / "areas.csv"
    areas.write_text(AREAS, encoding="utf-8")
    said = [cli("import-areas", areas).output, cli("create-worker", "zhao", "--role", "chief").output,
            cli("create-worker", "li", "--role", "grid_worker", "--area", "C1", "--grids", "G1",
                "--password", "pw").output, cli("webhook-status").output]
    said += [cli(command.name, "--help").output for command in COMMANDS]
    for out in said:
        assert not CJK.search(out), out
    assert "grid worker li created" in said[2]


@pytest.mark.parametrize("lang", ["zh_CN.UTF-8", "en_US.UTF-8"])
def test_the_installed_command_lists_its_commands_in_the_readers_language(tmp_path, lang):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRIDSYNC_", "LC_", "LANGUAGE"))}
    env["LANG"] = lang
    proc = subprocess.run([sys.executable, "-c", "from server.cli import main; main()", "--help"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    wrong = subprocess.run([sys.executable, "-c", "from server.cli import main; main()", "no-such-command"],
                           env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert wrong.returncode == 2
    if lang.startswith("zh"):
        assert proc.stdout.startswith("用法：") and "命令" in proc.stdout
        assert not english_words(proc.stdout), english_words(proc.stdout)
        assert "没有命令 'no-such-command'" in wrong.stderr and not english_words(wrong.stderr), wrong.stderr
    else:
        assert proc.stdout.startswith("Usage:") and not CJK.search(proc.stdout)
        assert "No such command" in wrong.stderr and not CJK.search(wrong.stderr)
