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


def _enter(client, auth, username, device, city, people, address="和平路1号", ms=NOW):
    h = auth.headers(username, device)
    hid = str(uuid.uuid4())
    changes = [change("household", hid, {"grid_id": city["G1"], "address": address}, stamp(ms, device))]
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
