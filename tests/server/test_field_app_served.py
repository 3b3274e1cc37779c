"""The field app as the server serves it: every file of the app is in the service worker's shell
(so it all works offline once opened), each is served with its type, gzip and an ETag, the
page's CSP allows scripts from this server only, nothing is fetched from elsewhere, every word
the screens use is in the Chinese catalogue module, and the shell stays within its 150 KB."""
import json
import os
import re

from server.field import STATIC

with open(os.path.join(STATIC, "sw.js"), encoding="utf-8") as _fh:
    SHELL = re.findall(r'"([^"]+)"', re.search(r"const SHELL = \[(.*?)\];", _fh.read(), re.S).group(1))


def _files():
    out = []
    for folder, _, names in os.walk(STATIC):
        for name in names:
            rel = os.path.relpath(os.path.join(folder, name), STATIC).replace(os.sep, "/")
            if rel not in ("sw.js", "vendor/idb/README.md", "vendor/idb/LICENSE"):
                out.append(rel)
    return out


def test_every_file_of_the_app_is_in_the_offline_shell():
    wanted = {"/field/" if f == "index.html" else "/field/" + f for f in _files()}
    assert wanted == set(SHELL)


def test_the_shell_is_served_with_types_gzip_and_etags_within_its_budget(app):
    client = app.test_client()
    total = 0
    for path in SHELL:
        resp = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert resp.status_code == 200, path
        assert resp.headers["ETag"] and resp.headers["Cache-Control"] == "no-cache"
        if path.endswith(".js"):
            assert resp.mimetype == "text/javascript"
            assert resp.headers.get("Content-Encoding") == "gzip" or len(resp.data) < 1024
        total += len(resp.data)
        again = client.get(path, headers={"If-None-Match": resp.headers["ETag"]})
        assert again.status_code == 304
    assert total <= 150 * 1024
    page = client.get("/field/")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
    sw = client.get("/field/sw.js")
    assert sw.headers["Service-Worker-Allowed"] == "/field/" and sw.mimetype == "text/javascript"
    assert client.get("/field").status_code == 308
    assert client.get("/field/../server/__init__.py").status_code == 404
    assert client.get("/field/nothing.js").json["code"] == "not_found"


def test_the_manifest_makes_it_installable():
    with open(os.path.join(STATIC, "manifest.webmanifest"), encoding="utf-8") as fh:
        manifest = json.load(fh)
    assert manifest["start_url"] == "/field/" and manifest["display"] == "standalone" and manifest["lang"] == "zh-CN"
    assert {i["sizes"] for i in manifest["icons"]} >= {"192x192", "512x512"}
    for icon in manifest["icons"]:
        assert os.path.exists(os.path.join(STATIC, icon["src"][len("/field/"):]))


def test_nothing_comes_from_another_server_and_every_word_is_in_the_catalogue():
    with open(os.path.join(STATIC, "i18n", "zh-CN.js"), encoding="utf-8") as fh:
        catalogue = fh.read()
    keys = set(re.findall(r'^\s+"?([\w.]+)"?: "', catalogue, re.M))
    for rel in _files():
        if not rel.endswith((".js", ".html", ".css")):
            continue
        with open(os.path.join(STATIC, rel), encoding="utf-8") as fh:
            text = fh.read()
        code = "\n".join(line for line in text.splitlines() if not line.strip().startswith("//"))
        assert not re.search(r"(src|href|import)[^\n]*https?://", code), rel
        if rel.startswith("app/"):
            used = set(re.findall(r'\bt\("([\w.]+)"', text))
            assert used <= keys, (rel, sorted(used - keys))
