"""Keeping the review's roll-ups current: between full rebuilds, visits per day are only added
for the visits logged since the last round. Whatever the order of pushes and rounds, that must
come to exactly what a full rebuild counts (a property, on SQLite and PostgreSQL)."""
import datetime as dt
import os
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from server.extensions import db
from server.models import ReviewDay, ReviewState
from server.services import review
from tests.server.test_casework_api import checks, change, pushed

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 18, 4, 0, tzinfo=UTC)
# (worker, grid) pairs that may write there
WRITERS = [("w1", "G1"), ("w2", "G2"), ("w12", "G1"), ("w12", "G2"), ("w3", "G3")]


def day_rows(app):
    with app.app_context():
        return sorted((str(a), d.isoformat(), n) for a, d, n in db.session.execute(
            select(ReviewDay.area_id, ReviewDay.day, ReviewDay.visits)).all())


def test_a_round_adds_only_new_visits_and_not_corrections(app, client, auth, city):
    hid = str(uuid.uuid4())
    assert pushed(client, auth, "w1", [change("household", hid, {"grid_id": city["G1"], "address": "1号"}, "")])
    first = str(uuid.uuid4())
    pushed(client, auth, "w1", [change("visit", first, {"household_id": hid, "visited_at": "2026-11-16T04:00:00Z",
                                                        "checklist_version": 1, "checks": checks()}, "")])
    with app.app_context():
        review.refresh(NOW)
        assert db.session.get(ReviewState, 1).full_at == NOW
    pushed(client, auth, "w1", [
        change("visit", uuid.uuid4(), {"household_id": hid, "visited_at": "2026-11-16T06:00:00Z",
                                       "checklist_version": 1, "checks": checks()}, ""),
        change("visit", uuid.uuid4(), {"household_id": hid, "visited_at": "2026-11-16T07:00:00Z",
                                       "checklist_version": 1, "checks": checks(), "amends_id": first}, "")])
    with app.app_context():
        review.refresh(NOW + dt.timedelta(minutes=5))
        assert db.session.get(ReviewState, 1).full_at == NOW          # that round was not a full one
    rows = {(a, d): n for a, d, n in day_rows(app)}
    assert rows[(city["G1"], "2026-11-16")] == 2 and rows[(city["X"], "2026-11-16")] == 2
    incremental = day_rows(app)
    with app.app_context():
        review.refresh(NOW + dt.timedelta(minutes=6), full=True)
    assert day_rows(app) == incremental


# GRIDSYNC_HYPOTHESIS_EXAMPLES raises it for a long run (as for the sync properties)
EXAMPLES = int(os.environ.get("GRIDSYNC_HYPOTHESIS_EXAMPLES", "12"))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.one_of(
    st.tuples(st.just("visit"), st.integers(0, len(WRITERS) - 1), st.integers(-400, 0), st.integers(0, 23)),
    st.just(("refresh",)), st.just(("full",))), min_size=1, max_size=12))
def test_rounds_in_any_order_count_what_a_full_rebuild_counts(app, client, auth, city, steps):
    homes = {}
    for who, grid in WRITERS:
        if grid not in homes:
            hid = homes[grid] = str(uuid.uuid4())
            pushed(client, auth, who, [change("household", hid, {"grid_id": city[grid], "address": "2号"}, "")])
    clock = NOW
    for step in steps:
        if step[0] == "visit":
            who, grid = WRITERS[step[1]]
            at = NOW + dt.timedelta(days=step[2], hours=step[3])
            (r,) = pushed(client, auth, who, [change("visit", uuid.uuid4(), {
                "household_id": homes[grid], "visited_at": at.isoformat().replace("+00:00", "Z"),
                "checklist_version": 1, "checks": checks()}, "")])
            assert r["status"] == "applied", r
        else:
            clock += dt.timedelta(minutes=1)
            with app.app_context():
                review.refresh(clock, full=step[0] == "full" or None)
    clock += dt.timedelta(minutes=1)
    with app.app_context():
        review.refresh(clock)
    incremental = day_rows(app)
    with app.app_context():
        review.refresh(clock, full=True)
    assert day_rows(app) == incremental
