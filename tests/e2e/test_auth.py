"""Log-in, an expired token, and personal data at rest on a shared tablet."""
import pytest

from client_sdk import AuthExpired, AuthRequired, FieldClient, Forbidden, StoreLocked, SyncClientError
from server.models import Token
from tests.e2e.conftest import CHECKS_OK


def test_expired_token_is_a_clear_error_and_local_work_survives(live, device):
    a = device("tab-a", "w1")
    hid = a.create_household(live.city["G1"], "光明巷3号")
    a.record_visit(hid, CHECKS_OK)
    live.expire_tokens("w1")

    with pytest.raises(AuthExpired) as err:
        a.sync()
    assert err.value.status == 401 and err.value.code == "token_expired"
    assert not a.logged_in
    assert len(a.pending_changes()) == 2

    a.login("w1", "pw-w1")
    a.sync()
    assert a.pending_changes() == []


def test_wrong_password_and_no_login(live, device):
    a = device("tab-a")
    with pytest.raises(AuthRequired) as err:
        a.login("w1", "wrong")
    assert not isinstance(err.value, AuthExpired) and err.value.code == "bad_credentials"
    with pytest.raises(AuthRequired):
        a.sync()


def test_revoked_token_after_logout(live, device):
    a = device("tab-a", "w1")
    a.logout()
    assert not a.logged_in
    with pytest.raises(AuthRequired):
        a.sync()
    assert live.count(Token, revoked_at=None) == 0


def test_another_workers_unsent_changes_block_a_new_login(live, device):
    a = device("tab-a", "w1")
    a.create_household(live.city["G1"], "人民路8号")
    with pytest.raises(Forbidden):
        a.login("w2", "pw-w2")
    assert len(a.pending_changes()) == 1


def test_encrypted_store_keeps_personal_fields_unreadable_and_wipes_on_logout(live, device, tmp_path):
    a = device("tab-a", "w1", passphrase="口令 correct horse")
    hid = a.create_household(live.city["G1"], "和平路9号", phone="13812345678")
    a.add_person(hid, "李娜", id_number="110105194912310038")
    raw = (tmp_path / "tab-a.db").read_bytes() + (tmp_path / "tab-a.db-wal").read_bytes()
    assert b"13812345678" not in raw and b"110105194912310038" not in raw
    assert a._store.get_secret("token").encode() not in raw
    a.sync()

    with pytest.raises(StoreLocked):
        FieldClient(tmp_path / "tab-a.db", passphrase="wrong")
    with FieldClient(tmp_path / "tab-a.db", passphrase="口令 correct horse") as again:
        assert again.persons(hid)[0]["id_number"] == "110105194912310038"

    a.create_household(live.city["G1"], "和平路10号")
    with pytest.raises(SyncClientError) as err:
        a.logout(wipe=True)
    assert err.value.code == "unsent_changes"
    a.sync()
    a.logout(wipe=True)
    assert not (tmp_path / "tab-a.db").exists()


def _staff_session(live, who):
    """A browser-like session of ``who`` on the staff pages, and its CSRF token."""
    import re

    import requests
    s = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', s.get(live.url + "/review/login", timeout=10).text).group(1)
    resp = s.post(live.url + "/review/login", data={"username": who, "password": "pw-" + who, "csrf_token": token},
                  timeout=10, allow_redirects=False)
    assert resp.status_code == 302, resp.text
    # a log-in starts a fresh session, with a token of its own
    page = s.get(live.url + "/admin/devices", timeout=10).text
    return s, re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_a_device_revoked_on_the_admin_page_must_log_in_and_keeps_its_work(live, device, monkeypatch):
    from server.models import Device
    import client_sdk.syncer
    a = device("tab-a", "w1", retries=0)
    for n in range(3):
        a.create_household(live.city["G1"], f"光明巷{n}号")
    # the tablet says what it still holds: a sync cut after its first batch of two leaves one
    monkeypatch.setattr(client_sdk.syncer, "PUSH_BATCH", 2)
    a.cutter.cut("/sync/exchange", skip=1, when="before")
    with pytest.raises(SyncClientError):
        a.sync()
    with live.db() as s:
        row = s.get(Device, "tab-a")
        assert (row.unsent_changes, row.last_sync_at is not None) == (1, True)
    a.sync()
    with live.db() as s:
        assert s.get(Device, "tab-a").unsent_changes == 0
    hid = a.create_household(live.city["G1"], "人民路8号")

    web, csrf = _staff_session(live, "street1")
    assert "tab-a" in web.get(live.url + "/admin/devices", timeout=10).text
    resp = web.post(live.url + "/admin/devices/revoke", data={"csrf_token": csrf, "device_id": "tab-a", "confirm": "1"},
                    timeout=10, allow_redirects=False)
    assert resp.status_code == 302

    with pytest.raises(AuthRequired) as err:
        a.sync()
    assert err.value.status == 401 and err.value.code in ("device_revoked", "token_revoked")
    assert not a.logged_in and [c["entity_id"] for c in a.pending_changes()] == [hid]
    with pytest.raises(Forbidden) as err:
        a.login("w1", "pw-w1")
    assert err.value.code == "device_revoked"
    assert live.count(Token, device_id="tab-a", revoked_at=None) == 0
