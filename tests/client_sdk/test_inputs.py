"""The tablet refuses a bad typed value at entry, naming the field and its code, and saves and
queues nothing of it: the same rules the server applies (sync/inputs.py)."""
import pytest

from client_sdk.errors import InvalidInput
from tests.client_sdk.conftest import CHECKS_OK, GRID


@pytest.mark.parametrize("write, field, code", [
    (lambda t, h: t.update_household(h, phone="abc"), "phone", "invalid_phone"),
    (lambda t, h: t.create_household(GRID, "解放街3号", phone="12345"), "phone", "invalid_phone"),
    (lambda t, h: t.add_person(h, "王伟", id_number="12345"), "id_number", "invalid_id_number"),
    (lambda t, h: t.add_person(h, "王伟", birth_date="2090-01-01"), "birth_date", "date_in_future"),
    (lambda t, h: t.raise_flag(h, "bogus", "red"), "category", "unknown_category"),
    (lambda t, h: t.record_visit(h, CHECKS_OK, visited_at="2030-01-01T00:00:00+08:00"), "visited_at",
     "date_in_future"),
])
def test_a_bad_value_is_refused_at_entry_and_nothing_is_queued(tablet, write, field, code):
    hid = tablet.create_household(GRID, "和平路1号")
    before = tablet.pending_changes()
    with pytest.raises(InvalidInput) as exc:
        write(tablet, hid)
    assert (exc.value.field, exc.value.code) == (field, code)
    assert tablet.pending_changes() == before
    assert tablet.household(hid).get("phone") is None


def test_a_visit_dated_before_its_household_was_registered_is_refused_at_entry(tablet):
    from client_sdk import i18n
    hid = tablet.create_household(GRID, "和平路1号")
    before = tablet.pending_changes()
    with pytest.raises(InvalidInput) as exc:
        tablet.record_visit(hid, CHECKS_OK, visited_at="2026-01-01T00:00:00+08:00")
    assert (exc.value.field, exc.value.code) == ("visited_at", "before_household")
    assert tablet.pending_changes() == before and not tablet.visits(hid)
    i18n.use("zh_CN")
    try:
        assert i18n.describe(exc.value).startswith("走访时间早于")
    finally:
        i18n.use(None)
    # by default a visit is dated now, as the device best knows it: never before what it registered
    assert tablet.record_visit(hid, CHECKS_OK)


def test_good_values_are_saved_in_their_one_spelling(tablet):
    hid = tablet.create_household(GRID, "和平路1号", phone="010-12345678")
    pid = tablet.add_person(hid, "王伟", id_number="１１０１０５１９４９１２３１００２ｘ", phone="13800138000")
    assert tablet.person(pid)["id_number"] == "11010519491231002X"
    assert tablet.raise_flag(hid, "elderly_alone", "green")


def test_a_server_url_without_a_scheme_is_taken_as_http_and_a_bad_one_refused(tmp_path, capsys):
    from client_sdk.cli import EXIT_ERROR, main
    from client_sdk.store import Store
    store = tmp_path / "cli.db"
    assert main(["--plaintext", "--store", str(store), "--server", "127.0.0.1:5000", "pending"]) == 0
    kept = Store(str(store), None, plaintext=True)
    try:
        assert kept.get_meta("server_url") == "http://127.0.0.1:5000"
    finally:
        kept.close()
    for bad in ("ftp://example", "http://", "127.0.0.1:port"):
        assert main(["--plaintext", "--store", str(tmp_path / "other.db"), "--server", bad, "pending"]) == EXIT_ERROR
        err = capsys.readouterr().err
        assert "服务器地址" in err and "Traceback" not in err
