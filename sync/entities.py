"""What each synced entity is made of: its fields, their types, and how a change's fields are
checked. One table, used by the server at ingest and by the SDK before it writes locally."""
import datetime as _dt
import re
import uuid as _uuid

from . import checklist, flags, inputs
from .errors import InvalidChange

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z", re.ASCII)

RELATIONS = ("head", "spouse", "child", "parent", "grandchild", "grandparent", "sibling", "other")
GENDERS = ("M", "F", "U")


class Field:
    def __init__(self, kind, *, required=False, pii=False, max_len=None, choices=None):
        self.kind, self.required, self.pii = kind, required, pii
        self.max_len, self.choices = max_len, choices
        self._check = getattr(self, "_" + kind)

    def clean(self, name, value):
        if value is None:
            if self.required:
                raise InvalidChange(f"{name} is required and may not be null", field=name)
            return None
        return self._check(name, value)

    def _text(self, name, value):
        if not isinstance(value, str):
            raise InvalidChange(f"{name} must be a string", field=name)
        if "\x00" in value:
            # PostgreSQL cannot store it, and no one types it
            raise InvalidChange(f"{name} contains a NUL character", field=name)
        value = value.strip()
        if self.max_len and len(value) > self.max_len:
            raise InvalidChange(f"{name} is longer than {self.max_len} characters", field=name)
        if self.required and not value:
            raise InvalidChange(f"{name} may not be empty", field=name)
        return value

    def _choice(self, name, value):
        if value not in self.choices:
            raise InvalidChange(f"{name} must be one of {', '.join(self.choices)}", field=name)
        return value

    def _uuid(self, name, value):
        return canonical_uuid(value, name)

    def _bool(self, name, value):
        return value if isinstance(value, bool) else _bad(name, "true or false")

    def _int(self, name, value):
        return value if isinstance(value, int) and not isinstance(value, bool) else _bad(name, "an integer")

    def _date(self, name, value):
        try:
            # only YYYY-MM-DD: fromisoformat also takes week dates and other ISO forms
            parsed = _dt.date.fromisoformat(value) if isinstance(value, str) and _DATE.match(value) \
                else _bad(name, "a date YYYY-MM-DD")
            if not 1850 <= parsed.year <= 2200:
                raise InvalidChange(f"{name} is out of range (years 1850 to 2200)", field=name)
            return parsed.isoformat()
        except ValueError:
            raise InvalidChange(f"{name} is not a valid date YYYY-MM-DD", field=name) from None

    def _datetime(self, name, value):
        try:
            parsed = _dt.datetime.fromisoformat(value) if isinstance(value, str) and len(value) <= 40 \
                else _bad(name, "an ISO 8601 date-time")
        except ValueError:
            raise InvalidChange(f"{name} is not a valid ISO 8601 date-time", field=name) from None
        if parsed.tzinfo is None:
            raise InvalidChange(f"{name} must carry a UTC offset", field=name)
        if not 1900 <= parsed.year <= 2200:
            raise InvalidChange(f"{name} is out of range (years 1900 to 2200)", field=name)
        return parsed.astimezone(_dt.timezone.utc).isoformat().replace("+00:00", "Z")

    def _object(self, name, value):
        return value if isinstance(value, dict) else _bad(name, "an object")


_CANONICAL_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
#: what else is taken as a UUID: upper case, or the 32 hex digits without hyphens; ASCII only
#: (``uuid.UUID`` alone would take Arabic-Indic or full-width digits, braces and "urn:uuid:")
_ASCII_UUID = re.compile(r"^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
                         r"|[0-9a-fA-F]{32})\Z", re.ASCII)


def parse_uuid(value):
    """The ``uuid.UUID`` that ``value`` spells in ASCII hex, or None."""
    if isinstance(value, str) and _ASCII_UUID.match(value):
        return _uuid.UUID(value)
    return None


def canonical_uuid(value, name):
    """The lowercase hyphenated form of a UUID; most ids already arrive in it (fast path)."""
    if isinstance(value, str) and _CANONICAL_UUID.match(value):
        return value
    if not isinstance(value, str):
        _bad(name, "a UUID")
    parsed = parse_uuid(value)
    if parsed is None:
        raise InvalidChange(f"{name} is not a valid UUID", field=name)
    return str(parsed)


def _bad(name, what):
    raise InvalidChange(f"{name} must be {what}", field=name)


class Entity:
    """``kind`` is ``record`` (merged field by field) or ``event`` (append-only)."""

    def __init__(self, name, kind, fields, *, parent=None):
        self.name, self.kind, self.fields = name, kind, fields
        # (entity, field) through which the record's grid is found; None: it carries grid_id.
        self.parent = parent
        self.pii = frozenset(f for f, spec in fields.items() if spec.pii)
        self.required = tuple(f for f, spec in fields.items() if spec.required)

    def clean(self, fields, *, creating, checklists=None, now=None):
        """Check and normalise a change's ``fields``; raise InvalidChange naming the field.
        ``checklists``: the city's checklist versions (sync/checklist.py; default: built-in);
        ``now``: the checking replica's wall clock in ms, for dates in the future (default: read)."""
        if not isinstance(fields, dict) or not fields:
            raise InvalidChange("fields must be a non-empty object", field="fields")
        out = {}
        for name, value in fields.items():
            spec = self.fields.get(name)
            if spec is None:
                raise InvalidChange(f"{name} is not a field of {self.name}", field=f"fields.{name}")
            out[name] = spec.clean(name, value)
        # ID numbers in one spelling (full-width, lowercase x, 15 digits), phones, dates and
        # categories checked by the same rules on every replica (sync/inputs.py)
        inputs.check(self.name, out, settings=getattr(checklists, "settings", None), now=now)
        if creating or self.kind == "event":
            missing = [f for f in self.required if out.get(f) is None]
            if missing:
                raise InvalidChange(f"a new {self.name} needs {', '.join(missing)}", field=missing[0])
        if self.name == "visit":
            checklist.validate_checks(out["checks"], out["checklist_version"], checklists)
        elif self.name == "flag_event":
            flags.check_event(out)
        return out


def _t(n, **kw):
    return Field("text", max_len=n, **kw)


ENTITIES = {
    "household": Entity("household", "record", {
        "grid_id": Field("uuid", required=True),
        "address": _t(200, required=True),
        "building": _t(32), "unit": _t(32), "room": _t(32),
        "head_name": _t(64),
        "phone": _t(32, pii=True),
        "note": _t(2000),
        "deleted": Field("bool"),
        # set by the server when it merges a duplicate into another household (sync/identity)
        "merged_into": Field("uuid"),
    }),
    "person": Entity("person", "record", {
        "household_id": Field("uuid", required=True),
        "relation": Field("choice", choices=RELATIONS),
        "name": _t(64, required=True),
        "gender": Field("choice", choices=GENDERS),
        "birth_date": Field("date"),
        "id_number": _t(32, pii=True),
        "phone": _t(32, pii=True),
        "note": _t(2000),
        "deleted": Field("bool"),
        # set by the server when it merges a duplicate into another person (sync/identity)
        "merged_into": Field("uuid"),
    }, parent=("household", "household_id")),
    "visit": Entity("visit", "event", {
        "household_id": Field("uuid", required=True),
        "visited_at": Field("datetime", required=True),
        "checklist_version": Field("int", required=True),
        "checks": Field("object", required=True),
        "note": _t(2000),
        "amends_id": Field("uuid"),
    }, parent=("household", "household_id")),
    "flag": Entity("flag", "record", {
        "household_id": Field("uuid", required=True),
        "person_id": Field("uuid"),
        "category": _t(64, required=True),
        "colour": Field("choice", required=True, choices=flags.COLOURS),
        "level": Field("choice", choices=flags.LEVELS),
        "note": _t(2000),
    }, parent=("household", "household_id")),
    "flag_event": Entity("flag_event", "event", {
        "flag_id": Field("uuid", required=True),
        "action": Field("choice", required=True, choices=flags.ACTIONS),
        "from_state": Field("choice", choices=flags.STATES),
        # the level the author saw the flag at: a transition is judged there (docs/protocol.md §11)
        "at_level": Field("choice", choices=flags.LEVELS),
        "level": Field("choice", choices=flags.LEVELS),
        "colour": Field("choice", choices=flags.COLOURS),
        "visit_id": Field("uuid"),
        "note": _t(2000),
        # why the server made this event (an escalation): a code and its facts, rendered in each
        # reader's language and time zone (sync/messages.py reason_text); set only by the server
        "reason": Field("object"),
        # assign: the staff member who holds the case at its level (承办人)
        "assignee_id": Field("uuid"),
        # summon, report_in, answer, release: the department (docs/casework.md §9)
        "department_id": Field("uuid"),
    }, parent=("flag", "flag_id")),
}

def split_pii(entity, values):
    """``(plain, personal)``: personal fields (ID and phone numbers) are stored apart, encrypted,
    by the server and the device alike."""
    pii = ENTITIES[entity].pii
    return ({k: v for k, v in values.items() if k not in pii}, {k: v for k, v in values.items() if k in pii})


#: Fields only the server sets (a merge); a device's change that sets one is refused.
SERVER_ONLY = frozenset({"merged_into", "reason"})

#: Fields that may not change once a record exists: where it lives (its scope), and a flag's
#: colour and level, which move only by events (recolour, escalate, route) so that every
#: change of either is a transition in the flag's log, made by someone allowed to make it.
IMMUTABLE = {"flag": frozenset({"household_id", "colour", "level"})}
