"""The transport on its own: timeouts always, compressed bodies, retries on 5xx and network errors
with growing jittered back-off, never on 4xx, and one error tree."""
import json

import brotli

import pytest
import requests

from client_sdk import (AuthExpired, AuthRequired, Forbidden, InvalidInput, ResyncRequired, ServerUnavailable,
                        SyncClientError, Transport)


def _response(status, body=None):
    resp = requests.Response()
    resp.status_code = status
    resp._content = json.dumps(body).encode() if body is not None else b""
    resp.headers["Content-Type"] = "application/json"
    return resp


class Script:
    """A fake send that answers from a list and records what it was asked."""

    def __init__(self, *answers):
        self.answers, self.calls = list(answers), []

    def __call__(self, session, method, url, **kw):
        self.calls.append((method, url, kw))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def _transport(script, **kw):
    sleeps = []
    t = Transport("http://tablet.test", send=script, sleep=sleeps.append, rng=lambda: 0.5, **kw)
    return t, sleeps


def test_retries_network_errors_and_5xx_with_growing_jittered_backoff():
    script = Script(requests.ConnectionError("down"), requests.ReadTimeout("slow"), _response(503, {}),
                    _response(200, {"ok": True}))
    t, sleeps = _transport(script, retries=4, backoff=0.5)
    assert t.request("GET", "/sync/pull") == {"ok": True}
    assert sleeps == [0.375, 0.75, 1.5]                     # half fixed + half random, doubling
    assert all(kw["timeout"] == (5.0, 60.0) for _, _, kw in script.calls)
    assert t.stats["retries"] == 3 and t.stats["requests"] == 4


def test_gives_up_after_the_retries_with_server_unavailable():
    t, sleeps = _transport(Script(*[_response(502, {"code": "bad_gateway", "message": "x"})] * 3), retries=2)
    with pytest.raises(ServerUnavailable) as err:
        t.request("POST", "/sync/push", json_body={"a": 1})
    assert err.value.status == 502 and len(sleeps) == 2


@pytest.mark.parametrize("status,code,cls", [
    (422, "invalid_input", InvalidInput), (401, "token_expired", AuthExpired), (401, "bad_token", AuthRequired),
    (403, "forbidden", Forbidden), (410, "resync_required", ResyncRequired), (426, "schema_version_unsupported",
                                                                             InvalidInput)])
def test_4xx_is_never_retried_and_maps_to_the_tree(status, code, cls):
    script = Script(_response(status, {"code": code, "status": status, "message": "no",
                                       "errors": {"fields.name": ["bad"]}}))
    t, sleeps = _transport(script)
    with pytest.raises(cls) as err:
        t.request("POST", "/sync/push", json_body={})
    assert isinstance(err.value, SyncClientError) and err.value.code == code
    assert sleeps == [] and len(script.calls) == 1
    if cls is InvalidInput and status == 422:
        assert err.value.field == "fields.name" and err.value.errors == {"fields.name": ["bad"]}


def test_bodies_are_compressed_and_the_token_sent():
    script = Script(_response(200, {}), _response(200, {}))
    t, _ = _transport(script)
    body = {"changes": [{"note": "走访" * 400}]}
    t.request("POST", "/sync/push", json_body=body, token="tok")
    _, url, kw = script.calls[0]
    assert url == "http://tablet.test/api/v1/sync/push"
    assert kw["headers"]["Content-Encoding"] == "br" and kw["headers"]["Authorization"] == "Bearer tok"
    assert json.loads(brotli.decompress(kw["data"])) == body
    assert t.session.headers["Accept-Encoding"] == "br, gzip"
    # a small body goes as it is: compressing it would not make it smaller
    t.request("POST", "/sync/exchange", json_body={"schema_version": 1}, token="tok")
    assert "Content-Encoding" not in script.calls[1][2]["headers"]


@pytest.fixture
def language():
    from client_sdk import i18n
    before = i18n.language()
    yield i18n.use
    i18n.use(before)


def test_only_headers_the_server_reads_are_sent(language):
    """On a 64 kbit/s link a no-op sync is mostly headers."""
    language("zh_CN")
    t, _ = _transport(Script(_response(200, {})))
    assert sorted(t.session.headers) == ["Accept-Encoding"]       # Chinese: the server's default
    language("en")
    t, _ = _transport(Script(_response(200, {})))
    assert dict(t.session.headers) == {"Accept-Encoding": "br, gzip", "Accept-Language": "en"}


def test_non_json_error_page_still_maps():
    resp = requests.Response()
    resp.status_code, resp._content, resp.reason = 404, b"<html>nope</html>", "Not Found"
    t, _ = _transport(Script(resp))
    with pytest.raises(InvalidInput) as err:
        t.request("GET", "/nowhere")
    assert err.value.code == "not_found"
