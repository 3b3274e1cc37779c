"""Bodies over the limit are refused with 413 however they are framed: a chunked body (no
Content-Length) is counted as it arrives, never cut at the limit and parsed (issue 11).

These run against a real server over a socket: only a real server decodes chunked framing."""
import http.client
import json
import shutil
import threading
import uuid

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.city import make_city
from tests.conftest import _config, _dispose
from tests.helpers import change, stamp

LIMIT = 64 * 1024


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


@pytest.fixture
def server(tmp_path, sqlite_template):
    from server import create_app
    path = tmp_path / "server.db"
    shutil.copy(sqlite_template, path)
    app = create_app(_config(f"sqlite:///{path}", MAX_CONTENT_LENGTH=LIMIT, MAX_DECOMPRESSED_LENGTH=4 * LIMIT))
    app.instance_path = str(tmp_path / "instance")
    with app.app_context():
        city = make_city()
    srv = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield app, srv.server_port, city
    finally:
        srv.shutdown()
        thread.join(timeout=10)
        srv.server_close()
        _dispose(app)


def _request(port, method, path, body, headers, chunked, piece=8192):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        if chunked:
            conn.putrequest(method, path)
            for k, v in headers.items():
                conn.putheader(k, v)
            conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            try:
                for i in range(0, len(body), piece):
                    part = body[i:i + piece]
                    conn.send(b"%x\r\n%s\r\n" % (len(part), part))
                conn.send(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass        # the server may answer and close before the rest was sent
        else:
            conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _login(port):
    status, body = _request(port, "POST", "/api/v1/auth/token",
                            json.dumps({"username": "w1", "password": "pw-w1", "device_id": "dev-w1"}).encode(),
                            {"Content-Type": "application/json"}, chunked=False)
    assert status == 201, body
    return json.loads(body)["token"]


def _push_body(city, household_id, pad):
    """A valid push whose JSON ends well inside the limit, followed by ``pad`` bytes of
    whitespace: cut at the limit, what remains still parses as the whole push."""
    ch = change("household", household_id, {"grid_id": city["G1"], "address": "光明巷7号"},
                stamp(1_700_000_000_000))
    body = json.dumps({"device_id": "dev-w1", "schema_version": 1, "changes": [ch]}).encode()
    return body + b" " * pad


def _households(app):
    from server.extensions import db
    from server.models import Household
    with app.app_context():
        return db.session.query(Household).count()


@pytest.mark.parametrize("over", [1, 4096, 3 * LIMIT])
def test_a_chunked_body_over_the_limit_is_413_and_nothing_is_applied(server, over):
    app, port, city = server
    headers = {"Authorization": "Bearer " + _login(port), "Content-Type": "application/json"}
    body = _push_body(city, uuid.uuid4(), 0)
    body += b" " * (LIMIT - len(body) + over)
    status, reply = _request(port, "POST", "/api/v1/sync/push", body, headers, chunked=True)
    assert status == 413, reply
    assert json.loads(reply) == {"code": "request_entity_too_large", "status": 413,
                                 "message": "request body too large"}
    assert _households(app) == 0


@pytest.mark.parametrize("piece", [1, 1000, 8192])
def test_a_chunked_body_within_the_limit_is_read_whole(server, piece):
    app, port, city = server
    headers = {"Authorization": "Bearer " + _login(port), "Content-Type": "application/json"}
    body = _push_body(city, uuid.uuid4(), 0) if piece == 1 else _push_body(city, uuid.uuid4(), LIMIT // 2)
    status, reply = _request(port, "POST", "/api/v1/sync/push", body, headers, chunked=True, piece=piece)
    assert status == 200, reply
    assert json.loads(reply)["results"][0]["status"] == "applied"
    assert _households(app) == 1


def test_a_declared_length_over_the_limit_is_413(server):
    app, port, city = server
    headers = {"Authorization": "Bearer " + _login(port), "Content-Type": "application/json"}
    body = _push_body(city, uuid.uuid4(), LIMIT)
    status, reply = _request(port, "POST", "/api/v1/sync/push", body, headers, chunked=False)
    assert status == 413, reply
    assert _households(app) == 0


def test_a_gzipped_chunked_body_is_read_whole_and_its_wire_size_held_to_the_limit(server):
    import gzip
    import os
    app, port, city = server
    headers = {"Authorization": "Bearer " + _login(port), "Content-Type": "application/json",
               "Content-Encoding": "gzip"}
    good = gzip.compress(_push_body(city, uuid.uuid4(), LIMIT))       # small on the wire, padded inside
    status, reply = _request(port, "POST", "/api/v1/sync/push", good, headers, chunked=True, piece=100)
    assert status == 200, reply
    assert _households(app) == 1
    noisy = gzip.compress(_push_body(city, uuid.uuid4(), 0) + b" " + os.urandom(2 * LIMIT))
    status, reply = _request(port, "POST", "/api/v1/sync/push", noisy, headers, chunked=True)
    assert status == 413, reply
    assert _households(app) == 1
