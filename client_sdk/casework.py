"""Casework on the device: the city's checklist and rules (from the last sync, or the built-in
ones before the first), the warnings a visit's answers raise — shown at the door, offline —,
the households due a visit, and the flags waiting on this worker.

The rules, deadlines and intervals are the server's own (``GET /config``, sync/casework.py),
so what the tablet shows is what the community queue will show after the sync.
"""
import datetime as dt

from sync.casework import (ACTIVE_STATES, DEFAULT_REVISIT_DAYS, LEVEL_ROLE, OPEN_STATES, allowed_actions,
                           revisit_due)
from sync.checklist import Checklists, default_checklists
from sync.clock import stamp_wall_ms
from sync.rules import Rules, load_rules


def _when(stamp):
    return dt.datetime.fromtimestamp(stamp_wall_ms(stamp) / 1000, dt.timezone.utc) if stamp else None


class CaseworkAPI:
    """Mixed into ``FieldClient``; needs ``_store`` and the query mixin."""

    def checklists(self):
        config = self._store.get_meta("config")
        return Checklists(config["checklists"], source="server config") if config else default_checklists()

    def _rules(self):
        config = self._store.get_meta("config")
        return Rules({"rules": config["rules"]}, source="server config") if config else load_rules()

    def suggestions(self, checks):
        """The flags the city's rules suggest for these answers, red first: what the app shows
        the worker at the door before they raise one (``raise_flag``)."""
        found = self._rules().evaluate(checks, self.checklists().settings)
        return [s.__dict__ for s in found]

    def due_visits(self, now=None):
        """Flagged households due a visit, soonest first: open flags every few days by colour,
        resolved ones for their verifying visit."""
        now = now or dt.datetime.now(dt.timezone.utc)
        config = self._store.get_meta("config") or {}
        table = config.get("revisit_days") or DEFAULT_REVISIT_DAYS
        home = self._survivors()
        last = {}
        for visit in self.visits():
            when = dt.datetime.fromisoformat(visit["visited_at"].replace("Z", "+00:00"))
            key = home.get(visit["household_id"], visit["household_id"])
            last[key] = max(when, last.get(key, when))
        flags = self.flags()
        stamps = {fid: rec[1] for fid, rec in self._store.load_records("flag", [f["id"] for f in flags]).items()}
        out = []
        for flag in flags:
            # raised when its first field was stamped on the device that raised it
            raised = _when(min(stamps.get(flag["id"], {}).values(), default=None)) or now
            changed = _when(flag.get("state_stamp")) or raised
            household = home.get(flag["household_id"], flag["household_id"])
            due = revisit_due(flag["state"], flag["colour"], raised, last.get(household), changed, table)
            if due is not None:
                out.append({"household_id": household, "flag_id": flag["id"],
                            "category": flag["category"], "colour": flag["colour"], "flag_state": flag["state"],
                            "why": due[1], "due_at": due[0], "overdue": due[0] <= now})
        return sorted(out, key=lambda d: (d["due_at"], d["flag_id"]))

    def _survivors(self):
        """``{household id: the household it was merged into}``, chains followed: a flag or a
        visit recorded on a duplicate counts for the surviving household."""
        into = self._store.merges("household")
        out = {}
        for hid in into:
            at = hid
            for _ in range(16):
                if at not in into:
                    break
                at = into[at]
            out[hid] = at
        return out

    def flag_queue(self):
        """Flags this worker has to act on: staff, the open flags at their own level; a grid
        worker, every active flag of their grids. Red first, then yellow, then green."""
        role = (self._store.get_meta("worker") or {}).get("role")
        out = []
        for flag in self.flags():
            if role in LEVEL_ROLE.values():
                wanted = flag["state"] in OPEN_STATES and flag["level"] == role
            else:
                wanted = flag["state"] in ACTIVE_STATES
            if wanted:
                out.append(dict(flag, allowed_actions=allowed_actions(role, flag["state"], flag["level"])))
        return out
