"""Replies broken on the way back: a loopback proxy in front of the real server cuts the answer
inside its headers, cuts its body short, empties it, or swaps it for an HTML page. The tablet
must treat each as a failed request (an SDK error, never a TypeError), keep what it had (the
city's configuration included), and on the next good connection end with nothing lost and
nothing doubled."""
import socket
import socketserver
import threading

import pytest

from client_sdk import FieldClient, SyncClientError, Transport
from tests.e2e.conftest import CHECKS_OK
from tests.helpers import STORE_KEY


class _Handler(socketserver.BaseRequestHandler):
    def handle(self):
        proxy = self.server.proxy
        request = _read_request(self.request)
        if request is None:
            return
        head = request.split(b"\r\n", 1)[0].decode("latin-1")
        upstream = socket.create_connection(proxy.backend, timeout=10)
        upstream.sendall(request.replace(b"Connection: keep-alive", b"Connection: close"))
        reply = b""
        while chunk := upstream.recv(65536):
            reply += chunk
        upstream.close()
        mode = proxy.mode_for(head)
        self.request.sendall(_break(reply, mode))


def _read_request(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def _break(reply, mode):
    head, _, body = reply.partition(b"\r\n\r\n")
    if mode == "headers":
        return head[: len(head) // 2]                               # cut inside the headers
    if mode == "body":
        return head + b"\r\n\r\n" + body[: max(1, len(body) // 2)]   # the body cut short
    if mode == "empty":
        lines = [ln for ln in head.split(b"\r\n") if not ln.lower().startswith(b"content-length")]
        return b"\r\n".join(lines + [b"Content-Length: 0"]) + b"\r\n\r\n"
    if mode == "html":
        page = b"<html><body>portal login</body></html>"
        status = head.split(b"\r\n", 1)[0]
        return status + b"\r\nContent-Type: text/html\r\nConnection: close\r\nContent-Length: " + \
            str(len(page)).encode() + b"\r\n\r\n" + page
    return reply


class BreakingProxy:
    """Forwards to ``backend``; the n-th request whose first line contains a fragment gets the
    given mode."""

    def __init__(self, backend):
        self.backend, self.rules = backend, []
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.proxy = self
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def break_next(self, fragment, mode):
        self.rules.append((fragment, mode))

    def mode_for(self, first_line):
        for i, (fragment, mode) in enumerate(self.rules):
            if fragment in first_line:
                del self.rules[i]
                return mode
        return "ok"


    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(live):
    host, port = live.url.replace("http://", "").split(":")
    p = BreakingProxy((host, int(port)))
    yield p
    p.close()


@pytest.mark.parametrize("mode", ["headers", "body", "empty", "html"])
@pytest.mark.parametrize("which", ["the push", "a later page"])
def test_a_broken_reply_is_a_failed_sync_and_nothing_is_lost_or_doubled(live, proxy, device, tmp_path, mode, which):
    other = device("tab-other", "w12")
    for i in range(6):
        other.create_household(live.city["G1"], f"光明巷{i + 1}号")
    transport = Transport(proxy.url, retries=0, sleep=lambda s: None)
    with FieldClient(tmp_path / "tab.db", proxy.url, device_id="tab-broken", transport=transport,
                     key=STORE_KEY, page_size=2) as tab:
        tab.login("w1", "pw-w1")
        tab.sync()
        config = tab._store.get_meta("config")
        hid = tab.create_household(live.city["G1"], "幸福街1号")
        tab.add_person(hid, "王小明", relation="child")
        tab.record_visit(hid, CHECKS_OK)
        other.sync()                                   # six households for the tablet to pull
        # the first exchange carries the push (and a page); the second only a page
        proxy.break_next("/sync/exchange", "ok" if which == "a later page" else mode)
        if which == "a later page":
            proxy.break_next("/sync/exchange", mode)
        with pytest.raises(SyncClientError):
            tab.sync()
        assert tab._store.get_meta("config") == config            # nothing cached was overwritten
        report = tab.sync()                                        # the link is good again
        assert tab.pending_changes() == [] and tab.rejected_changes() == []
        # a push whose answer broke was applied: sent again, it comes back already applied
        assert report.pushed == (0 if which == "a later page" else 3)
        assert len(tab.households()) == 7
    with live.db() as s:
        from sqlalchemy import func, select

        from server.models import ChangeLog, Household, Person, Visit
        assert s.execute(select(func.count()).select_from(Household)).scalar_one() == 7
        assert s.execute(select(func.count()).select_from(Person)).scalar_one() == 1
        assert s.execute(select(func.count()).select_from(Visit)).scalar_one() == 1
        assert s.execute(select(func.count()).select_from(ChangeLog)).scalar_one() == 9
