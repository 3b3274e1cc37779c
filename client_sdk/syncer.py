"""One sync: exchanges (push a batch, pull a page, hear of new grids or configuration) until the
outbox is sent and the pull caught up, then prune what is no longer held.

Each exchange commits its own progress before the next network call (a pushed batch leaves the
outbox with its results; a pulled page, its cursor and what came with it are stored together),
so a connection cut at any point loses nothing, and the next ``sync()`` continues from where this
one stopped: re-sent changes come back ``already_applied``, a re-pulled page changes nothing.
"""
import datetime as dt
import time
from dataclasses import dataclass, field

from sync import SCHEMA_VERSION
from sync.protocol import MAX_BATCH, MAX_PAGE

from . import replies
from .apply import apply_pulled
from .errors import BadResponse, ResyncRequired
from .rebase import DONE, confirm, settle

#: Changes per push: half the server's limit, about 100 KB gzipped (a cheap link sends it whole).
PUSH_BATCH = MAX_BATCH // 2
#: Changes per pull page: the most the server gives, for the fewest round trips on a first sync.
PULL_PAGE = MAX_PAGE


@dataclass
class SyncReport:
    pushed: int = 0
    already_applied: int = 0
    conflicts: int = 0
    rejected: int = 0
    pulled: int = 0
    pages: int = 0
    resynced: bool = False
    grids_changed: bool = False
    dropped: int = 0
    seconds: dict = field(default_factory=dict)


def _now():
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class Syncer:
    def __init__(self, store, transport, clock, *, device_id, token, progress=None, page_size=PULL_PAGE):
        self.store, self.transport, self.clock = store, transport, clock
        self.device_id, self.token, self.page_size = device_id, token, page_size
        self.progress = progress or (lambda phase, done, total: None)
        self.report = SyncReport()
        self.apply_s = 0.0

    def run(self):
        """Exchanges until the outbox is sent and the pull caught up: one request when there is
        nothing to send and nothing new (docs/protocol.md §6.7)."""
        started = time.perf_counter()
        net0, dec0 = self.transport.stats["network_s"], self.transport.stats["decode_s"]
        total, sent, restarted = self.store.outbox_count(), 0, False
        self.progress("push", 0, total)
        while True:
            batch = self.store.outbox(PUSH_BATCH)
            cursor = self.store.get_meta("cursor")
            have = self.store.get_meta("versions") or {}
            try:
                resp = replies.exchange(self._call("POST", "/sync/exchange", json_body=self._exchange_body(
                    batch, cursor, have)), len(batch), have, cursor)
            except ResyncRequired:
                # The designed start-over signal: drop the cursor and pull everything again (the
                # outbox is untouched; nothing of this request was applied).
                if restarted or cursor is None:
                    raise
                restarted = self.report.resynced = True
                with self.store.transaction():
                    self.store.set_meta("cursor", None)
                self.progress("resync", 0, None)
                continue
            if batch:
                self.finish_batch(batch, resp)
                sent += len(batch)
                self.progress("push", sent, max(total, sent))
            self.write_page(resp)
            self.progress("pull", self.report.pulled, None)
            if not resp["more"] and not self.store.outbox_count():
                break
        regrid = self.store.get_meta("regrid")
        if regrid is not None:
            self.prune(regrid)
        with self.store.transaction():
            self.store.set_meta("last_sync", _now())
        self.report.seconds = {"total": time.perf_counter() - started,
                               "network": self.transport.stats["network_s"] - net0,
                               "decode": self.transport.stats["decode_s"] - dec0,
                               "apply": self.apply_s}
        return self.report

    def _exchange_body(self, batch, cursor, have):
        """What an exchange sends; defaults left out (the token names the device; an empty
        batch, a first cursor and the server's page size go unsaid): a no-op is a few bytes on a
        cheap link."""
        body = {"schema_version": SCHEMA_VERSION}
        if batch:
            body["changes"] = batch
        if cursor is not None:
            body["cursor"] = cursor
        if self.page_size != MAX_PAGE:
            body["limit"] = self.page_size
        if have:
            body["have"] = have
        # what is still waiting besides this batch (administrators see it); left out, it is 0
        pending = self.store.outbox_count() - len(batch)
        if pending > 0:
            body["pending"] = pending
        return body

    def _call(self, method, path, **kw):
        return self.transport.request(method, path, token=self.token, **kw)

    # --- steps ----------------------------------------------------------------------------
    def take_news(self, resp):
        """The worker and grids, and the city's configuration, when the server sent them (they
        changed). New grids: the page the server sent starts from the beginning (the new grids'
        history is behind the old cursor); once the pull is complete, what lies outside them is
        pruned. Noted in the store with the page, so a cut during that long pull resumes it."""
        if "config" in resp:
            self.store.set_meta("config", resp["config"])
        if "worker" in resp:
            me = resp["worker"]
            self.store.set_meta("worker", dict(self.store.get_meta("worker") or {}, **me))
            grids = sorted(str(g) for g in me.get("grid_ids") or ())
            synced = self.store.get_meta("synced_grids")
            # a first sync (nothing synced yet) also ends with a prune: it records the grids
            if synced is None or sorted(synced) != grids:
                self.store.set_meta("regrid", grids)
                self.report.grids_changed = synced is not None
            else:
                self.store.set_meta("regrid", None)     # changed and changed back before it finished
        self.store.set_meta("versions", resp["versions"])

    def finish_batch(self, batch, resp):
        """Take accepted changes out of the outbox; set refused ones aside with what hangs on
        them and undo them here (client_sdk/rebase.py); all in one transaction."""
        by_index = {r.get("index"): r for r in resp["results"]}
        results = [by_index.get(i) or {} for i in range(len(batch))]
        statuses = [r.get("status") for r in results]
        unknown = [s for s in statuses if s not in DONE and s != "rejected"]
        if len(by_index) != len(batch) or unknown:
            raise BadResponse(f"the server answered {len(by_index)} results for {len(batch)} changes"
                              + (f", with an unknown status {unknown[0]!r}" if unknown else ""))
        with self.store.transaction():
            set_aside = settle(self.store, batch, results, _now())
            self._observe(resp.get("server_stamp"))
        self.report.conflicts += statuses.count("merged_with_conflict")
        self.report.already_applied += statuses.count("already_applied")
        self.report.rejected += set_aside
        self.report.pushed += sum(s in DONE for s in statuses)

    def write_page(self, page):
        """Apply a page and store its cursor (and what came with it) in the same transaction:
        resumable at any cut."""
        started = time.perf_counter()
        changes = page.get("changes") or []
        with self.store.transaction():
            self.take_news(page)
            out = apply_pulled(self.store, changes)
            if out is not None and out.regridded:
                self.note_moved_out(grid for _, grid in out.regridded)
            confirm(self.store, changes)
            if changes:
                self._observe(max(c["stamp"] for c in changes))
            self._observe(page.get("server_stamp"))
            self.store.set_meta("cursor", page["cursor"])
        self.apply_s += time.perf_counter() - started
        self.report.pulled += len(changes)
        self.report.pages += 1

    def note_moved_out(self, grids):
        """A family moved to a grid this device does not hold: once the pull is complete, what
        lies outside its grids is pruned (unless a change of grids is already pending)."""
        held = self.store.get_meta("synced_grids")
        if held is None or self.store.get_meta("regrid") is not None:
            return
        if any(grid not in held for grid in grids):
            self.store.set_meta("regrid", held)

    def prune(self, grids):
        """After a full pull for the new grids: drop what lies outside them, keeping every record
        an unsent change touches (and the household it hangs on); then remember the grids.
        Refused changes are kept apart with their whole body, whatever is pruned."""
        keep = set()
        for change in self.store.outbox():
            keep.add(change["entity_id"])
            fields = change["fields"]
            keep.update(v for k, v in fields.items() if k in ("household_id", "flag_id", "person_id") and v)
        for rec in self.store.load_records("flag", [k for k in keep]).values():
            keep.add(rec[0].get("household_id"))
        with self.store.transaction():
            self.report.dropped = self.store.drop_outside(grids, keep - {None})
            self.store.set_meta("synced_grids", grids)
            self.store.set_meta("regrid", None)
        if self.report.dropped:
            self.progress("prune", self.report.dropped, None)

    def _observe(self, stamp):
        # Whatever this device writes next must order after everything it has seen.
        if stamp:
            self.clock.observe(stamp)
            self.store.set_meta("hlc", self.clock.peek())
