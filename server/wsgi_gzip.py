"""WSGI middleware: accept gzip or brotli request bodies, bounded before and after decompression.

Devices on slow links send pushes compressed (brotli when they have it: about a fifth fewer bytes
than gzip for sync JSON). The compressed size is checked against the body limit, and the
inflated size against its own limit, so a small "zip bomb" cannot fill memory.
"""
import io
import json
import zlib

import brotli


#: set in the WSGI environ of a request whose body this middleware inflated
INFLATED = "gridsync.inflated"


def _error(start_response, status, code, message):
    body = json.dumps({"code": code, "status": int(status.split()[0]), "message": message}).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


#: how much of the rest of a refused chunked body is read and dropped, so that a client that
#: overshot a little reads the 413 instead of a reset connection; beyond it the link is cut
_DRAIN = 1024 * 1024


def _read_at_most(stream, n):
    """Up to ``n`` bytes: a chunked stream's ``read(n)`` may return less before its end."""
    parts, got = [], 0
    while got < n:
        part = stream.read(min(n - got, 1 << 16))
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _drain(stream, n):
    while n > 0:
        part = stream.read(min(n, 1 << 16))
        if not part:
            return
        n -= len(part)


class GzipRequestMiddleware:
    def __init__(self, app, max_compressed, max_inflated):
        self.app, self.max_compressed, self.max_inflated = app, max_compressed, max_inflated

    def __call__(self, environ, start_response):
        encoding = environ.get("HTTP_CONTENT_ENCODING", "").strip().lower()
        if encoding in ("", "identity"):
            try:
                declared = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                declared = 0
            if declared > self.max_compressed:
                return _error(start_response, "413 Request Entity Too Large", "request_entity_too_large",
                              "request body too large")
            if environ.get("CONTENT_LENGTH") is None and environ.get("wsgi.input_terminated"):
                # No declared length (chunked): counted as it arrives. werkzeug's own limit
                # would cut such a body at the limit and hand the app the part before it.
                raw = _read_at_most(environ["wsgi.input"], self.max_compressed + 1)
                if len(raw) > self.max_compressed:
                    _drain(environ["wsgi.input"], _DRAIN)
                    return _error(start_response, "413 Request Entity Too Large", "request_entity_too_large",
                                  "request body too large")
                environ = dict(environ)
                environ["CONTENT_LENGTH"] = str(len(raw))
                environ["wsgi.input"] = io.BytesIO(raw)
            return self.app(environ, start_response)
        if encoding not in ("gzip", "br"):
            return _error(start_response, "415 Unsupported Media Type", "unsupported_encoding",
                          f"Content-Encoding {encoding!r} is not supported; send gzip, br or nothing")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > self.max_compressed:
            return _error(start_response, "413 Request Entity Too Large", "request_entity_too_large",
                          "request body too large")
        raw = (environ["wsgi.input"].read(length) if length
               else _read_at_most(environ["wsgi.input"], self.max_compressed + 1))
        if len(raw) > self.max_compressed:
            return _error(start_response, "413 Request Entity Too Large", "request_entity_too_large",
                          "request body too large")
        inflate = _gunzip if encoding == "gzip" else _unbrotli
        body, problem = inflate(raw, self.max_inflated)
        if problem == "too_large":
            return _error(start_response, "413 Request Entity Too Large", "request_entity_too_large",
                          "request body too large once decompressed")
        if problem:
            # A cut-off stream (a dropped connection) must not be applied as a shorter batch.
            name = "gzip" if encoding == "gzip" else "brotli"
            return _error(start_response, "400 Bad Request", f"bad_{encoding}",
                          f"the request body is not valid {name}" if problem == "invalid"
                          else f"the {name} request body is incomplete")
        environ = dict(environ)
        environ[INFLATED] = True
        environ.pop("HTTP_CONTENT_ENCODING", None)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ["wsgi.input"] = io.BytesIO(body)
        return self.app(environ, start_response)


def _gunzip(raw, limit):
    """``(body, problem)``: problem is None, "invalid", "incomplete" or "too_large"."""
    inflater = zlib.decompressobj(wbits=31)
    try:
        body = inflater.decompress(raw, limit + 1)
    except zlib.error:
        return None, "invalid"
    if len(body) > limit or inflater.unconsumed_tail:
        return None, "too_large"
    return body, (None if inflater.eof else "incomplete")


def _unbrotli(raw, limit):
    """As ``_gunzip``, for Content-Encoding br: the output never grows past ``limit`` + 1."""
    inflater = brotli.Decompressor()
    try:
        body = inflater.process(raw, output_buffer_limit=limit + 1)
        if len(body) > limit or not inflater.can_accept_more_data():
            return None, "too_large"
    except brotli.error:
        return None, "invalid"
    return body, (None if inflater.is_finished() else "incomplete")
