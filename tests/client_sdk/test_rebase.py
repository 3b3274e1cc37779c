"""Refusals undone on the tablet: the server's copy of a changed record, rebuilt with what is still
unsent; what hangs on a refused record set aside with it."""
import uuid

from client_sdk import rebase
from client_sdk.apply import apply_pulled
from tests.client_sdk.conftest import CHECKS_OK, GRID, pulled


def _settle(tablet, outcome):
    """Answer the whole outbox as a push would: ``outcome(change)`` -> status, or (status, code)."""
    store = tablet._store
    batch = store.outbox()
    results = []
    for change in batch:
        got = outcome(change)
        status, code = got if isinstance(got, tuple) else (got, None)
        results.append({"status": status, **({"reason": {"code": code, "message": code}} if code else {})})
    with store.transaction():
        return rebase.settle(store, batch, results, "2026-11-30T00:00:00+00:00")


def _server_has(tablet, hid, fields, stamp="1700000000000-0000-server-1"):
    with tablet._store.transaction():
        apply_pulled(tablet._store, [pulled("household", hid, dict(fields, grid_id=GRID), stamp)])
        rebase.confirm(tablet._store, [pulled("household", hid, dict(fields, grid_id=GRID), stamp)])


def test_a_copy_is_kept_only_while_something_is_unsent(tablet):
    hid = str(uuid.uuid4())
    _server_has(tablet, hid, {"address": "和平路1号", "note": "旧"})
    tablet.update_household(hid, note="新")
    assert tablet._store.shadows("household", [hid])[hid][1]["note"] == "旧"
    assert _settle(tablet, lambda c: "applied") == 0
    assert tablet._store.shadows("household", [hid]) == {}
    assert tablet.household(hid)["note"] == "新"


def test_a_refused_edit_is_rebuilt_from_the_servers_copy_and_the_rest(tablet):
    hid = str(uuid.uuid4())
    _server_has(tablet, hid, {"address": "和平路1号", "note": "旧"})
    tablet.update_household(hid, note="新")
    tablet.update_household(hid, phone="13800138000")
    refused = tablet.pending_changes()[0]["change_id"]
    with tablet._store.transaction():           # a newer value arrives from the server meanwhile
        change = pulled("household", hid, {"head_name": "赵一"}, "1900000000000-0000-server-1")
        apply_pulled(tablet._store, [change])
        rebase.confirm(tablet._store, [change])
    assert _settle(tablet, lambda c: ("rejected", "out_of_scope") if c["change_id"] == refused else "applied") == 1
    held = tablet.household(hid)
    assert (held["note"], held["phone"], held["head_name"]) == ("旧", "13800138000", "赵一")
    assert tablet._store.shadows("household", [hid]) == {}


def test_a_refused_household_takes_what_hangs_on_it_in_one_group(tablet):
    hid = tablet.create_household(GRID, "和平路1号")
    pid = tablet.add_person(hid, "王小明")
    tablet.record_visit(hid, CHECKS_OK)
    fid = tablet.raise_flag(hid, "困境儿童", "red", person_id=pid)
    tablet.move_flag(fid, "note", note="已联系")
    first = tablet.pending_changes()[0]
    assert _settle(tablet, lambda c: ("rejected", "out_of_scope") if c["change_id"] == first["change_id"]
                   else ("rejected", "unknown_reference")) == 5
    refused = tablet.rejected_changes()
    assert [r["reason"]["code"] for r in refused] == ["out_of_scope"] + ["depends_on_refused"] * 4
    assert {r["group"] for r in refused} == {first["change_id"]}
    assert tablet.households() == [] and tablet.visits() == [] and tablet.flags() == []
    assert tablet.pending_changes() == []
    assert tablet.dismiss_rejected(first["change_id"]) and tablet.rejected_changes() == []
