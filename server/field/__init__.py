"""The worker's offline web app at /field: plain ES modules, a service worker and a manifest,
served as files (no build step, no templates). The app talks to the API like any other device
(docs/protocol.md); this blueprint only serves it, with headers that let it install and work
offline: the service worker's scope is /field/, and every file is revalidated by its ETag so a
new release reaches the tablets at their next load with a signal."""
import hashlib
import mimetypes
import os

from flask import Blueprint, Response, abort, redirect, request

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")

bp = Blueprint("field", __name__, url_prefix="/field")

# Scripts only from this server, no inline code, data only through the API on the same origin.
_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "worker-src 'self'; manifest-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".webmanifest": "application/manifest+json",
          ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml", ".png": "image/png"}
_cache = {}


def _file(path):
    """A file of the app as (bytes, etag); read once per process (the app is a few dozen files)."""
    full = os.path.normpath(os.path.join(STATIC, path))
    if not full.startswith(STATIC + os.sep) or not os.path.isfile(full):
        abort(404)
    stamp = os.stat(full).st_mtime_ns
    hit = _cache.get(full)
    if hit is None or hit[0] != stamp:
        with open(full, "rb") as fh:
            data = fh.read()
        hit = _cache[full] = (stamp, data, hashlib.sha256(data).hexdigest()[:20])
    return hit[1], hit[2]


def _serve(path, *, extra=None):
    data, etag = _file(path)
    ext = os.path.splitext(path)[1]
    kind = _TYPES.get(ext) or mimetypes.guess_type(path)[0] or "application/octet-stream"
    if request.if_none_match.contains(etag):
        resp = Response(status=304)
    else:
        # not a passthrough file response: the app's after_request gzips it for the slow link
        resp = Response(data, mimetype=kind)
        if kind.startswith("text/") or kind.endswith("json"):
            resp.charset = "utf-8"
            resp.headers["Content-Type"] = f"{kind}; charset=utf-8"
    resp.set_etag(etag)
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "same-origin"
    for key, value in (extra or {}).items():
        resp.headers[key] = value
    return resp


@bp.get("")
def root():
    return redirect("/field/", code=308)


@bp.get("/")
def index():
    return _serve("index.html", extra={"Content-Security-Policy": _CSP, "X-Frame-Options": "DENY"})


@bp.get("/sw.js")
def service_worker():
    # served from /field/ so that its scope is the whole app
    return _serve("sw.js", extra={"Service-Worker-Allowed": "/field/"})


@bp.get("/manifest.webmanifest")
def manifest():
    return _serve("manifest.webmanifest")


@bp.get("/<path:path>")
def asset(path):
    if path.endswith((".md", "LICENSE")) and not path.startswith("vendor/"):
        abort(404)
    return _serve(path)
