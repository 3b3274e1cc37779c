"""WSGI middleware: accept gzip request bodies, bounded before and after decompression.

Devices on slow links send pushes gzipped. The compressed size is checked against the body
limit, and the inflated size against its own limit, so a small "zip bomb" cannot fill memory.
"""
import io
import json
import zlib


#: set in the WSGI environ of a request whose body this middleware inflated
INFLATED = "gridsync.inflated"


def _error(start_response, status, code, message):
    body = json.dumps({"code": code, "status": int(status.split()[0]), "message": message}).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


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
            return self.app(environ, start_response)
        if encoding != "gzip":
            return _error(start_response, "415 Unsupported Media Type", "unsupported_encoding",
                          f"Content-Encoding {encoding!r} is not supported; send gzip or nothing")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > self.max_compressed:
            return _error(start_response, "413 Request Entity Too Large", "request_entity_too_large",
                          "request body too large")
        raw = environ["wsgi.input"].read(length) if length else environ["wsgi.input"].read(self.max_compressed + 1)
        if len(raw) > self.max_compressed:
            return _error(start_response, "413 Request Entity Too Large", "request_entity_too_large",
                          "request body too large")
        inflater = zlib.decompressobj(wbits=31)
        try:
            body = inflater.decompress(raw, self.max_inflated + 1)
        except zlib.error:
            return _error(start_response, "400 Bad Request", "bad_gzip", "the request body is not valid gzip")
        if len(body) > self.max_inflated or inflater.unconsumed_tail:
            return _error(start_response, "413 Request Entity Too Large", "request_entity_too_large",
                          "request body too large once decompressed")
        if not inflater.eof:
            # A cut-off stream (a dropped connection) must not be applied as a shorter batch.
            return _error(start_response, "400 Bad Request", "bad_gzip", "the gzip request body is incomplete")
        environ = dict(environ)
        environ[INFLATED] = True
        environ.pop("HTTP_CONTENT_ENCODING", None)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ["wsgi.input"] = io.BytesIO(body)
        return self.app(environ, start_response)
