"""The layering of DESIGN.md, checked on what really gets imported: sync/ stands alone (no web
framework, no database, no HTTP, no schema library), and server/ and client_sdk/ meet only in
sync/ (the SDK runs on a tablet: importing it must not pull in the server or Flask)."""
import subprocess
import sys

_PROBE = """
import importlib, pkgutil, sys
import {root}
for mod in pkgutil.walk_packages({root}.__path__, "{root}."):
    importlib.import_module(mod.name)
bad = sorted({{m.split(".")[0] for m in sys.modules}} & set({forbidden!r}))
print(bad)
sys.exit(1 if bad else 0)
"""


def _imports_none_of(root, forbidden):
    done = subprocess.run([sys.executable, "-c", _PROBE.format(root=root, forbidden=sorted(forbidden))],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{root} pulls in {done.stdout.strip()} {done.stderr[-2000:]}"


def test_every_module_of_sync_imports_no_framework_database_or_http():
    _imports_none_of("sync", {"flask", "flask_smorest", "sqlalchemy", "marshmallow", "requests", "server",
                              "client_sdk", "werkzeug", "psycopg"})


def test_client_sdk_imports_neither_server_nor_flask():
    _imports_none_of("client_sdk", {"server", "flask", "flask_smorest", "sqlalchemy", "marshmallow", "werkzeug"})


def test_server_never_imports_the_sdk():
    _imports_none_of("server", {"client_sdk"})
