"""The duplicate linker on both databases: sure pairs merged, look-alikes kept apart, the queue
scoped to one's area, and the match keys stored only as HMACs."""
import time
import uuid

from sqlalchemy import select

from server.extensions import db
from server.models import MatchKey, Person
from server.services.linker import link_pending
from tests.helpers import change, push, stamp

NOW = int(time.time() * 1000)


def _enter(client, auth, username, device, city, people, address="和平路1号", ms=NOW, grid="G1"):
    h = auth.headers(username, device)
    hid = str(uuid.uuid4())
    changes = [change("household", hid, {"grid_id": city[grid], "address": address}, stamp(ms, device))]
    ids = []
    for i, person in enumerate(people):
        ids.append(str(uuid.uuid4()))
        changes.append(change("person", ids[-1], {"household_id": hid, **person}, stamp(ms, device, i + 1)))
    assert {r["status"] for r in push(client, h, device, changes).json["results"]} == {"applied"}
    return hid, ids


def test_the_same_person_from_two_devices_is_merged_and_twins_are_not(app, client, auth, city):
    wang = {"name": "王伟", "id_number": "11010519491231002X", "birth_date": "1949-12-31", "gender": "M"}
    twin_a = {"name": "李明", "birth_date": "2012-03-04", "gender": "M", "relation": "child"}
    twin_b = {"name": "李亮", "birth_date": "2012-03-04", "gender": "M", "relation": "child"}
    _, (w1,) = _enter(client, auth, "w1", "dev-a", city, [wang], address="和平路1号")
    _, (w2, t1) = _enter(client, auth, "w12", "dev-b", city, [dict(wang, name="王玮"), twin_a],
                         address="光明巷3号", ms=NOW + 10)
    _, (t2,) = _enter(client, auth, "w12", "dev-b", city, [twin_b], address="光明巷3号", ms=NOW + 20)
    with app.app_context():
        stats = link_pending()
        assert stats["merged"] >= 1
        rows = {str(p.id): p for p in db.session.execute(select(Person)).scalars()}
        assert str(rows[w2].merged_into) == w1 and rows[w2].deleted
        assert rows[t1].merged_into is None and rows[t2].merged_into is None
        keys = db.session.execute(select(MatchKey.key)).scalars().all()
        assert keys and all(len(k) == 32 and "11010519491231002X" not in k for k in keys)
    merges = client.get("/api/v1/duplicates/merges", headers=auth.headers("comm1")).json
    assert [(m["survivor_id"], m["merged_id"]) for m in merges if m["entity"] == "person"] == [(w1, w2)]
    assert client.get("/api/v1/duplicates/merges", headers=auth.headers("w3")).json == []
    # the register is read again only where something changed: a second run finds nothing new
    with app.app_context():
        assert link_pending()["merged"] == 0


def test_persons_are_merged_only_within_their_grid_and_only_on_strong_evidence(app, client, auth, city):
    wang = {"name": "王伟", "id_number": "11010519491231002X", "birth_date": "1949-12-31", "gender": "M"}
    _, (g1,) = _enter(client, auth, "w1", "dev-a", city, [wang])
    _, (g3,) = _enter(client, auth, "w3", "dev-c", city, [dict(wang, phone="13900001111")], grid="G3", ms=NOW + 5)
    # two 李娜 born the same day at two doors of one grid, nothing else in common: ask, never merge
    lina = {"name": "李娜", "birth_date": "1990-01-01", "gender": "F"}
    _, (l1,) = _enter(client, auth, "w1", "dev-a", city, [lina], address="和平路9号", ms=NOW + 10)
    _, (l2,) = _enter(client, auth, "w1", "dev-a", city, [lina], address="光明巷3号", ms=NOW + 20)
    with app.app_context():
        stats = link_pending()
        rows = {str(p.id): p for p in db.session.execute(select(Person)).scalars()}
        assert stats["merged"] == 0
        assert all(rows[i].merged_into is None and not rows[i].deleted for i in (g1, g3, l1, l2))
    # the street sees both pairs; each community only the pair whose two records it holds
    reviews = client.get("/api/v1/duplicates/reviews", headers=auth.headers("street1")).json
    pairs = {frozenset((r["a_id"], r["b_id"])): r["id"] for r in reviews}
    assert set(pairs) == {frozenset((l1, l2)), frozenset((g1, g3))}
    assert [r["id"] for r in client.get("/api/v1/duplicates/reviews", headers=auth.headers("comm1")).json] == \
        [pairs[frozenset((l1, l2))]]
    assert client.get("/api/v1/duplicates/reviews", headers=auth.headers("w3")).json == []
    # the pair across two communities: not for one community, nor for read-only street staff
    across = pairs[frozenset((g1, g3))]
    decide = f"/api/v1/duplicates/reviews/{across}/confirm"
    assert client.post(decide, headers=auth.headers("comm1")).status_code == 404
    assert client.post(decide, headers=auth.headers("street1")).status_code == 403
    with app.app_context():
        assert db.session.get(Person, uuid.UUID(g3)).merged_into is None
    # merged by the server (an operator's decision): the merge is listed where both records are seen
    with app.app_context():
        from server.services.linker import merge_persons
        merge_persons(uuid.UUID(g1), uuid.UUID(g3), 10.0, ["id=exact"])
        db.session.commit()
        assert str(db.session.get(Person, uuid.UUID(g3)).merged_into) == g1
    assert [m["merged_id"] for m in client.get("/api/v1/duplicates/merges", headers=auth.headers("street1")).json] \
        == [g3]
    for who in ("w1", "w3", "comm1"):
        assert client.get("/api/v1/duplicates/merges", headers=auth.headers(who)).json == []


def test_undoing_a_household_merge_takes_back_the_members_moved_since(app, client, auth, city):
    from server.models import Household, MergeRecord
    from server.services.linker import merge_households, undo_merge
    h1, _ = _enter(client, auth, "w1", "dev-a", city, [], address="和平路5号")       # first: survives
    h2, _ = _enter(client, auth, "w12", "dev-b", city, [], address="和平路5号", ms=NOW + 5)
    with app.app_context():
        merge_households(uuid.UUID(h1), uuid.UUID(h2), 10.0, ["address=exact"])
        db.session.commit()
    # a tablet that has not heard of the merge adds a newborn to the merged-away household
    baby = str(uuid.uuid4())
    resp = push(client, auth.headers("w12", "dev-b"), "dev-b", [change(
        "person", baby, {"household_id": h2, "name": "王小红"}, stamp(NOW + 100, "dev-b"))])
    assert resp.json["results"][0]["status"] == "applied"
    with app.app_context():
        assert str(db.session.get(Person, uuid.UUID(baby)).household_id) == h1
        (merge,) = db.session.execute(select(MergeRecord)).scalars()
        undo_merge(merge, None)
        db.session.commit()
        assert str(db.session.get(Person, uuid.UUID(baby)).household_id) == h2
        assert db.session.get(Household, uuid.UUID(h2)).merged_into is None


def test_undoing_a_person_merge_brings_them_back_in_their_households_survivor(app, client, auth, city):
    from server.models import MergeRecord
    from server.services.linker import merge_households, undo_merge
    wang = {"name": "王伟", "id_number": "11010519491231002X", "birth_date": "1949-12-31", "gender": "M"}
    h1, _ = _enter(client, auth, "w1", "dev-a", city, [wang], address="和平路1号")
    h2, (p2,) = _enter(client, auth, "w12", "dev-b", city, [wang], address="光明巷8号", ms=NOW + 5)
    with app.app_context():
        link_pending()                           # 王伟 merged (same ID); the two doors are not
        (person_merge,) = db.session.execute(select(MergeRecord)).scalars().all()
        merge_households(uuid.UUID(h1), uuid.UUID(h2), 10.0, ["by hand"])   # later, a reviewer
        db.session.commit()
        undo_merge(person_merge, None)
        db.session.commit()
        back = db.session.get(Person, uuid.UUID(p2))
        assert back.merged_into is None and not back.deleted
        assert str(back.household_id) == h1      # not the merged-away household nobody sees


def test_the_linker_asks_what_a_large_register_asks(app, client, auth, city, monkeypatch):
    # the same name and phone, no birth date or number on one side: enough in a grid worker's
    # few thousand, not in a city's register (a father and his namesake son share both)
    zhao = {"name": "赵桂英", "birth_date": "1950-02-09", "gender": "F", "phone": "13600000000"}
    thin = {"name": "赵桂英", "phone": "136 0000 0000"}
    _, (a,) = _enter(client, auth, "w1", "dev-a", city, [zhao], address="和平路9号")
    _, (b,) = _enter(client, auth, "w1", "dev-b", city, [thin], address="光明巷3号", ms=NOW + 10)
    import sync.identity.score as score
    monkeypatch.setattr(score, "BASE_REGISTER", 1)     # two persons are a large register here
    with app.app_context():
        stats = link_pending()
        assert stats["merged"] == 0 and stats["queued"] == 1
        assert db.session.get(Person, uuid.UUID(b)).merged_into is None
    monkeypatch.undo()
    _, (c,) = _enter(client, auth, "w1", "dev-c", city, [dict(thin, name="赵 桂英")], address="和平路9号",
                     ms=NOW + 20)
    with app.app_context():
        link_pending()
        assert str(db.session.get(Person, uuid.UUID(c)).merged_into) in (a, b)      # a small register: merged
