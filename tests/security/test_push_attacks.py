"""Attacks by push (``/sync/push`` and ``/sync/exchange``) from grid worker w1's tablet on grids
G2 and G3, for every entity a push carries: another grid's ids answer as unknown ids do,
server-only fields and forged carry-overs are refused, ``base`` is checked, and nothing in the
other grids changes (docs/security.md, threat model)."""
import time
import uuid

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import ChangeLog, Person
from tests.helpers import change, push
from tests.security.conftest import anon, checks

#: a visit time just before the test runs: never before the households it creates were
#: registered, nor in the future
RECENT = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))

DEVICE = "dev-w1"


class Tablet:
    """w1's tablet: each call pushes one change, stamped now, and returns its result."""

    def __init__(self, client, auth, via="push"):
        self.client, self.headers, self.via, self.n = client, auth.headers("w1", DEVICE), via, 0

    def send(self, entity, eid, fields, base=None):
        self.n += 1
        st = f"{int(time.time() * 1000):013d}-{self.n % 10000:04d}-{DEVICE}"
        ch = change(entity, eid, fields, st, base=base)
        if self.via == "push":
            resp = push(self.client, self.headers, DEVICE, [ch])
        else:
            resp = self.client.post("/api/v1/sync/exchange", headers=self.headers,
                                    json={"device_id": DEVICE, "schema_version": 1, "changes": [ch]})
        assert resp.status_code == 200, resp.json
        (result,) = resp.json["results"]
        return result


@pytest.fixture(params=["push", "exchange"])
def tablet(request, client, auth):
    return Tablet(client, auth, request.param)


def _visit(hid, **extra):
    return {"household_id": hid, "visited_at": RECENT, "checklist_version": 1,
            "checks": checks(), **extra}


def _same(tablet, untouched, entity, theirs_id, fields_for):
    """Send the change naming another grid's record and the same change naming an unknown id;
    both refused alike, nothing changed elsewhere."""
    unknown = str(uuid.uuid4())
    with untouched():
        theirs = tablet.send(entity, *fields_for(theirs_id))
        nobodys = tablet.send(entity, *fields_for(unknown))
    assert theirs["status"] == "rejected", theirs
    assert anon(theirs) == anon(nobodys)
    return theirs["reason"]


@pytest.mark.parametrize("code", ["G2", "G3"])
def test_edits_of_another_grids_records_answer_like_unknown_ids(tablet, town, untouched, code):
    """An edit naming another grid's household, person or flag: ``out_of_scope`` with the same
    words as an edit of a record the server does not have."""
    for entity, fields in (("household", {"note": "偷改", "head_name": "冒名"}),
                           ("person", {"name": "改名", "id_number": "11010519491231002X"}),
                           ("person", {"deleted": True}),
                           ("flag", {"note": "外人"}), ("household", {"deleted": True})):
        reason = _same(tablet, untouched, entity, town[entity][code], lambda i: (i, fields))
        assert reason["code"] == "out_of_scope"


@pytest.mark.parametrize("code", ["G2", "G3"])
def test_creations_aimed_at_another_grid_answer_like_new_ids(tablet, city, town, untouched, code):
    """A full creation under another grid's id, aimed at that grid, answers as the same creation
    under a new id does; so does one naming another grid's household, flag or person."""
    own_h, own_f = town["household"]["G1"], town["flag"]["G1"]
    theirs_h = town["household"][code]
    cases = [
        ("household", town["household"][code], lambda i: (i, {"grid_id": city[code], "address": "x"})),
        ("person", town["person"][code], lambda i: (i, {"household_id": theirs_h, "name": "x"})),
        ("flag", town["flag"][code], lambda i: (i, {"household_id": theirs_h, "category": "illness_poverty", "colour": "red"})),
        # a taken event id aimed at the grid that holds it answers as a new id aimed there
        ("visit", town["visit"][code], lambda i: (i, _visit(theirs_h))),
        ("flag_event", town["flag_event"][code], lambda i: (i, {"flag_id": town["flag"][code], "action": "note"})),
        # references: the record named is another grid's, or unknown
        ("person", None, lambda i: (str(uuid.uuid4()), {"household_id": i, "name": "外人"})),
        ("visit", None, lambda i: (str(uuid.uuid4()), _visit(i))),
        ("flag", None, lambda i: (str(uuid.uuid4()), {"household_id": i, "category": "illness_poverty", "colour": "red"})),
        ("flag_event", None, lambda i: (str(uuid.uuid4()), {"flag_id": i, "action": "note", "note": "x"})),
        ("flag_event", None, lambda i: (str(uuid.uuid4()), {"flag_id": i, "action": "confirm",
                                                            "from_state": "reported"})),
    ]
    refs = {"person": town["household"][code], "visit": town["household"][code], "flag": town["household"][code],
            "flag_event": town["flag"][code]}
    for entity, target, fields_for in cases:
        reason = _same(tablet, untouched, entity, target or refs[entity], fields_for)
        assert reason["code"] == "out_of_scope", (entity, reason)
    # a person of another grid named by a flag in one's own household
    reason = _same(tablet, untouched, "flag", town["person"][code], lambda i: (
        str(uuid.uuid4()), {"household_id": own_h, "person_id": i, "category": "illness_poverty", "colour": "red"}))
    assert reason["code"] == "out_of_scope"
    # a visit or an amendment naming another grid's visit
    reason = _same(tablet, untouched, "visit", town["visit"][code], lambda i: (
        str(uuid.uuid4()), _visit(own_h, amends_id=i)))
    assert reason["code"] == "unknown_reference"
    reason = _same(tablet, untouched, "flag_event", town["visit"][code], lambda i: (
        str(uuid.uuid4()), {"flag_id": own_f, "action": "note", "visit_id": i}))
    assert reason["code"] == "unknown_reference"


def test_a_full_creation_in_ones_own_grid_under_a_taken_id_writes_nothing_anywhere(app, city, tablet, town,
                                                                                     untouched):
    """The one answer that differs from a new id's (ids are global, so it cannot be made):
    ``out_of_scope``, and neither grid changes."""
    from tests.security.conftest import dump
    own = town["household"]["G1"]
    mine = dump(app, city, ("G1",))
    with untouched():
        for entity, fields in (("household", {"grid_id": city["G1"], "address": "光明巷7号"}),
                               ("person", {"household_id": own, "name": "新生"}),
                               ("flag", {"household_id": own, "category": "illness_poverty", "colour": "green"})):
            for code in ("G2", "G3"):
                result = tablet.send(entity, town[entity][code], fields)
                assert result["status"] == "rejected" and result["reason"]["code"] == "out_of_scope", result
    assert dump(app, city, ("G1",)) == mine


@pytest.mark.parametrize("entity", ["visit", "flag_event"])
def test_a_taken_event_id_answers_append_only_wherever_it_lies(tablet, town, untouched, entity):
    own = {"visit": lambda: _visit(town["household"]["G1"]),
           "flag_event": lambda: {"flag_id": town["flag"]["G1"], "action": "note", "note": "再访"}}[entity]
    with untouched():
        theirs = tablet.send(entity, town[entity]["G3"], own())
        elsewhere = tablet.send(entity, town[entity]["G2"], own())
    ours = tablet.send(entity, town[entity]["G1"], own())
    assert theirs["reason"]["code"] == "append_only"
    assert anon(theirs) == anon(ours) == anon(elsewhere)


# --- server-only fields and carry-overs --------------------------------------------------------------
@pytest.mark.parametrize("entity", ["household", "person"])
def test_merged_into_is_refused_from_a_tablet(app, city, tablet, town, untouched, entity):
    from tests.security.conftest import dump
    mine = dump(app, city, ("G1",))
    with untouched():
        for target in (town[entity]["G3"], town[entity]["G2"], None):
            result = tablet.send(entity, town[entity]["G1"], {"merged_into": target})
            assert result["status"] == "rejected"
            assert result["reason"] == {"code": "server_only", "field": "merged_into",
                                        "message": "merged_into is set only by the server"}
    assert dump(app, city, ("G1",)) == mine


def test_a_carry_over_acts_with_the_tablets_rights(app, city, tablet, town, untouched):
    """w1's person was merged (by an operator) into a person of G3. w1's tablet, not yet told,
    edits its copy: the edit is accepted on the copy, as sent, but not carried over to the
    survivor, which lies in a grid w1 may not write."""
    from server.services.linker import merge_persons
    copy, survivor = town["person"]["G1"], town["survivor"]
    with app.app_context():
        # the one entered first survives: make G3's the older
        db.session.get(Person, uuid.UUID(copy)).created_at = db.session.get(
            Person, uuid.UUID(survivor)).created_at + __import__("datetime").timedelta(seconds=1)
        merge = merge_persons(uuid.UUID(copy), uuid.UUID(survivor), 9.0, ["id=exact"])
        db.session.commit()
        assert str(merge.survivor_id) == survivor
    with untouched():
        result = tablet.send("person", copy, {"name": "王五", "phone": "13700000000", "note": "改"})
    assert result["status"] in ("applied", "merged_with_conflict"), result
    with app.app_context():
        row = db.session.get(Person, uuid.UUID(copy))
        assert (row.name, row.note) == ("王五", "改")


def test_a_carry_over_within_the_tablets_grid_still_happens(app, city, tablet, town):
    """The same edit when both copies lie in w1's grid is carried to the survivor (the rule
    above takes away only what w1 could not write)."""
    from server.services.linker import merge_persons
    a, b = town["person"]["G1"], town["twin"]["G1"]
    with app.app_context():
        merge = merge_persons(uuid.UUID(a), uuid.UUID(b), 9.0, ["id=exact"])
        db.session.commit()
        copy, survivor = str(merge.merged_id), str(merge.survivor_id)
    result = tablet.send("person", copy, {"note": "带过去"})
    assert result["status"] in ("applied", "merged_with_conflict"), result
    with app.app_context():
        assert db.session.get(Person, uuid.UUID(survivor)).note == "带过去"


# --- base ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("base,field", [
    ({"junk": None}, "base.junk"),
    ({"note": "x" * 100_000}, "base.note"),
    ({"note": "not a stamp"}, "base.note"),
    ({"note": 12}, "base.note"),
    ({"merged_into ": None}, "base.merged_into "),
    ({"grid_id": "1795457675266-0000-tablet-1", "<script>": None}, "base.<script>"),
])
def test_junk_base_is_refused_naming_it_and_never_stored(app, tablet, town, base, field):
    hid = town["household"]["G1"]
    with app.app_context():
        logged = db.session.execute(select(func.count()).select_from(ChangeLog)).scalar_one()
    result = tablet.send("household", hid, {"note": "新"}, base=base)
    assert result["status"] == "rejected", result
    assert result["reason"]["code"] == "invalid_change"
    assert result["reason"]["field"] == field
    assert len(result["reason"]["message"]) < 300
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(ChangeLog)).scalar_one() == logged
    good = tablet.send("household", hid, {"note": "新"}, base={"note": None, "address": "1795457675266-0000-tablet-1"})
    assert good["status"] in ("applied", "merged_with_conflict"), good


def test_flags_pushed_above_the_raisers_level_are_refused(tablet, town, untouched):
    for level in ("street", "district", "bureau"):
        result = tablet.send("flag", str(uuid.uuid4()), {"household_id": town["household"]["G1"], "category": "illness_poverty",
                                                         "colour": "red", "level": level})
        assert result["status"] == "rejected" and result["reason"]["code"] == "not_allowed", result
        assert result["reason"]["field"] == "level"
    ok = tablet.send("flag", str(uuid.uuid4()), {"household_id": town["household"]["G1"], "category": "illness_poverty",
                                                 "colour": "red", "level": "community"})
    assert ok["status"] == "applied"
