"""The device's local SQLite file: records, events, the outbox, and what sync needs to resume.

Plain storage, no rules: merging lives in ``apply``, validation in ``entry``. Every write that
must be atomic (a record and its outbox line; a pulled page and its cursor) runs inside one
``transaction()``, so a crash or a dropped connection never leaves half of it behind. Personal
fields are kept apart from the rest of a row (``pii`` columns); they, every record's other
values, the visits, flag events, outbox, refused changes, the worker and the token go through
the sealer, which encrypts them: a store is made with the app's key or a passphrase, or plain
only when asked for (``plaintext=True``).
"""
import contextlib
import os
import sqlite3

from sync.entities import split_pii

from . import crypto, jsontext
from .errors import StoreLocked

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    entity TEXT NOT NULL, id TEXT NOT NULL, grid_id TEXT, household_id TEXT,
    deleted INTEGER NOT NULL DEFAULT 0, vals TEXT NOT NULL, pii BLOB, stamps TEXT NOT NULL,
    merged_into TEXT, PRIMARY KEY (entity, id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_records_grid ON records (entity, grid_id);
CREATE INDEX IF NOT EXISTS ix_records_household ON records (household_id);
CREATE TABLE IF NOT EXISTS visits (
    id TEXT PRIMARY KEY, household_id TEXT NOT NULL, grid_id TEXT, visited_at TEXT NOT NULL,
    stamp TEXT NOT NULL, vals TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ix_visits_household ON visits (household_id, visited_at);
CREATE INDEX IF NOT EXISTS ix_visits_grid ON visits (grid_id);
CREATE TABLE IF NOT EXISTS flag_events (
    id TEXT PRIMARY KEY, flag_id TEXT NOT NULL, grid_id TEXT, stamp TEXT NOT NULL, vals TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ix_flag_events_flag ON flag_events (flag_id);
CREATE TABLE IF NOT EXISTS flag_state (
    flag_id TEXT PRIMARY KEY, state TEXT NOT NULL, level TEXT, colour TEXT, state_stamp TEXT,
    concurrent TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, change_id TEXT NOT NULL UNIQUE, entity TEXT NOT NULL,
    entity_id TEXT NOT NULL, body TEXT NOT NULL, pii BLOB);
CREATE INDEX IF NOT EXISTS ix_outbox_entity ON outbox (entity_id);
CREATE TABLE IF NOT EXISTS rejected (
    change_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, entity TEXT NOT NULL, entity_id TEXT NOT NULL,
    body TEXT NOT NULL, pii BLOB, code TEXT NOT NULL, message TEXT NOT NULL, field TEXT,
    rejected_at TEXT NOT NULL, group_id TEXT);
CREATE TABLE IF NOT EXISTS confirmed (
    entity TEXT NOT NULL, id TEXT NOT NULL, present INTEGER NOT NULL, vals TEXT NOT NULL, pii BLOB,
    stamps TEXT NOT NULL, PRIMARY KEY (entity, id)) WITHOUT ROWID;
"""
_DATA_TABLES = ("records", "visits", "flag_events", "flag_state", "confirmed")


def _dumps(value):
    return jsontext.dumps(value)


#: meta values that name a person: sealed like the records
_SEALED_META = frozenset({"worker"})


class Store:
    def __init__(self, path, passphrase=None, *, key=None, plaintext=False):
        self.path = os.fspath(path)
        self.conn = sqlite3.connect(self.path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a power cut may lose the last transaction but never corrupts.
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(SCHEMA)
        if "group_id" not in {r[1] for r in self.conn.execute("PRAGMA table_info(rejected)")}:
            self.conn.execute("ALTER TABLE rejected ADD COLUMN group_id TEXT")   # a store made by 0.1
        if "merged_into" not in {r[1] for r in self.conn.execute("PRAGMA table_info(records)")}:
            # a store made before the values were sealed: the one value queried is kept beside them
            self.conn.execute("ALTER TABLE records ADD COLUMN merged_into TEXT")
            self.conn.execute("UPDATE records SET merged_into = json_extract(vals, '$.merged_into') "
                              "WHERE vals NOT LIKE 'enc:%'")
        self._depth = 0
        self.sealer = self._open_sealer(passphrase, key, plaintext)

    def _open_sealer(self, passphrase, key, plaintext):
        kdf = self.get_meta("kdf")
        if kdf is None:
            if self.get_meta("device_id") is not None:
                # a store made plain (by choice, or by a version that did not encrypt by default)
                if passphrase or key is not None:
                    raise StoreLocked("this store was created without encryption; it cannot be given a key "
                                      "later (log out with wipe, then log in again)")
                if not plaintext:
                    raise StoreLocked("this store is not encrypted: open it with plaintext=True, or wipe it and "
                                      "log in again to make an encrypted one")
                return crypto.PlainSealer()
            if key is None and not passphrase:
                if not plaintext:
                    raise StoreLocked("a store is encrypted: give the app's key (key=32 bytes) or a passphrase; "
                                      "plaintext=True stores everything in the clear")
                return crypto.PlainSealer()
            with self.transaction():
                kdf = {"alg": "key"} if key is not None else crypto.new_kdf_params()
                sealer = crypto.from_key(key) if key is not None else crypto.derive(passphrase, kdf)
                self.set_meta("kdf", kdf)
                self.set_meta("key_check", crypto.key_check(sealer))
            return sealer
        if kdf.get("alg") == "key":
            if key is None:
                raise StoreLocked("this store is encrypted with the app's key: give it (key=…)")
            sealer = crypto.from_key(key)
        else:
            if key is not None:
                raise StoreLocked("this store is encrypted with a passphrase, not a key")
            sealer = crypto.derive(passphrase, kdf)
        crypto.verify(sealer, self.get_meta("key_check"))
        return sealer

    def close(self):
        self.conn.close()

    def wipe(self):
        """Close and delete the file (and SQLite's side files): logging out of a shared tablet."""
        self.close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path + suffix)

    @contextlib.contextmanager
    def transaction(self):
        """Re-entrant: the outermost block commits, or rolls everything back on an exception."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self.conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")
        finally:
            self._depth = 0

    # --- meta -----------------------------------------------------------------------------
    def get_meta(self, key, default=None):
        if key in _SEALED_META:
            value = self.get_secret(key)
            return default if value is None else value
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return jsontext.loads(row[0]) if row else default

    def set_meta(self, key, value):
        if key in _SEALED_META and value is not None:
            value = self.sealer.seal(value, "meta:" + key).hex()
        if value is None:
            self.conn.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, _dumps(value)))

    def get_secret(self, key):
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        sealed = jsontext.loads(row[0]) if row else None
        if sealed is not None and not isinstance(sealed, str):
            return sealed           # written plain by a version that did not seal it
        return self.sealer.open(bytes.fromhex(sealed), "meta:" + key) if sealed else None

    def set_secret(self, key, value):
        if value is None:
            self.conn.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                              (key, _dumps(self.sealer.seal(value, "meta:" + key).hex())))

    # --- records --------------------------------------------------------------------------
    def _split(self, entity, values, aad):
        plain, secret = split_pii(entity, values)
        return self.sealer.seal_text(_dumps(plain), aad + ":vals"), (self.sealer.seal(secret, aad) if secret else None)

    def _join(self, vals, pii, aad):
        values = jsontext.loads(self.sealer.open_text(vals, aad + ":vals"))
        if pii is not None:
            values.update(self.sealer.open(pii, aad))
        return values

    def load_records(self, entity, ids):
        """``{id: (values, stamps, grid_id)}`` for those of ``ids`` the device holds."""
        return {rid: (self._join(vals, pii, f"{entity}:{rid}"), jsontext.loads(stamps), grid)
                for rid, grid, vals, pii, stamps in self._in(
                    "SELECT id, grid_id, vals, pii, stamps FROM records WHERE entity = ? AND id IN ({marks})",
                    ids, entity)}

    def put_records(self, entity, rows):
        """``rows``: ``(id, values, stamps, grid_id)``; insert or replace whole rows."""
        params = []
        for rid, values, stamps, grid in rows:
            vals, pii = self._split(entity, values, f"{entity}:{rid}")
            params.append((entity, rid, grid, values.get("household_id"), int(bool(values.get("deleted"))),
                           vals, pii, _dumps(stamps), values.get("merged_into")))
        self.conn.executemany("INSERT OR REPLACE INTO records (entity, id, grid_id, household_id, deleted, vals, "
                              "pii, stamps, merged_into) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", params)

    def merges(self, entity):
        """``{id: merged_into}`` of the records the server merged away."""
        return dict(self.conn.execute(
            "SELECT id, merged_into FROM records WHERE entity = ? AND merged_into IS NOT NULL", (entity,)).fetchall())

    def merged_into(self, entity, ids):
        """Ids of the records merged (directly) into any of ``ids``."""
        return {r[0] for r in self._in(
            "SELECT id FROM records WHERE entity = ? AND merged_into IN ({marks})", ids,
            entity)}

    def delete_records(self, entity, ids):
        self.conn.executemany("DELETE FROM records WHERE entity = ? AND id = ?", [(entity, i) for i in ids])
        if entity == "flag":
            self.conn.executemany("DELETE FROM flag_state WHERE flag_id = ?", [(i,) for i in ids])

    # --- what the server holds of records with unsent changes -----------------------------
    # A record this device has changed keeps, beside it, the record as the server has it (as far
    # as this device has heard): pulled changes and accepted pushes go into both. When the
    # server refuses a change, the record is rebuilt from that copy plus the changes still
    # unsent, so the device ends where the server is (docs/protocol.md §6.6).
    def shadows(self, entity, ids):
        """``{id: (present, values, stamps)}``; ``present`` is False for a record the server
        does not have (made here, not yet accepted)."""
        out = {}
        for rid, present, vals, pii, stamps in self._in(
                "SELECT id, present, vals, pii, stamps FROM confirmed WHERE entity = ? AND id IN ({marks})", ids, entity):
            out[rid] = (bool(present), self._join(vals, pii, f"confirmed:{entity}:{rid}"), jsontext.loads(stamps))
        return out

    def put_shadows(self, entity, rows):
        """``rows``: ``(id, present, values, stamps)``."""
        params = []
        for rid, present, values, stamps in rows:
            vals, pii = self._split(entity, values, f"confirmed:{entity}:{rid}")
            params.append((entity, rid, int(bool(present)), vals, pii, _dumps(stamps)))
        self.conn.executemany("INSERT OR REPLACE INTO confirmed (entity, id, present, vals, pii, stamps) "
                              "VALUES (?, ?, ?, ?, ?, ?)", params)

    def drop_shadows(self, entity, ids):
        self.conn.executemany("DELETE FROM confirmed WHERE entity = ? AND id = ?", [(entity, i) for i in ids])

    def select_records(self, entity, where="1", params=()):
        sql = f"SELECT id, vals, pii FROM records WHERE entity = ? AND ({where})"
        rows = self.conn.execute(sql, [entity, *params]).fetchall()
        return [dict(self._join(vals, pii, f"{entity}:{rid}"), id=rid) for rid, vals, pii in rows]

    def regrid_household(self, household_id, grid_id):
        """A household moved grid: its persons, flags, visits and flag events move with it."""
        self.conn.execute("UPDATE records SET grid_id = ? WHERE household_id = ?", (grid_id, household_id))
        self.conn.execute("UPDATE visits SET grid_id = ? WHERE household_id = ?", (grid_id, household_id))
        self.conn.execute("UPDATE flag_events SET grid_id = ? WHERE flag_id IN (SELECT id FROM records WHERE "
                          "entity = 'flag' AND household_id = ?)", (grid_id, household_id))

    # --- events ---------------------------------------------------------------------------
    def add_visits(self, rows):
        """``rows``: ``(id, household_id, grid_id, visited_at, stamp, fields)``; insert if absent."""
        self.conn.executemany("INSERT OR IGNORE INTO visits (id, household_id, grid_id, visited_at, stamp, vals) "
                              "VALUES (?, ?, ?, ?, ?, ?)",
                              [(*r[:5], self.sealer.seal_text(_dumps(r[5]), f"visit:{r[0]}")) for r in rows])

    def _in(self, sql, ids, *before):
        """Rows of ``sql`` (with one ``{marks}``, after the parameters ``before``) for ``ids``,
        a chunk of 500 at a time."""
        ids, rows = list(ids), []
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            rows += self.conn.execute(sql.format(marks=",".join("?" * len(chunk))), [*before, *chunk]).fetchall()
        return rows

    def visit_households(self, ids):
        """``{visit id: household id}`` for those of ``ids`` the device holds."""
        return dict(self._in("SELECT id, household_id FROM visits WHERE id IN ({marks})", ids))

    def known_flag_events(self, ids):
        return {r[0] for r in self._in("SELECT id FROM flag_events WHERE id IN ({marks})", ids)}

    def select_visits(self, where="1", params=()):
        rows = self.conn.execute(f"SELECT id, stamp, vals FROM visits WHERE {where} ORDER BY visited_at, id",
                                 params).fetchall()
        return [dict(jsontext.loads(self.sealer.open_text(vals, f"visit:{vid}")), id=vid, stamp=stamp)
                for vid, stamp, vals in rows]

    def add_flag_events(self, rows):
        """``rows``: ``(id, flag_id, grid_id, stamp, fields)``; insert if absent."""
        self.conn.executemany("INSERT OR IGNORE INTO flag_events (id, flag_id, grid_id, stamp, vals) "
                              "VALUES (?, ?, ?, ?, ?)",
                              [(*r[:4], self.sealer.seal_text(_dumps(r[4]), f"flag_event:{r[0]}")) for r in rows])

    def flag_events(self, flag_ids):
        out = {fid: [] for fid in flag_ids}
        for fid in flag_ids:
            for eid, stamp, vals in self.conn.execute(
                    "SELECT id, stamp, vals FROM flag_events WHERE flag_id = ? ORDER BY stamp", (fid,)):
                out[fid].append(dict(jsontext.loads(self.sealer.open_text(vals, f"flag_event:{eid}")), id=eid, stamp=stamp))
        return out

    def put_flag_states(self, rows):
        """``rows``: ``(flag_id, view)`` with the view from ``sync.flags.fold_flag``."""
        self.conn.executemany(
            "INSERT OR REPLACE INTO flag_state (flag_id, state, level, colour, state_stamp, concurrent) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(fid, v["state"], v["level"], v["colour"], v["state_stamp"], _dumps(v["concurrent"])) for fid, v in rows])

    def flag_states_of(self, flag_ids):
        """``{flag id: (state, level)}`` as last folded."""
        return {r[0]: (r[1], r[2]) for r in self._in(
            "SELECT flag_id, state, level FROM flag_state WHERE flag_id IN ({marks})", flag_ids)}

    def flag_states(self, where="1", params=()):
        rows = self.conn.execute(
            f"SELECT flag_id, state, level, colour, concurrent, state_stamp FROM flag_state WHERE {where}",
            params).fetchall()
        return {r[0]: {"state": r[1], "level": r[2], "colour": r[3], "concurrent": jsontext.loads(r[4]),
                       "state_stamp": r[5]} for r in rows}

    # --- outbox ---------------------------------------------------------------------------
    def append_outbox(self, change):
        aad = "change:" + change["change_id"]
        plain, secret = split_pii(change["entity"], change["fields"])
        body = self.sealer.seal_text(_dumps(dict(change, fields=plain)), aad + ":body")
        pii = self.sealer.seal(secret, aad) if secret else None
        self.conn.execute("INSERT INTO outbox (change_id, entity, entity_id, body, pii) VALUES (?, ?, ?, ?, ?)",
                          (change["change_id"], change["entity"], change["entity_id"], body, pii))

    def _change(self, change_id, body, pii):
        aad = "change:" + change_id
        change = jsontext.loads(self.sealer.open_text(body, aad + ":body"))
        if pii is not None:
            change["fields"].update(self.sealer.open(pii, aad))
        return change

    def outbox(self, limit=-1):
        """The oldest ``limit`` unsent changes, exactly as they will be sent, in order."""
        rows = self.conn.execute("SELECT change_id, body, pii FROM outbox ORDER BY seq LIMIT ?", (limit,)).fetchall()
        return [self._change(cid, body, pii) for cid, body, pii in rows]

    def outbox_for(self, entity_ids):
        """Unsent changes to the records ``entity_ids``, oldest first."""
        rows = self._in("SELECT change_id, body, pii, seq FROM outbox WHERE entity_id IN ({marks})", entity_ids)
        return [self._change(cid, body, pii) for cid, body, pii, _ in sorted(rows, key=lambda r: r[3])]

    def outbox_count(self):
        return self.conn.execute("SELECT count(*) FROM outbox").fetchone()[0]

    def outbox_done(self, change_ids):
        self.conn.executemany("DELETE FROM outbox WHERE change_id = ?", [(c,) for c in change_ids])

    def outbox_reject(self, change_id, reason, at, group=None):
        """Move a refused change aside with the server's reason: kept for the worker to see.
        ``group``: the refused change it went down with (its dependants share its id)."""
        self.conn.execute(
            "INSERT OR REPLACE INTO rejected (change_id, seq, entity, entity_id, body, pii, code, message, field, "
            "rejected_at, group_id) SELECT change_id, seq, entity, entity_id, body, pii, ?, ?, ?, ?, ? FROM outbox "
            "WHERE change_id = ?", (reason.get("code", "rejected"), reason.get("message", ""), reason.get("field"),
                                    at, group or change_id, change_id))
        self.conn.execute("DELETE FROM outbox WHERE change_id = ?", (change_id,))

    def rejected(self):
        rows = self.conn.execute("SELECT body, pii, code, message, field, rejected_at, group_id, change_id "
                                 "FROM rejected ORDER BY seq")
        return [{"change": self._change(cid, body, pii), "reason": {"code": code, "message": message, "field": field},
                 "rejected_at": at, "group": group or cid}
                for body, pii, code, message, field, at, group, cid in rows.fetchall()]

    def dismiss_rejected(self, change_id):
        """Dismiss a refused change and the ones that went down with it."""
        return self.conn.execute("DELETE FROM rejected WHERE change_id = ? OR group_id = ?",
                                 (change_id, change_id)).rowcount

    def delete_events(self, visit_ids=(), event_ids=()):
        self.conn.executemany("DELETE FROM visits WHERE id = ?", [(i,) for i in visit_ids])
        self.conn.executemany("DELETE FROM flag_events WHERE id = ?", [(i,) for i in event_ids])

    # --- scope ----------------------------------------------------------------------------
    def drop_outside(self, grid_ids, keep_ids):
        """Delete what lies outside ``grid_ids``, except rows whose id is in ``keep_ids``
        (records with unsent changes and what they hang on). Returns the number of rows."""
        self.conn.execute("CREATE TEMP TABLE IF NOT EXISTS _keep_grid (id TEXT PRIMARY KEY)")
        self.conn.execute("CREATE TEMP TABLE IF NOT EXISTS _keep_id (id TEXT PRIMARY KEY)")
        self.conn.execute("DELETE FROM _keep_grid")
        self.conn.execute("DELETE FROM _keep_id")
        self.conn.executemany("INSERT OR IGNORE INTO _keep_grid VALUES (?)", [(g,) for g in grid_ids])
        self.conn.executemany("INSERT OR IGNORE INTO _keep_id VALUES (?)", [(i,) for i in keep_ids])
        outside = "(grid_id IS NULL OR grid_id NOT IN (SELECT id FROM _keep_grid)) AND id NOT IN (SELECT id FROM _keep_id)"
        dropped = 0
        for table in ("visits", "flag_events", "records"):
            dropped += self.conn.execute(f"DELETE FROM {table} WHERE {outside}").rowcount
        self.conn.execute("DELETE FROM flag_state WHERE flag_id NOT IN (SELECT id FROM records WHERE entity = 'flag')")
        return dropped

    def rejected_count(self):
        return self.conn.execute("SELECT count(*) FROM rejected").fetchone()[0]

    def clear_data(self):
        """Forget every record, refused change and the cursor (the outbox must be empty)."""
        for table in _DATA_TABLES + ("rejected",):
            self.conn.execute(f"DELETE FROM {table}")
        self.set_meta("cursor", None)
        self.set_meta("synced_grids", None)
        self.set_meta("regrid", None)
