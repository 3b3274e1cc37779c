"""A first story: a worker logs in, pushes a household and a person, and reads them back."""
import time
import uuid

from tests.helpers import change, pull_all, push, stamp


def test_push_then_read_back(client, auth, city):
    h = auth.headers("w1")
    hid, pid = uuid.uuid4(), uuid.uuid4()
    now = int(time.time() * 1000)
    resp = push(client, h, "dev-w1", [
        change("household", hid, {"grid_id": city["G1"], "address": "和平路1号", "phone": "13800138000"}, stamp(now)),
        change("person", pid, {"household_id": str(hid), "name": "王伟", "id_number": "11010519491231002x"},
               stamp(now, counter=1)),
    ])
    assert resp.status_code == 200, resp.json
    assert [r["status"] for r in resp.json["results"]] == ["applied", "applied"]
    person = client.get(f"/api/v1/persons/{pid}", headers=h).json
    assert person["id_number"] == "11010519491231002X"
    changes, cursor = pull_all(client, auth.headers("w1", "dev-other"))
    assert {c["entity_id"] for c in changes} == {str(hid), str(pid)}
