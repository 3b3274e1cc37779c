"""Field-level last-writer-wins, with the losing value of a collision reported."""
import itertools

from hypothesis import given
from hypothesis import strategies as st

from sync.merge import merge_fields


def s(ms, node="a"):
    return f"{ms:013d}-0000-{node}"


def test_edits_to_different_fields_both_survive():
    values, stamps = {}, {}
    merge_fields(values, stamps, {"address": "和平路1号", "note": "x"}, s(1))
    merge_fields(values, stamps, {"address": "和平路2号"}, s(2, "b"), base={"address": s(1)})
    merge_fields(values, stamps, {"note": "y"}, s(3, "c"), base={"note": s(1)})
    assert values == {"address": "和平路2号", "note": "y"}


def test_an_older_write_loses_and_is_reported():
    values, stamps = {}, {}
    merge_fields(values, stamps, {"name": "王伟"}, s(1))
    merge_fields(values, stamps, {"name": "王玮"}, s(5, "b"), base={"name": s(1)})
    changed, conflicts = merge_fields(values, stamps, {"name": "汪伟"}, s(3, "c"), base={"name": s(1)})
    assert values["name"] == "王玮" and changed == []
    (c,) = conflicts
    assert (c.lost_value, c.kept_value, c.lost_side) == ("汪伟", "王玮", "incoming")


def test_a_newer_write_that_did_not_see_the_current_value_reports_it():
    values, stamps = {}, {}
    merge_fields(values, stamps, {"name": "王伟"}, s(1))
    merge_fields(values, stamps, {"name": "王玮"}, s(3, "b"), base={"name": s(1)})
    _, conflicts = merge_fields(values, stamps, {"name": "汪伟"}, s(5, "c"), base={"name": s(1)})
    assert values["name"] == "汪伟"
    (c,) = conflicts
    assert (c.lost_value, c.lost_side) == ("王玮", "current")


def test_a_write_made_on_top_of_the_current_value_is_no_conflict():
    values, stamps = {}, {}
    merge_fields(values, stamps, {"name": "王伟"}, s(1))
    _, conflicts = merge_fields(values, stamps, {"name": "王玮"}, s(2, "b"), base={"name": s(1)})
    assert conflicts == []


def test_same_device_overwriting_itself_is_no_conflict_even_without_base():
    values, stamps = {}, {}
    merge_fields(values, stamps, {"name": "王伟"}, s(1))
    _, conflicts = merge_fields(values, stamps, {"name": "王玮"}, s(2))
    assert conflicts == []


def test_applying_a_change_twice_changes_nothing():
    values, stamps = {}, {}
    merge_fields(values, stamps, {"name": "王伟"}, s(1))
    changed, conflicts = merge_fields(values, stamps, {"name": "王伟"}, s(1))
    assert (changed, conflicts) == ([], [])


changes = st.lists(st.tuples(st.sampled_from(["name", "note", "deleted"]), st.integers(0, 3),
                             st.integers(1, 50), st.sampled_from(["a", "b", "c"])), min_size=1, max_size=8,
                   # a clock never issues the same stamp twice
                   unique_by=lambda c: (c[2], c[3]))


@given(changes)
def test_every_order_of_delivery_gives_the_same_record(chs):
    results = set()
    for order in itertools.islice(itertools.permutations(chs), 24):
        values, stamps = {}, {}
        for field, value, ms, node in order:
            merge_fields(values, stamps, {field: value}, s(ms, node))
        results.add(tuple(sorted(values.items())))
    assert len(results) == 1


def test_a_newer_write_of_the_same_value_still_moves_the_stamp():
    # otherwise a write stamped in between would win on a replica that skipped storing it
    values, stamps = {}, {}
    merge_fields(values, stamps, {"note": "低保户"}, s(1))
    changed, _ = merge_fields(values, stamps, {"note": "低保户"}, s(3, "b"), base={"note": s(1)})
    assert changed == ["note"] and stamps["note"] == s(3, "b")
    merge_fields(values, stamps, {"note": "需复查"}, s(2, "c"), base={"note": s(1)})
    assert values["note"] == "低保户"
