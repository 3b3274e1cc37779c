"""Attacks over the REST API by grid worker w1 on grids G2 and G3 (docs/security.md, threat
model): every endpoint that takes an id answers another grid's id exactly as it answers an id
that does not exist, and nothing in the other grids changes."""
import time
import uuid

import pytest

from tests.security.conftest import anon, checks

#: a visit time just before the test runs: never before the households it creates were
#: registered, nor in the future
RECENT = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))

API = "/api/v1"


def _probe(client, headers, method, url, body=None):
    resp = getattr(client, method)(API + url, headers=headers, json=body)
    assert resp.status_code < 500, resp.get_data(as_text=True)
    return resp.status_code, anon(resp.json)


#: (method, url, body) with {id} where the probed id goes; ``kind`` names the id's table
PROBES = [
    ("household", "get", "/households/{id}", None),
    ("household", "patch", "/households/{id}", {"note": "改了"}),
    ("household", "get", "/households/{id}/persons", None),
    ("household", "get", "/visits?household_id={id}", None),
    ("household", "post", "/persons", {"household_id": "{id}", "name": "外人"}),
    ("household", "post", "/visits", {"household_id": "{id}", "visited_at": RECENT,
                                      "checklist_version": 1, "checks": "CHECKS"}),
    ("household", "post", "/flags", {"household_id": "{id}", "category": "illness_poverty", "colour": "red"}),
    ("person", "get", "/persons/{id}", None),
    ("person", "patch", "/persons/{id}", {"name": "改名", "phone": "13900000000"}),
    ("visit", "get", "/visits/{id}", None),
    ("flag", "get", "/flags/{id}", None),
    ("flag", "post", "/flags/{id}/events", {"action": "note", "note": "外人的话"}),
    ("flag", "post", "/flags/{id}/events", {"action": "confirm", "from_state": "reported"}),
    ("conflict", "post", "/conflicts/{id}/resolve", {"choice": "restore"}),
    ("pair", "post", "/duplicates/reviews/{id}/confirm", None),
    ("pair", "post", "/duplicates/reviews/{id}/reject", None),
    ("merge", "post", "/duplicates/merges/{id}/undo", None),
]


def _fill(body, rid, grid=None):
    if body is None:
        return None
    out = {}
    for k, v in body.items():
        out[k] = rid if v == "{id}" else checks() if v == "CHECKS" else v
    return out


def test_another_grids_id_answers_like_an_unknown_one(client, auth, town, untouched):
    h = auth.headers("w1")
    with untouched():
        for kind, method, url, body in PROBES:
            for code in ("G2", "G3"):
                target = town[kind].get(code) or town["merge"]["G3"]
                unknown = str(uuid.uuid4())
                theirs = _probe(client, h, method, url.format(id=target), _fill(body, target))
                nobodys = _probe(client, h, method, url.format(id=unknown), _fill(body, unknown))
                assert theirs == nobodys, (method, url, code)
                assert theirs[0] == 404, (method, url, code, theirs)


@pytest.mark.parametrize("kind", ["pair", "merge"])
def test_cross_community_pairs_and_merges_are_not_shown_to_one_side(app, client, auth, city, town, untouched, kind):
    """The duplicate lists show a worker only pairs and merges whose two records they may see."""
    from server.extensions import db
    from server.services.linker import merge_persons
    if kind == "merge":
        with app.app_context():
            merge_persons(uuid.UUID(town["person"]["G1"]), uuid.UUID(town["survivor"]), 9.0, ["id=exact"])
            db.session.commit()
    url = "/duplicates/reviews" if kind == "pair" else "/duplicates/merges"
    for who in ("w1", "w3", "comm1"):
        listed = client.get(API + url, headers=auth.headers(who)).json
        assert all({r.get("a_id", r.get("survivor_id")), r.get("b_id", r.get("merged_id"))} <=
                   {town["person"][g] for g in _grids_of(who)} | {town["twin"][g] for g in _grids_of(who)}
                   for r in listed), (who, listed)
        assert town["cross_pair"] not in {r["id"] for r in listed}
    # the street, which reads both communities, sees it
    seen = client.get(API + url, headers=auth.headers("street1")).json
    assert len(seen) >= 1


def _grids_of(who):
    return {"w1": ["G1"], "w3": ["G3"], "comm1": ["G1", "G2"]}[who]


def test_the_cross_grid_pair_is_not_decided_by_either_side(client, auth, town, untouched):
    with untouched():
        for who in ("w1", "w3", "comm1"):
            for verb in ("confirm", "reject"):
                resp = client.post(f"{API}/duplicates/reviews/{town['cross_pair']}/{verb}", headers=auth.headers(who))
                assert (resp.status_code, resp.json["code"]) == (404, "not_found")


# --- creating with a taken id -----------------------------------------------------------------
@pytest.mark.parametrize("entity,url", [("household", "/households"), ("person", "/persons"), ("flag", "/flags")])
def test_creating_with_another_grids_id_never_reaches_it(app, client, auth, city, town, untouched, entity, url):
    """A complete create in one's own grid under an id held elsewhere cannot be made (ids are
    global): it answers ``404 out_of_scope``, never the 409 ``already_exists`` an id of one's
    own grids gets, and the record elsewhere is not touched."""
    h = auth.headers("w1")
    own = {"household": {"grid_id": city["G1"], "address": "光明巷7号"},
           "person": {"household_id": town["household"]["G1"], "name": "新生"},
           "flag": {"household_id": town["household"]["G1"], "category": "illness_poverty", "colour": "yellow"}}[entity]
    with untouched():
        for code in ("G2", "G3"):
            resp = client.post(API + url, headers=h, json={"id": town[entity][code], **own})
            assert (resp.status_code, resp.json["code"]) == (404, "out_of_scope"), resp.json
    mine = client.post(API + url, headers=h, json={"id": town[entity]["G1"], **own})
    assert (mine.status_code, mine.json["code"]) == (409, "already_exists")
    # and one aimed at the other grid answers like a new id aimed there
    if entity == "household":
        with untouched():
            theirs = _probe(client, h, "post", url, {"id": town[entity]["G3"], "grid_id": city["G3"], "address": "x"})
            new = _probe(client, h, "post", url, {"id": str(uuid.uuid4()), "grid_id": city["G3"], "address": "x"})
        assert theirs == new and theirs[0] == 404


@pytest.mark.parametrize("entity", ["visit", "flag_event"])
def test_an_event_id_taken_elsewhere_answers_like_one_taken_at_home(client, auth, town, untouched, entity):
    """A visit or flag event whose id is taken answers ``append_only`` wherever the event holding
    it lies: the answer does not say whether it is in one's own grid."""
    h = auth.headers("w1")
    if entity == "visit":
        url, body = "/visits", {"household_id": town["household"]["G1"], "visited_at": RECENT,
                                "checklist_version": 1, "checks": checks()}
    else:
        url, body = f"/flags/{town['flag']['G1']}/events", {"action": "note", "note": "再访"}
    with untouched():
        theirs = _probe(client, h, "post", url, {"id": town[entity]["G3"], **body})
    ours = _probe(client, h, "post", url, {"id": town[entity]["G1"], **body})
    assert theirs == ours
    assert theirs[0] == 422 and theirs[1]["code"] == "append_only"


def test_references_to_another_grid_answer_like_unknown_ones(client, auth, town, untouched):
    """A person moved into, or a flag raised on, a record of another grid: the same answer as
    for a record that does not exist."""
    h = auth.headers("w1")
    pid, hid = town["person"]["G1"], town["household"]["G1"]
    probes = [
        ("patch", f"/persons/{pid}", lambda x: {"household_id": x}, "household"),
        ("post", "/flags", lambda x: {"household_id": hid, "person_id": x, "category": "illness_poverty", "colour": "red"},
         "person"),
        ("post", "/visits", lambda x: {"household_id": hid, "visited_at": RECENT,
                                       "checklist_version": 1, "checks": checks(), "amends_id": x}, "visit"),
        ("post", f"/flags/{town['flag']['G1']}/events",
         lambda x: {"action": "note", "note": "再访", "visit_id": x}, "visit"),
    ]
    for method, url, body, kind in probes:
        with untouched():
            for code in ("G2", "G3"):
                theirs = _probe(client, h, method, url, body(town[kind][code]))
                nobodys = _probe(client, h, method, url, body(str(uuid.uuid4())))
                assert theirs == nobodys, (url, kind)
                assert theirs[0] in (404, 422)


def test_review_cases_and_area_summaries_outside_the_area(client, auth, city, town):
    h = auth.headers("district2")
    theirs = _probe(client, h, "get", f"/review/cases/{town['flag']['G1']}")
    nobodys = _probe(client, h, "get", f"/review/cases/{uuid.uuid4()}")
    assert theirs == nobodys and theirs[0] == 404
    assert _probe(client, h, "get", f"/areas/{city['G1']}/summary") == \
        _probe(client, h, "get", f"/areas/{uuid.uuid4()}/summary")


# --- server-only fields ---------------------------------------------------------------------------
@pytest.mark.parametrize("method,url,body", [
    ("patch", "/households/{h}", {"merged_into": "{h3}"}),
    ("patch", "/households/{h}", {"note": "x", "merged_into": None}),
    ("post", "/households", {"grid_id": "{g}", "address": "x", "merged_into": "{h3}"}),
    ("patch", "/persons/{p}", {"merged_into": "{p3}"}),
    ("post", "/persons", {"household_id": "{h}", "name": "x", "merged_into": "{p3}"}),
])
def test_server_only_fields_are_refused_by_name(app, client, auth, city, town, untouched, method, url, body):
    """``merged_into`` is not part of any REST input: sending it is a 422 naming it, and nothing
    changes, in the other grids or in one's own."""
    from tests.security.conftest import dump
    ids = {"h": town["household"]["G1"], "h3": town["household"]["G3"], "p": town["person"]["G1"],
           "p3": town["person"]["G3"], "g": city["G1"]}
    fill = {k: (v.format(**ids) if isinstance(v, str) else v) for k, v in body.items()}
    own = dump(app, city, ("G1",))
    with untouched():
        resp = client.open(API + url.format(**ids), method=method.upper(), headers=auth.headers("w1"), json=fill)
    assert resp.status_code == 422, resp.json
    assert resp.json["code"] == "invalid_input"
    assert "merged_into" in resp.json["errors"]
    assert dump(app, city, ("G1",)) == own


def test_the_probe_that_overwrote_another_grid_now_fails_at_every_step(app, client, auth, city, town, untouched):
    """The reported attack: PATCH one's own household to point ``merged_into`` at another grid's,
    then edit one's own household and let the carry-over write the other grid's record."""
    import time
    from tests.helpers import change, push, stamp
    h = auth.headers("w1")
    own, theirs = town["household"]["G1"], town["household"]["G3"]
    with untouched():
        resp = client.patch(f"{API}/households/{own}", headers=h, json={"merged_into": theirs})
        assert resp.status_code == 422
        pushed = push(client, h, "dev-w1", [
            change("household", own, {"merged_into": theirs}, stamp(int(time.time() * 1000))),
            change("household", own, {"head_name": "冒名", "note": "改写"}, stamp(int(time.time() * 1000), counter=1)),
        ]).json["results"]
        assert pushed[0]["reason"]["code"] == "server_only"
        assert pushed[1]["status"] in ("applied", "merged_with_conflict")


# --- roles ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["street1", "district2"])
def test_read_only_staff_cannot_decide_or_undo_merges(app, client, auth, city, town, untouched, who):
    from server.extensions import db
    from server.services.linker import merge_persons
    with app.app_context():
        merge = merge_persons(uuid.UUID(town["person"]["G1"]), uuid.UUID(town["twin"]["G1"]), 9.0, ["id=exact"])
        db.session.commit()
        merge_id = str(merge.id)
    h = auth.headers(who)
    with untouched(("G1", "G2", "G3", "G4")):
        pair = town["pair"]["G2"]
        for url in (f"/duplicates/reviews/{pair}/confirm", f"/duplicates/reviews/{pair}/reject",
                    f"/duplicates/reviews/{town['cross_pair']}/confirm", f"/duplicates/merges/{merge_id}/undo",
                    f"/duplicates/reviews/{uuid.uuid4()}/confirm"):
            resp = client.post(API + url, headers=h)
            assert (resp.status_code, resp.json["code"]) == (403, "forbidden"), (url, resp.json)
    # community staff, who may write both of G2's records, decide G2's pair
    done = client.post(f"{API}/duplicates/reviews/{town['pair']['G2']}/reject", headers=auth.headers("comm1"))
    assert done.status_code == 200 and done.json["status"] == "rejected"


@pytest.mark.parametrize("who,level", [("w1", "bureau"), ("w1", "street"), ("w1", "district"), ("comm1", "street"),
                                       ("comm1", "bureau")])
def test_flags_are_raised_only_at_the_raisers_own_level(app, client, auth, city, town, untouched, who, level):
    from tests.security.conftest import dump
    own = dump(app, city, ("G1",))
    body = {"household_id": town["household"]["G1"], "category": "illness_poverty", "colour": "red", "level": level}
    with untouched():
        resp = client.post(API + "/flags", headers=auth.headers(who), json=body)
    assert (resp.status_code, resp.json["code"]) == (422, "not_allowed"), resp.json
    assert resp.json["errors"] == {"level": [resp.json["message"]]}
    assert dump(app, city, ("G1",)) == own
    ok = client.post(API + "/flags", headers=auth.headers(who), json={**body, "level": "community"})
    assert ok.status_code == 201 and ok.json["current_level"] == "community"


def test_a_pair_is_judged_by_where_its_records_are_not_by_its_grid_columns(app, client, auth, city, town, untouched):
    """A household pair whose stored grids both say G1 (as the linker records a household pair)
    while one household lies in G3: w1 neither sees nor decides it."""
    from server.extensions import db
    from server.models import MatchReview
    a, b = sorted((town["household"]["G1"], town["household"]["G3"]))
    with app.app_context():
        review = MatchReview(id=uuid.uuid4(), entity="household", a_id=uuid.UUID(a), b_id=uuid.UUID(b),
                             grid_id=uuid.UUID(city["G1"]), other_grid_id=uuid.UUID(city["G1"]), score=5.0,
                             reasons=["address=close"], status="open")
        db.session.add(review)
        db.session.commit()
        rid = str(review.id)
    assert rid not in {r["id"] for r in client.get(API + "/duplicates/reviews", headers=auth.headers("w1")).json}
    with untouched():
        for who in ("w1", "comm1"):
            resp = client.post(f"{API}/duplicates/reviews/{rid}/confirm", headers=auth.headers(who))
            assert (resp.status_code, resp.json["code"]) == (404, "not_found")
