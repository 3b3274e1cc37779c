"""Hybrid logical clock: stamps that order events across devices whose clocks disagree.

A stamp is ``"<wall ms, 13 digits>-<counter, 4 digits>-<node>"``. Fixed widths make the string
order the clock order, and the node (device id) breaks ties, so every replica picks the same
winner without parsing.
"""
import re
import threading
import time

from .errors import BadStamp

_STAMP = re.compile(r"^(\d{13})-(\d{4})-([A-Za-z0-9_.:-]{1,64})\Z", re.ASCII)
MAX_COUNTER = 9999


def format_stamp(wall_ms, counter, node):
    return f"{wall_ms:013d}-{counter:04d}-{node}"


def parse_stamp(stamp):
    """Return ``(wall_ms, counter, node)``; raise BadStamp for anything else."""
    if not isinstance(stamp, str):
        raise BadStamp("stamp must be a string", field="stamp")
    m = _STAMP.match(stamp)
    if not m:
        raise BadStamp(f"malformed stamp {stamp[:80]!r}: expected <13-digit ms>-<4-digit counter>-<node>",
                       field="stamp")
    return int(m.group(1)), int(m.group(2)), m.group(3)


def stamp_wall_ms(stamp):
    return int(stamp[:13])


def wall_clock_ms():
    return time.time_ns() // 1_000_000


class HybridClock:
    """A node's clock. ``now()`` stamps a local event; ``observe()`` takes in a remote stamp so
    that whatever this node does next orders after everything it has seen."""

    def __init__(self, node, *, wall=wall_clock_ms, last=None):
        if not _STAMP.match(format_stamp(0, 0, node)):
            raise ValueError(f"bad clock node id {node!r}")
        self.node = node
        self._wall = wall
        self._lock = threading.Lock()
        self._ms, self._counter = 0, 0
        if last:
            self.observe(last)

    def now(self):
        with self._lock:
            wall = self._wall()
            if wall > self._ms:
                self._ms, self._counter = wall, 0
            else:
                self._tick()
            return format_stamp(self._ms, self._counter, self.node)

    def observe(self, stamp):
        remote_ms, remote_counter, _ = parse_stamp(stamp)
        with self._lock:
            wall = self._wall()
            if wall > self._ms and wall > remote_ms:
                self._ms, self._counter = wall, 0
            elif remote_ms > self._ms:
                self._ms, self._counter = remote_ms, remote_counter
                self._tick()
            elif remote_ms == self._ms:
                self._counter = max(self._counter, remote_counter)
                self._tick()
            else:
                self._tick()

    def present_ms(self):
        """Now as this node best knows it: its wall clock, or the latest stamp it issued or saw
        if that is later (a clock that runs behind another's still dates after what it saw)."""
        with self._lock:
            return max(self._wall(), self._ms)

    def peek(self):
        """The last stamp issued or observed (for persisting the clock)."""
        return format_stamp(self._ms, self._counter, self.node)

    def _tick(self):
        # A full counter moves into the next millisecond rather than wrapping: order is kept.
        if self._counter >= MAX_COUNTER:
            self._ms, self._counter = self._ms + 1, 0
        else:
            self._counter += 1
