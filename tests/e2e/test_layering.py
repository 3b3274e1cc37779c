"""The SDK runs on a tablet: importing it must not pull in the server or Flask."""
import subprocess
import sys


def test_client_sdk_imports_neither_server_nor_flask():
    code = ("import sys, client_sdk, client_sdk.cli; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('server', 'flask', 'flask_smorest', "
            "'sqlalchemy')); print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
