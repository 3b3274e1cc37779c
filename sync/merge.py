"""Merge rules for records (households, persons, flags): field-level last-writer-wins.

Each field keeps the value with the greatest HLC stamp; stamps are totally ordered (the device id
breaks ties), so every replica keeps the same winner whatever order changes arrive in. A change
may say, per field, the stamp of the value its author was looking at (``base``). Two writes
collide when the newer one was not made on top of the older one: the losing value then goes into
a conflict, so no accepted write disappears without a trace.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Conflict:
    field: str
    kept_value: object
    kept_stamp: str
    lost_value: object
    lost_stamp: str
    #: "incoming": the change lost; "current": the change overwrote a value its author had not seen
    lost_side: str


def merge_fields(values, stamps, fields, stamp, base=None):
    """Merge one change into a record's ``values``/``stamps`` (both updated in place).

    Returns ``(changed, conflicts)``: the names of fields whose value or stamp moved (a newer
    write of the same value still moves the stamp, and the replica must store it, or a later
    write stamped in between would win on one replica and lose on another), and the collisions
    found. Applying the same change twice changes nothing the second time.
    """
    changed, conflicts = [], []
    base = base or {}
    for name, value in fields.items():
        current = stamps.get(name)
        if current is None or stamp > current:
            if (current is not None and base.get(name) != current and values.get(name) != value
                    and node_of(current) != node_of(stamp)):
                # A device always saw its own earlier write; another device's value it may not have.
                conflicts.append(Conflict(name, value, stamp, values.get(name), current, "current"))
            changed.append(name)
            values[name] = value
            stamps[name] = stamp
        elif stamp < current and values.get(name) != value:
            conflicts.append(Conflict(name, values.get(name), current, value, stamp, "incoming"))
    return changed, conflicts


def node_of(stamp):
    return stamp.split("-", 2)[2]

