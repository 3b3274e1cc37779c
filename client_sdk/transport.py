"""HTTP to the gridsync server: one session, timeouts always, brotli, retries in our own code.

urllib3's retries stop once a request body reached the server; ours do not, because every push
is idempotent (change ids) and every pull is a read, so re-sending after a lost response is safe.
4xx answers are never retried: sending the same thing again cannot make it right. The function
that sends and the one that sleeps are injectable, so tests can cut a connection after the server
did its work, and run the back-off without waiting.
"""
import random
import time
import urllib.parse

import brotli  # noqa: F401 -- also lets urllib3 decode "Content-Encoding: br" answers
import requests

from . import errors, i18n, jsontext

API_PREFIX = "/api/v1"
#: (connect, read): a dead link is given up on quickly; a big pull page on a slow one may take long.
DEFAULT_TIMEOUT = (5.0, 60.0)
#: Bodies smaller than this are sent as they are: compressing would not make them smaller.
GZIP_MIN = 512
_RETRYABLE = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
_JSON = "application/json"


def session_send(session, method, url, **kwargs):
    """The default send: ``session.request``. Replacements take and return the same."""
    return session.request(method, url, **kwargs)


def server_url(raw):
    """The server's base URL as typed, made usable: ``127.0.0.1:5000`` is taken as
    ``http://127.0.0.1:5000``; anything that is not an http(s) address is refused by name."""
    url = (raw or "").strip()
    if url and "://" not in url:
        url = "http://" + url
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError:
        parts = None
    if not parts or parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise errors.InvalidInput(f"server URL {raw!r} is not an http:// or https:// address, e.g. http://127.0.0.1:5000",
                           field="server", code="invalid_server_url")
    return url.rstrip("/")


class Transport:
    """Owns the ``requests.Session``; ``request()`` returns decoded JSON or raises the tree in
    ``errors``. ``stats`` adds up where the time went (for the benchmark's split)."""

    def __init__(self, server_url_, *, timeout=DEFAULT_TIMEOUT, retries=4, backoff=0.5, max_backoff=8.0,
                 send=session_send, sleep=time.sleep, rng=random.random, session=None):
        url = server_url(server_url_)
        self.base_url = url if url.endswith(API_PREFIX) else url + API_PREFIX
        self.timeout, self.retries = timeout, retries
        self.backoff, self.max_backoff = backoff, max_backoff
        self.send, self.sleep, self.rng = send, sleep, rng
        self.session = session or requests.Session()
        # Every header is sent with every request, and on a 64 kbit/s link a no-op sync is
        # mostly headers: only what the server reads. (HTTP/1.1 keeps the connection open
        # without "Connection: keep-alive"; the API answers JSON whatever "Accept" says, and in
        # Chinese unless asked for English.)
        self.session.headers.clear()
        self.session.headers["Accept-Encoding"] = "br, gzip"
        if i18n.accept_language() == "en":
            self.session.headers["Accept-Language"] = "en"
        self.stats = {"requests": 0, "retries": 0, "network_s": 0.0, "decode_s": 0.0,
                      "bytes_sent": 0, "bytes_received": 0}

    def close(self):
        self.session.close()

    # --- one request, with retries ------------------------------------------------------------
    def request(self, method, path, *, json_body=None, params=None, token=None, retries=None):
        """``retries`` overrides the default for one call (e.g. 0 for a best-effort logout)."""
        retries = self.retries if retries is None else retries
        headers = {"Authorization": "Bearer " + token} if token else {}
        data = None
        if json_body is not None:
            data = jsontext.dumps_bytes(json_body)
            headers["Content-Type"] = _JSON
            if len(data) >= GZIP_MIN:
                # the server takes brotli (docs/protocol.md §1): a fifth fewer bytes than gzip
                data = brotli.compress(data, quality=5)
                headers["Content-Encoding"] = "br"
        url = self.base_url + path
        attempt = 0
        while True:
            try:
                resp = self._send_once(method, url, headers, data, params)
            except _RETRYABLE as exc:
                failure = errors.ServerUnavailable(f"cannot reach the server: {type(exc).__name__}",
                                                   code="network_error")
            else:
                if resp.status_code < 500:
                    try:
                        return self._decode(resp)
                    except errors.BadResponse as exc:
                        failure = exc           # cut short or garbled: failed, like a dropped link
                else:
                    failure = _error_for(resp)
            if attempt >= retries:
                raise failure
            self.sleep(self._delay(attempt))
            attempt += 1
            self.stats["retries"] += 1

    def _send_once(self, method, url, headers, data, params):
        self.stats["requests"] += 1
        self.stats["bytes_sent"] += len(data or b"")
        started = time.perf_counter()
        try:
            resp = self.send(self.session, method, url, headers=headers, data=data, params=params,
                             timeout=self.timeout)
        finally:
            self.stats["network_s"] += time.perf_counter() - started
        self.stats["bytes_received"] += int(resp.headers.get("Content-Length") or len(resp.content))
        return resp

    def _delay(self, attempt):
        # Exponential back-off with "equal jitter": half fixed, half random, so ten thousand
        # tablets coming back into range at once do not retry in step.
        delay = min(self.max_backoff, self.backoff * (2 ** attempt))
        return delay / 2 + self.rng() * delay / 2

    def _decode(self, resp):
        if resp.status_code >= 400:
            raise _error_for(resp)
        if resp.status_code == 204:
            return None
        kind = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if not resp.content or kind != _JSON:
            raise errors.BadResponse(f"the server answered {len(resp.content)} bytes of {kind or 'no type'}, "
                                     "not JSON", status=resp.status_code)
        started = time.perf_counter()
        try:
            return jsontext.loads(resp.content)
        except ValueError:
            raise errors.BadResponse("the server's JSON answer is cut short or garbled",
                                     status=resp.status_code) from None
        finally:
            self.stats["decode_s"] += time.perf_counter() - started


def _envelope(resp):
    try:
        body = jsontext.loads(resp.content)
    except ValueError:
        body = None
    return body if isinstance(body, dict) else {}


def _error_for(resp):
    """The server's error envelope ``{code, status, message, errors}`` as an SDK exception."""
    body = _envelope(resp)
    status = resp.status_code
    code = body.get("code") or (resp.reason or "error").lower().replace(" ", "_")
    message = body.get("message") or f"HTTP {status}"
    errs = body.get("errors") if isinstance(body.get("errors"), dict) else None
    field = next(iter(errs), None) if errs else None
    kw = {"code": code, "status": status, "field": field, "errors": errs}
    if status == 401:
        cls = errors.AuthExpired if code == "token_expired" else errors.AuthRequired
    elif status == 403:
        cls = errors.Forbidden
    elif status == 404:
        cls = errors.NotFound
    elif status == 410:
        cls = errors.ResyncRequired
    elif status == 429 or status >= 500:
        cls = errors.ServerUnavailable
    elif 400 <= status < 500:
        cls = errors.InvalidInput
    else:
        cls = errors.SyncClientError
    return cls(message, **kw)
