"""The hybrid logical clock: monotonic, ordered across nodes, and robust to wrong wall clocks."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.clock import HybridClock, format_stamp, parse_stamp
from sync.errors import BadStamp


class FakeWall:
    def __init__(self, ms):
        self.ms = ms

    def __call__(self):
        return self.ms


def test_now_is_strictly_increasing_when_the_wall_clock_stands_still():
    wall = FakeWall(1_700_000_000_000)
    clock = HybridClock("a", wall=wall)
    stamps = [clock.now() for _ in range(5)]
    assert stamps == sorted(stamps) and len(set(stamps)) == 5


def test_now_never_goes_back_when_the_wall_clock_does():
    wall = FakeWall(1_700_000_000_000)
    clock = HybridClock("a", wall=wall)
    first = clock.now()
    wall.ms -= 60_000
    assert clock.now() > first


def test_observe_moves_past_a_remote_stamp_from_a_faster_clock():
    wall = FakeWall(1_700_000_000_000)
    clock = HybridClock("a", wall=wall)
    remote = format_stamp(1_700_000_500_000, 7, "b")
    clock.observe(remote)
    assert clock.now() > remote


def test_counter_overflow_moves_into_the_next_millisecond():
    wall = FakeWall(1_700_000_000_000)
    clock = HybridClock("a", wall=wall)
    clock.observe(format_stamp(1_700_000_000_000, 9999, "b"))
    nxt = clock.now()
    assert parse_stamp(nxt)[:2] == (1_700_000_000_001, 1) or nxt > format_stamp(1_700_000_000_000, 9999, "b")


def test_ties_are_broken_by_node():
    assert format_stamp(5, 0, "dev-a") < format_stamp(5, 0, "dev-b")


@pytest.mark.parametrize("bad", ["", "123", "1700000000000-0-a", "1700000000000-0000-", "x" * 20, None, 17,
                                 "1700000000000-0000-a b"])
def test_malformed_stamps_are_refused(bad):
    with pytest.raises(BadStamp):
        parse_stamp(bad)


@given(st.lists(st.tuples(st.integers(0, 10**12), st.integers(0, 9999), st.sampled_from(["a", "b", "c-1"])),
                min_size=2, max_size=20))
def test_string_order_is_clock_order(parts):
    stamps = [format_stamp(*p) for p in parts]
    assert sorted(stamps) == [format_stamp(*p) for p in sorted(parts)]


@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=30))
def test_a_clock_that_observed_a_stamp_issues_later_stamps(offsets):
    wall = FakeWall(1_700_000_000_000)
    a = HybridClock("a", wall=wall)
    for off in offsets:
        remote = format_stamp(1_700_000_000_000 + off, 3, "b")
        a.observe(remote)
        assert a.now() > remote
