"""``FieldClient``: the one entry point a tablet app holds.

It owns the local store, the device's hybrid clock and the transport (with its one requests
session), and is a context manager that closes them. Writes and queries are the mixins in
``entry`` and ``queries``; ``sync()`` runs the steps in ``syncer``. Nothing here needs the
network except ``login``, ``logout`` and ``sync``.
"""
import uuid

from sync.clock import HybridClock

from . import replies
from .casework import CaseworkAPI
from .entry import EntryAPI
from .identity import MatchAPI
from .errors import AuthRequired, Forbidden, InvalidInput, ServerUnavailable, SyncClientError
from .queries import QueryAPI
from .store import Store
from .syncer import PULL_PAGE, Syncer
from .transport import Transport, server_url as transport_server_url


class FieldClient(EntryAPI, QueryAPI, CaseworkAPI, MatchAPI):
    """A field device over a local SQLite file at ``path``.

    ``device_id`` is chosen once (a UUID by default) and kept in the store: it is the device's
    name on the server and the node of its clock. The store is encrypted at rest — every
    record, visit, flag event, unsent change, the worker and the token — with ``key`` (32 random
    bytes the app keeps in the platform's key store) or a key derived from ``passphrase``; a
    store created with one needs it to open. ``plaintext=True`` is the explicit opt-out.
    ``transport`` replaces the default ``Transport(server_url)`` (tests inject faults there).
    """

    def __init__(self, path, server_url=None, *, device_id=None, key=None, passphrase=None, plaintext=False,
                 transport=None, page_size=PULL_PAGE, wall=None):
        self._store = Store(path, passphrase, key=key, plaintext=plaintext)
        try:
            self._open(device_id, server_url, transport, page_size, wall)
        except BaseException:
            self._store.close()
            raise

    def _open(self, device_id, server_url, transport, page_size, wall):
        stored = self._store.get_meta("device_id")
        if stored and device_id and device_id != stored:
            raise InvalidInput(f"this store belongs to device {stored}, not {device_id}", field="device_id",
                               code="wrong_store")
        self.device_id = stored or device_id or str(uuid.uuid4())
        # ``wall``: the wall clock in ms (tests give tablets clocks that disagree)
        self._clock = HybridClock(self.device_id, last=self._store.get_meta("hlc"),
                                  **({"wall": wall} if wall else {}))
        if server_url:
            server_url = transport_server_url(server_url)
        with self._store.transaction():
            self._store.set_meta("device_id", self.device_id)
            if server_url:
                self._store.set_meta("server_url", server_url)
        url = server_url or self._store.get_meta("server_url")
        self.transport = transport or (Transport(url) if url else None)
        self.page_size = page_size
        self._closed = False

    # --- lifetime -------------------------------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if not self._closed:
            self._closed = True
            self._store.close()
            if self.transport is not None:
                self.transport.close()

    # --- auth -----------------------------------------------------------------------------
    @property
    def worker(self):
        """The logged-in worker as the server described them (id, username, role, grid_ids)."""
        return self._store.get_meta("worker")

    @property
    def logged_in(self):
        return self._store.get_secret("token") is not None

    def _held_grids(self):
        return [str(g) for g in (self.worker or {}).get("grid_ids") or ()]

    def _net(self):
        if self.transport is None:
            raise InvalidInput("no server URL: give server_url when opening the client", field="server_url",
                               code="no_server")
        return self.transport

    def login(self, username, password, device_name=""):
        """Get a token for this worker on this device and keep it with the local data."""
        previous = self.worker
        if previous and previous.get("username") != username and (
                self._store.outbox_count() or self._store.rejected_count()):
            raise Forbidden(f"this device holds unsent or refused changes of {previous.get('username')}: sync or "
                            "dismiss them as that worker first, or log out with wipe", code="other_workers_data")
        data = replies.token(self._net().request("POST", "/auth/token", json_body={
            "username": username, "password": password, "device_id": self.device_id,
            "device_name": device_name}))
        worker = data["worker"]
        with self._store.transaction():
            if previous and previous.get("id") != worker["id"]:
                # A shared tablet handed over: the previous worker's records are not this one's.
                self._store.clear_data()
            if data.get("resync_required"):
                self._store.set_meta("cursor", None)
            self._store.set_secret("token", data["token"])
            self._store.set_meta("token_expires_at", data.get("expires_at"))
            self._store.set_meta("worker", worker)
        return worker

    def logout(self, wipe=False, force=False):
        """Revoke the token (best effort: offline it is just forgotten). ``wipe`` deletes the
        store file; it refuses while changes are unsent unless ``force``."""
        if wipe and not force and self._store.outbox_count():
            raise SyncClientError(f"{self._store.outbox_count()} changes are not synced yet: sync first, "
                                  "or wipe with force", code="unsent_changes")
        token = self._store.get_secret("token")
        if token and self.transport is not None:
            try:
                self.transport.request("POST", "/auth/revoke", token=token, retries=0)
            except (ServerUnavailable, AuthRequired):
                pass        # offline, or already expired: forgetting it locally is what matters
        if wipe:
            self._closed = True
            self._store.wipe()
            if self.transport is not None:
                self.transport.close()
            return
        with self._store.transaction():
            self._store.set_secret("token", None)

    def conflicts(self, status="open"):
        """The collisions the server kept in this worker's grids: each field's kept and lost
        value, with their stamps (GET /conflicts; online only)."""
        token = self._store.get_secret("token")
        if token is None:
            raise AuthRequired("log in first", code="auth_required")
        rows = self._net().request("GET", "/conflicts", params={"status": status}, token=token)
        return rows if isinstance(rows, list) else []

    # --- sync -----------------------------------------------------------------------------
    def sync(self, progress=None):
        """Push the outbox, pull until caught up; returns a ``SyncReport``. ``progress`` is
        called as ``progress(phase, done, total_or_None)`` with phase push, pull, resync, prune."""
        token = self._store.get_secret("token")
        if token is None:
            raise AuthRequired("log in first", code="auth_required")
        syncer = Syncer(self._store, self._net(), self._clock, device_id=self.device_id, token=token,
                        progress=progress, page_size=self.page_size)
        self._forget_index()                  # what others changed arrives now: rebuilt on next use
        try:
            return syncer.run()
        except AuthRequired:
            # Expired or revoked: forget the token so the app asks for a log-in; data stays.
            with self._store.transaction():
                self._store.set_secret("token", None)
            raise
