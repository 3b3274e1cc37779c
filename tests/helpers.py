"""Building changes and pushes in tests."""
import uuid

_counter = {"n": 0}

#: the key test tablets encrypt their stores with (an app would keep a random one in its key store)
STORE_KEY = bytes(range(32))


def stamp(ms, device="dev-w1", counter=0):
    return f"{ms:013d}-{counter:04d}-{device}"


def change(entity, entity_id, fields, st, base=None, change_id=None):
    return {"change_id": str(change_id or uuid.uuid4()), "entity": entity, "entity_id": str(entity_id),
            "stamp": st, "fields": fields, **({"base": base} if base is not None else {})}


def push(client, headers, device_id, changes, schema_version=1):
    return client.post("/api/v1/sync/push", headers=headers,
                       json={"device_id": device_id, "schema_version": schema_version, "changes": changes})


def pull_all(client, headers, cursor=None, limit=1000):
    """Every change after ``cursor``; returns (changes, cursor)."""
    out = []
    while True:
        q = f"/api/v1/sync/pull?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        resp = client.get(q, headers=headers)
        assert resp.status_code == 200, resp.json
        out.extend(resp.json["changes"])
        cursor = resp.json["cursor"]
        if not resp.json["more"]:
            return out, cursor
