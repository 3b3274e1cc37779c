"""Personal data at rest and on screen: ID and phone numbers encrypted, blind-indexed, masked by
role, full reads audited, and never written to the logs."""
import datetime as dt
import hashlib
import json
import logging
import time
import uuid

import pytest
from sqlalchemy import func, select, text

from server.extensions import db
from server.models import AuditLog, Conflict, Household, Person, Worker
from tests.helpers import change, push, stamp

ID = "11010519491231002X"
ID_FORMS = (ID, ID.lower(), "110105491231002", ID[:17])   # 18, lowercase x, 15-digit, body
OTHER_ID = "110101199003070038"
PHONE = "13800138000"
HH_PHONE = "13912345678"
NAME = "王伟"


def now_ms():
    return int(time.time() * 1000)


@pytest.fixture
def family(client, auth, city):
    """A household with a phone and a person with an ID number and a phone, pushed by w1; then a
    second device of w1's sends an older, different ID number, which loses and is kept as a conflict."""
    hid, pid = uuid.uuid4(), uuid.uuid4()
    t = now_ms()
    resp = push(client, auth.headers("w1"), "dev-w1", [
        change("household", hid, {"grid_id": city["G1"], "address": "和平路1号", "phone": HH_PHONE}, stamp(t)),
        change("person", pid, {"household_id": str(hid), "name": NAME, "id_number": ID.lower(),
                               "phone": PHONE}, stamp(t, counter=1)),
    ])
    assert [r["status"] for r in resp.json["results"]] == ["applied", "applied"], resp.json
    late = push(client, auth.headers("w1", "dev-w1b"), "dev-w1b", [
        change("person", pid, {"id_number": OTHER_ID}, stamp(t - 60_000, device="dev-w1b"))])
    assert late.json["results"][0]["status"] == "merged_with_conflict", late.json
    return {"household": str(hid), "person": str(pid)}


def _texts(value):
    """The searchable forms of one column value, as bytes."""
    if value is None or isinstance(value, (int, float, bool, dt.date, dt.datetime, uuid.UUID)):
        return [str(value).encode()]
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes):
        return [value, value.lower()]
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False)
    value = str(value)
    return [value.encode("utf-8"), value.lower().encode("utf-8")]


def dump_database(app):
    """Every value of every column of every table, via raw SELECT *: {(table, column): [bytes]}."""
    out = {}
    with app.app_context():
        for table in db.metadata.sorted_tables:
            result = db.session.execute(text(f'SELECT * FROM "{table.name}"'))
            keys = list(result.keys())
            for row in result:
                for key, value in zip(keys, row):
                    out.setdefault((table.name, key), []).extend(_texts(value))
    return out


def test_plain_numbers_are_stored_nowhere(app, family):
    dump = dump_database(app)
    needles = [f.encode() for f in ID_FORMS] + [f.lower().encode() for f in ID_FORMS] + [
        OTHER_ID.encode(), PHONE.encode(), HH_PHONE.encode()]
    leaks = [(where, n.decode()) for where, values in dump.items() for v in values for n in needles if n in v]
    assert leaks == []
    # The scan does see what is stored in clear: it would have found a plain number.
    assert any(NAME.encode() in v for v in dump[("person", "name")])
    assert any(NAME.encode() in v for v in dump[("change_log", "payload")])
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Conflict)).scalar_one() == 1
        person = db.session.get(Person, uuid.UUID(family["person"]))
        assert person.id_number_enc and person.phone_enc and person.id_number_bidx and person.phone_bidx


def test_encrypted_values_decrypt_to_the_normalised_numbers(app, family):
    with app.app_context():
        vault = app.extensions["pii_vault"]
        person = db.session.get(Person, uuid.UUID(family["person"]))
        assert vault.decrypt(person.id_number_enc) == ID
        assert vault.decrypt(db.session.get(Household, uuid.UUID(family["household"])).phone_enc) == HH_PHONE
        conflict = db.session.execute(select(Conflict)).scalar_one()
        assert conflict.field == "id_number"
        assert vault.decrypt_json(conflict.values_enc) == {"kept": ID, "lost": OTHER_ID}


def test_blind_index_finds_the_person_by_any_spelling(app, family):
    with app.app_context():
        vault = app.extensions["pii_vault"]
        person = db.session.get(Person, uuid.UUID(family["person"]))
        for form in ID_FORMS[:3] + ("１１０１０５１９４９１２３１００２ｘ",):
            bidx = vault.blind_index("id_number", form)
            assert bidx == person.id_number_bidx
            found = db.session.execute(select(Person.id).where(Person.id_number_bidx == bidx)).scalars().all()
            assert found == [person.id]
        assert vault.blind_index("id_number", OTHER_ID) != person.id_number_bidx
        assert vault.blind_index("phone", PHONE) == person.phone_bidx
        assert vault.blind_index("phone", "0086 138 0013 8000") == person.phone_bidx
        household = db.session.get(Household, uuid.UUID(family["household"]))
        assert household.phone_bidx == vault.blind_index("phone", HH_PHONE)
        # The index is keyed: a plain hash of the number is not it.
        assert person.id_number_bidx not in (hashlib.sha256(ID.encode()).hexdigest()[:32],
                                             hashlib.sha256(f"id_number:{ID}".encode()).hexdigest()[:32])


def test_street_staff_see_masked_numbers_grid_worker_sees_full(client, auth, family):
    pid, hid = family["person"], family["household"]
    full = client.get(f"/api/v1/persons/{pid}", headers=auth.headers("w1")).json
    assert full["id_number"] == ID and full["phone"] == PHONE
    assert client.get(f"/api/v1/persons/{pid}", headers=auth.headers("comm1")).json["id_number"] == ID
    masked = client.get(f"/api/v1/persons/{pid}", headers=auth.headers("street1"))
    assert masked.status_code == 200
    assert masked.json["id_number"] == "110***********002X"
    assert masked.json["phone"] == "138****8000"
    assert client.get(f"/api/v1/households/{hid}", headers=auth.headers("street1")).json["phone"] == "139****5678"
    listed = client.get("/api/v1/households", headers=auth.headers("street1")).json
    assert [h["phone"] for h in listed] == ["139****5678"]
    members = client.get(f"/api/v1/households/{hid}/persons", headers=auth.headers("street1")).json
    assert [m["id_number"] for m in members] == ["110***********002X"]
    for body in (masked.json, listed[0], members[0]):
        assert not {"id_number_enc", "id_number_bidx", "phone_enc", "phone_bidx", "stamps"} & set(body)
        assert ID[:17] not in json.dumps(body) and PHONE not in json.dumps(body)


def test_conflicts_are_masked_for_street_staff(client, auth, family):
    full = client.get("/api/v1/conflicts", headers=auth.headers("w1")).json
    assert [(c["kept_value"], c["lost_value"]) for c in full] == [(ID, OTHER_ID)]
    masked = client.get("/api/v1/conflicts", headers=auth.headers("street1")).json
    assert [(c["kept_value"], c["lost_value"]) for c in masked] == [("110***********002X", "110***********0038")]


def _audit_rows(app, username):
    with app.app_context():
        worker = db.session.execute(select(Worker).where(Worker.username == username)).scalar_one()
        return [(a.action, a.entity, str(a.entity_id)) for a in db.session.execute(
            select(AuditLog).where(AuditLog.worker_id == worker.id).order_by(AuditLog.id)).scalars()]


def test_reading_a_full_record_is_audited(app, client, auth, family):
    h = auth.headers("w1")
    assert _audit_rows(app, "w1") == []
    assert client.get(f"/api/v1/persons/{family['person']}", headers=h).status_code == 200
    assert client.get(f"/api/v1/households/{family['household']}", headers=h).status_code == 200
    assert _audit_rows(app, "w1") == [("read", "person", family["person"]),
                                      ("read", "household", family["household"])]
    with app.app_context():
        at = db.session.execute(select(AuditLog.at)).scalars().first()
        assert at is not None
    # A refused read is not a read.
    assert client.get(f"/api/v1/persons/{family['person']}", headers=auth.headers("w2")).status_code == 404
    assert _audit_rows(app, "w2") == []


@pytest.mark.parametrize("what", ["household_persons", "household_list"])
def test_list_reads_that_show_full_numbers_are_audited(app, client, auth, family, what):
    """The design: every read of a full record is audited. These lists hand a grid worker full
    ID / phone numbers, so they must leave an audit line too."""
    url = {"household_persons": f"/api/v1/households/{family['household']}/persons",
           "household_list": "/api/v1/households"}[what]
    entity, eid = ("person", family["person"]) if what == "household_persons" else ("household", family["household"])
    resp = client.get(url, headers=auth.headers("w1"))
    assert resp.status_code == 200
    assert ID in resp.get_data(as_text=True) or HH_PHONE in resp.get_data(as_text=True)
    assert (entity, eid) in {(e, i) for _, e, i in _audit_rows(app, "w1")}


def test_plain_numbers_never_reach_the_logs(app, client, auth, city, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    h = auth.headers("w1")
    hid, pid = uuid.uuid4(), uuid.uuid4()
    t = now_ms()
    resp = push(client, h, "dev-w1", [
        change("household", hid, {"grid_id": city["G1"], "address": "和平路2号", "phone": HH_PHONE}, stamp(t)),
        change("person", pid, {"household_id": str(hid), "name": NAME, "id_number": ID, "phone": PHONE},
               stamp(t, counter=1)),
        change("person", uuid.uuid4(), {"household_id": str(uuid.uuid4()), "name": NAME, "id_number": OTHER_ID},
               stamp(t, counter=2)),
    ])
    assert [r["status"] for r in resp.json["results"]] == ["applied", "applied", "rejected"]
    assert client.get(f"/api/v1/persons/{pid}", headers=h).json["id_number"] == ID
    assert client.get(f"/api/v1/households/{hid}/persons", headers=h).status_code == 200
    assert client.get("/api/v1/sync/pull", headers=auth.headers("w1", "dev-w1c")).status_code == 200
    patched = client.patch(f"/api/v1/persons/{pid}", headers=h, json={"id_number": "bad-" + OTHER_ID})
    assert patched.status_code in (200, 422)
    assert any(r.name.startswith("sqlalchemy.engine") for r in caplog.records), "SQL statements were logged"
    logged = caplog.text + "\n".join(
        f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)
    for needle in ID_FORMS + (OTHER_ID, PHONE, HH_PHONE):
        assert needle not in logged
        assert needle.lower() not in logged.lower()


def test_lookup_by_number_goes_through_the_blind_index_and_is_audited(app, client, auth, city):
    import uuid as _uuid

    from sqlalchemy import func, select

    from server.models import AuditLog
    from tests.helpers import change, push, stamp
    h = auth.headers("w1")
    hid, pid = str(_uuid.uuid4()), str(_uuid.uuid4())
    ms = 1_790_000_000_000
    push(client, h, "dev-w1", [
        change("household", hid, {"grid_id": city["G1"], "address": "和平路9号"}, stamp(ms)),
        change("person", pid, {"household_id": hid, "name": "王伟", "id_number": "11010519491231002X"},
               stamp(ms + 1))])
    found = client.post("/api/v1/persons/lookup", headers=h, json={"id_number": "110105491231002"})
    assert [p["id"] for p in found.json] == [pid]
    assert client.post("/api/v1/persons/lookup", headers=auth.headers("w2"),
                       json={"id_number": "11010519491231002x"}).json == []
    assert client.post("/api/v1/persons/lookup", headers=h, json={}).status_code == 422
    with app.app_context():
        from server.extensions import db
        assert db.session.execute(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "lookup")).scalar_one() == 1
