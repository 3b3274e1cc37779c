"""Reading what the device holds: by grid, by household, flagged families, what is unsent.

Everything answers from the local store, offline. Results are plain dicts (the record's fields
plus ``id``), personal fields in clear: the device belongs to the worker who collects them.
Tombstoned records are left out unless asked for.
"""
import uuid

from sync.flags import DEFAULT_LEVEL, fold_flag


def _norm(value):
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return str(value)


def _live(include_deleted):
    return "1" if include_deleted else "deleted = 0"


class QueryAPI:
    """Mixed into ``FieldClient``; needs ``_store``."""

    def households(self, grid_id=None, include_deleted=False):
        where, params = _live(include_deleted), []
        if grid_id:
            where += " AND grid_id = ?"
            params.append(_norm(grid_id))
        rows = self._store.select_records("household", where, params)
        return sorted(rows, key=lambda h: (h.get("address") or "", h.get("building") or "", h.get("unit") or "",
                                           h.get("room") or "", h["id"]))

    def household(self, household_id):
        """One household with its members, or None."""
        rows = self._store.select_records("household", "id = ?", [_norm(household_id)])
        if not rows:
            return None
        return dict(rows[0], persons=self.persons(household_id))

    def persons(self, household_id, include_deleted=False):
        rows = self._store.select_records("person", _live(include_deleted) + " AND household_id = ?",
                                          [_norm(household_id)])
        return sorted(rows, key=lambda p: (p.get("relation") != "head", p.get("name") or "", p["id"]))

    def person(self, person_id):
        rows = self._store.select_records("person", "id = ?", [_norm(person_id)])
        return rows[0] if rows else None

    def _with_copies(self, household_id):
        """The household and the duplicates the server merged into it: their visits and flags
        are the surviving household's."""
        found = frontier = {_norm(household_id)}
        for _ in range(16):
            frontier = self._store.merged_into("household", frontier) - found
            if not frontier:
                break
            found = found | frontier
        return sorted(found)

    def visits(self, household_id=None):
        """Visits oldest first (a correction points at the visit it amends)."""
        if household_id is None:
            return self._store.select_visits()
        homes = self._with_copies(household_id)
        return self._store.select_visits(f"household_id IN ({','.join('?' * len(homes))})", homes)

    def flags(self, state=None, household_id=None):
        """Flags with their current state, level and colour (folded from their events)."""
        where, params = "1", []
        if household_id:
            params = self._with_copies(household_id)
            where = f"household_id IN ({','.join('?' * len(params))})"
        states = self._store.flag_states()
        out = []
        for flag in self._store.select_records("flag", where, params):
            view = states.get(flag["id"], {"state": "reported", "level": flag.get("level") or DEFAULT_LEVEL,
                                           "colour": flag.get("colour"), "concurrent": []})
            if state and view["state"] != state:
                continue
            out.append(dict(flag, raised_colour=flag.get("colour"), **view))
        colour_rank = {"red": 0, "yellow": 1, "green": 2}
        return sorted(out, key=lambda f: (colour_rank.get(f["colour"], 3), f["id"]))

    def flag(self, flag_id):
        """One flag with its event log, oldest first, or None; with ``holder`` (the id of the
        staff member holding it, 承办人) and ``summons`` (each summoned department's state),
        folded from the log."""
        flag_id = _norm(flag_id)
        found = [f for f in self.flags() if f["id"] == flag_id]
        if not found:
            return None
        events = self._store.flag_events([flag_id])[flag_id]
        raised = self._store.load_records("flag", [flag_id])[flag_id][0]     # the level it was raised at
        view = fold_flag(raised.get("colour"), raised.get("level"), events)
        return dict(found[0], events=events, holder=view["holder"], summons=view["summons"])

    def pending_changes(self):
        """Changes made here and not yet accepted by the server, oldest first, as they will be sent."""
        return self._store.outbox()

    def rejected_changes(self):
        """Changes the server refused, each with its reason; kept until the worker dismisses them."""
        return self._store.rejected()

    def dismiss_rejected(self, change_id):
        with self._store.transaction():
            return bool(self._store.dismiss_rejected(_norm(change_id)))

    def status(self):
        """Counts and sync state, for a status line."""
        count = self._store.conn.execute
        return {
            "device_id": self.device_id,
            "worker": (self._store.get_meta("worker") or {}).get("username"),
            "logged_in": self.logged_in,
            "grids": self._held_grids(),
            "households": count("SELECT count(*) FROM records WHERE entity = 'household' AND deleted = 0").fetchone()[0],
            "persons": count("SELECT count(*) FROM records WHERE entity = 'person' AND deleted = 0").fetchone()[0],
            "visits": count("SELECT count(*) FROM visits").fetchone()[0],
            "flags": count("SELECT count(*) FROM records WHERE entity = 'flag'").fetchone()[0],
            "pending": self._store.outbox_count(),
            "rejected": self._store.rejected_count(),
            "last_sync": self._store.get_meta("last_sync"),
        }
