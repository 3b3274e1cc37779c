"""Every typed field of every entity (sync/entities.py ENTITIES, read from the table so a new field
is covered the day it is added) takes any value a client may send: either it is refused with an
error naming the field, or what is kept is valid by its type and by the rules of sync/inputs.py,
and cleaning it again keeps it as it is. A visit's time, besides, is never kept in the future nor
before its household existed, beyond the clock skew allowed."""
import datetime as dt
import re
import uuid

from hypothesis import HealthCheck, given, settings, strategies as st

from sync import inputs
from sync.checklist import CHECK_KEYS
from sync.entities import ENTITIES
from sync.errors import SyncError
from sync.replica import Policy, View, accept

NOW = int(dt.datetime(2026, 11, 30, 12, tzinfo=dt.timezone.utc).timestamp() * 1000)
ID = "6f1c1f33-7d8e-4a51-9d4b-0e3d5f9b2c11"
GRID = "11111111-1111-4111-8111-111111111111"
CHECKS = {k: {"status": "ok"} for k in CHECK_KEYS}
#: a valid change of each entity, into which one field at a time is replaced
BASE = {
    "household": {"grid_id": GRID, "address": "和平路1号"},
    "person": {"household_id": ID, "name": "王伟"},
    "visit": {"household_id": ID, "visited_at": "2026-11-30T10:00:00Z", "checklist_version": 1, "checks": CHECKS},
    "flag": {"household_id": ID, "category": "elderly_alone", "colour": "green"},
    "flag_event": {"flag_id": ID, "action": "note"},
}
FIELDS = sorted((entity, name) for entity, spec in ENTITIES.items() for name in spec.fields)
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")

VALUES = st.one_of(
    st.text(max_size=60), st.integers(), st.none(), st.booleans(), st.floats(allow_nan=True),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z"), st.from_regex(r"\A[0-9xX+ ()-]{5,20}\Z"),
    st.datetimes(min_value=dt.datetime(1800, 1, 1), max_value=dt.datetime(2300, 1, 1),
                 timezones=st.sampled_from([dt.timezone.utc, dt.timezone(dt.timedelta(hours=8)), None]))
    .map(lambda d: d.isoformat()),
    st.uuids().map(str), st.uuids().map(lambda u: u.hex.upper()),
    st.sampled_from(["ok", "red", "community", "note", "M", "head", "elderly_alone", "困境儿童", " ", "\x00"]))


def assert_valid(entity, name, kept):
    """``kept`` is what a replica would store for ``name`` of ``entity``."""
    spec = ENTITIES[entity].fields[name]
    if kept is None:
        assert not spec.required
        return
    if spec.kind == "text":
        assert isinstance(kept, str) and "\x00" not in kept and kept == kept.strip()
        assert not spec.max_len or len(kept) <= spec.max_len
    elif spec.kind == "choice":
        assert kept in spec.choices
    elif spec.kind == "uuid":
        assert _UUID.match(kept)
    elif spec.kind == "bool":
        assert isinstance(kept, bool)
    elif spec.kind == "int":
        assert isinstance(kept, int) and not isinstance(kept, bool)
    elif spec.kind == "object":
        assert isinstance(kept, dict)
    elif spec.kind == "date":
        assert re.match(r"^\d{4}-\d{2}-\d{2}\Z", kept) and dt.date.fromisoformat(kept)
    elif spec.kind == "datetime":
        assert kept.endswith("Z") and dt.datetime.fromisoformat(kept.replace("Z", "+00:00"))
    if name == "id_number" and kept:
        assert inputs.id_number(kept) == kept
    elif name == "phone" and kept:
        inputs.phone(kept)
    elif name == "category":
        inputs.category(kept)
    elif name == "birth_date":
        inputs.birth_date(name, kept, NOW)
    elif name == "visited_at":
        inputs.not_in_future(name, kept, NOW)


def test_the_table_is_covered():
    assert {e for e, _ in FIELDS} == set(ENTITIES) == set(BASE)
    assert len(FIELDS) >= 40


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(which=st.sampled_from(FIELDS), value=VALUES, creating=st.booleans())
def test_any_value_in_any_typed_field_is_refused_naming_it_or_kept_valid(which, value, creating):
    entity, name = which
    fields = dict(BASE[entity], **{name: value})
    try:
        out = ENTITIES[entity].clean(fields, creating=creating, now=NOW)
    except SyncError as exc:
        assert exc.field and exc.code
        return
    for field, kept in out.items():
        assert_valid(entity, field, kept)
    assert ENTITIES[entity].clean(dict(out), creating=creating, now=NOW) == out


def _iso(ms):
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).isoformat().replace("+00:00", "Z")


@settings(max_examples=400, deadline=None)
@given(born=st.integers(NOW - 400 * 86_400_000, NOW + 7_200_000),
       offset=st.integers(-5 * 86_400_000, 5 * 86_400_000),
       edited=st.integers(0, 30 * 86_400_000), junk=st.one_of(st.none(), VALUES))
def test_a_visit_is_kept_only_between_its_households_beginning_and_now(born, offset, edited, junk):
    view, hid = View(), str(uuid.uuid4())
    stamp = lambda ms: f"{ms:013d}-0000-tab-2"
    view.put("household", hid, {"grid_id": GRID, "address": "和平路1号"},
             {"grid_id": stamp(born), "address": stamp(born + edited)})
    at = junk if junk is not None else _iso(born + offset)
    change = {"change_id": str(uuid.uuid4()), "entity": "visit", "entity_id": str(uuid.uuid4()),
              "stamp": stamp(NOW), "fields": {"household_id": hid, "visited_at": at, "checklist_version": 1,
                                              "checks": CHECKS}}
    out = accept([change], view, Policy(), now=NOW)
    (result,) = out.results
    if result["status"] == "rejected":
        assert result["reason"]["code"] and result["reason"]["field"]
        return
    (kept,) = out.visits
    when = dt.datetime.fromisoformat(kept.fields["visited_at"].replace("Z", "+00:00")).timestamp() * 1000
    assert born - inputs.MAX_FUTURE_S * 1000 <= when <= NOW + inputs.MAX_FUTURE_S * 1000
