"""The device store is encrypted by default (issue 11): a tablet's file holds no name, ID number,
phone number or token in plain bytes; a store is made only with the app's key or a passphrase,
or in the clear when asked for explicitly."""
import glob
import io
import os

import pytest

from client_sdk import FieldClient
from client_sdk.cli import main
from client_sdk.errors import StoreLocked
from tests.e2e.conftest import CHECKS_OK
from tests.helpers import STORE_KEY

NAME, HEAD, ID_NUMBER, PHONE, NOTE = "欧阳明月", "司马光华", "11010519491231002X", "13912345678", "独居老人需要照看"


def _file_bytes(path):
    """The store and SQLite's side files, as a thief copying the tablet would get them."""
    out = b""
    for name in sorted(glob.glob(str(path) + "*")):
        with open(name, "rb") as fh:
            out += fh.read()
    return out


def _fill(client, live):
    hid = client.create_household(live.city["G1"], "和平路88号", head_name=HEAD, phone=PHONE, note=NOTE)
    client.add_person(hid, NAME, relation="head", id_number=ID_NUMBER, phone=PHONE, birth_date="1949-12-31")
    client.record_visit(hid, CHECKS_OK, note=NOTE)
    return hid


def _secrets(client):
    token = client._store.get_secret("token")
    assert token
    return [NAME.encode(), HEAD.encode(), ID_NUMBER.encode(), PHONE.encode(), NOTE.encode(), token.encode()]


@pytest.mark.parametrize("secret", [{"key": STORE_KEY}, {"passphrase": "口令 correct horse"}],
                         ids=["app key", "passphrase"])
def test_no_name_id_number_phone_or_token_is_in_the_store_file(live, tmp_path, secret):
    path = tmp_path / "tab.db"
    client = FieldClient(path, live.url, device_id="tab-enc", **secret)
    client.login("w1", "pw-w1")
    _fill(client, live)
    client.sync()                   # pulled copies, the shadow rows and the cursor too
    hid = _fill(client, live)       # and unsent changes in the outbox
    wanted = _secrets(client)
    client.close()
    raw = _file_bytes(path)
    assert len(raw) > 10_000
    for value in wanted:
        assert value not in raw, value
    # and everything is there for whoever holds the key
    with FieldClient(path, **secret) as again:
        assert again.household(hid)["persons"][0]["id_number"] == ID_NUMBER
        assert again.pending_changes()


def test_the_plaintext_opt_out_really_is_plain(live, tmp_path):
    """The check above can fail: the same bytes in a store made in the clear are there to see."""
    path = tmp_path / "plain.db"
    client = FieldClient(path, live.url, device_id="tab-plain", plaintext=True)
    client.login("w1", "pw-w1")
    _fill(client, live)
    client.close()
    raw = _file_bytes(path)
    assert NAME.encode() in raw
    assert ID_NUMBER.encode() in raw


def test_a_store_is_not_made_without_a_key_a_passphrase_or_the_opt_out(tmp_path):
    with pytest.raises(StoreLocked, match="plaintext=True"):
        FieldClient(tmp_path / "none.db")


def test_an_encrypted_store_opens_only_with_its_key(live, tmp_path):
    path = tmp_path / "tab.db"
    with FieldClient(path, live.url, device_id="tab-k", key=STORE_KEY) as client:
        _fill(client, live)
    for wrong in ({"key": bytes(32)}, {"passphrase": "guess"}, {"plaintext": True}, {}):
        with pytest.raises(StoreLocked):
            FieldClient(path, **wrong)
    with FieldClient(path, key=STORE_KEY) as client:
        assert client.households()[0]["head_name"] == HEAD


def test_a_plain_store_cannot_be_opened_as_if_encrypted_nor_without_saying_so(tmp_path):
    path = tmp_path / "plain.db"
    FieldClient(path, device_id="tab-p", plaintext=True).close()
    for given in ({"key": STORE_KEY}, {}):
        with pytest.raises(StoreLocked):
            FieldClient(path, **given)
    FieldClient(path, plaintext=True).close()


def _cli(store, live, *argv):
    out = io.StringIO()
    return main(["--store", str(store), "--server", live.url, *argv], out=out), out.getvalue()


def test_fieldsync_encrypts_with_the_passphrase_it_is_given(live, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FIELDSYNC_KEYRING", "off")
    monkeypatch.delenv("FIELDSYNC_PASSPHRASE", raising=False)
    store = tmp_path / "cli.db"
    # no passphrase and no terminal to ask on: refused, nothing made
    code, _ = _cli(store, live, "login", "w1", "--password", "pw-w1")
    assert code == 1 and "FIELDSYNC_PASSPHRASE" in capsys.readouterr().err
    assert not store.exists()
    monkeypatch.setenv("FIELDSYNC_PASSPHRASE", "街道 passphrase")
    assert _cli(store, live, "login", "w1", "--password", "pw-w1")[0] == 0
    assert _cli(store, live, "add-household", "--address", "和平路9号", "--head-name", HEAD, "--phone", PHONE)[0] == 0
    with FieldClient(store, passphrase="街道 passphrase") as client:
        token = client._store.get_secret("token")
    raw = _file_bytes(store)
    assert HEAD.encode() not in raw and PHONE.encode() not in raw and token.encode() not in raw
    # the opt-out is explicit, and an encrypted store does not open with it
    assert _cli(store, live, "--plaintext", "list", "households")[0] == 1
    plain = tmp_path / "plain.db"
    monkeypatch.delenv("FIELDSYNC_PASSPHRASE")
    assert _cli(plain, live, "--plaintext", "login", "w1", "--password", "pw-w1")[0] == 0


def test_fieldsync_keeps_a_random_key_in_the_os_keyring_where_there_is_one(live, tmp_path, monkeypatch):
    kept = {}

    class Ring:
        def get_password(self, service, name):
            return kept.get((service, name))

        def set_password(self, service, name, value):
            kept[(service, name)] = value

    monkeypatch.delenv("FIELDSYNC_PASSPHRASE", raising=False)
    monkeypatch.setattr("client_sdk.cli._keyring", lambda: Ring())
    store = tmp_path / "ring.db"
    assert _cli(store, live, "login", "w1", "--password", "pw-w1")[0] == 0
    assert _cli(store, live, "add-household", "--address", "和平路9号", "--head-name", HEAD)[0] == 0
    (service, name), key = next(iter(kept.items()))
    assert service == "fieldsync" and name == os.path.abspath(store) and len(bytes.fromhex(key)) == 32
    assert HEAD.encode() not in _file_bytes(store)
    with FieldClient(store, key=bytes.fromhex(key)) as client:
        assert client.households()[0]["head_name"] == HEAD
