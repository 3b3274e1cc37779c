"""The attack suite's city: every kind of record in every grid, and the means to show that a
refused attack changed nothing in the grids it aimed at.

The attacker is grid worker ``w1`` (grid G1, community C1). Its targets are G2 (another grid of
its own community) and G3 (a grid of another community under the same street), each holding a
household, a person, a visit, a flag with an event, a conflict, a duplicate pair, and in G3 a
merge; and a pair and a merge across G1 and G3.
"""
import datetime as dt
import re
import uuid

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import (ChangeLog, Conflict, Flag, FlagEvent, Household, MatchReview, MergeRecord, Person,
                           Visit)
from server.services.linker import merge_persons
from server.services.records import vault
from server.services.server_changes import apply_as_server, server_change
from sync.checklist import CHECK_KEYS

GRIDS = ("G1", "G2", "G3", "G4")
#: the grids w1 may not touch
OTHERS = ("G2", "G3", "G4")


def checks():
    return {k: {"status": "ok", "answers": {}, "note": ""} for k in CHECK_KEYS}


@pytest.fixture
def town(app, city):
    """``{kind: {grid code: id}}`` plus ``pair``/``merge`` ids per grid and ``cross_pair``/
    ``cross_merge`` across G1 and G3."""
    out = {k: {} for k in ("household", "person", "visit", "flag", "flag_event", "conflict", "pair", "merge",
                           "twin")}
    when = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=2)).isoformat().replace("+00:00", "Z")
    with app.app_context():
        changes = []

        def add(entity, code, fields, key=None):
            eid = str(uuid.uuid4())
            out[key or entity][code] = eid
            changes.append(server_change(entity, eid, fields))

        for code in GRIDS:
            add("household", code, {"grid_id": city[code], "address": f"{code}路1号", "head_name": f"户主{code}",
                                    "phone": "13800138000", "note": "原始"})
            hid = out["household"][code]
            add("person", code, {"household_id": hid, "name": f"居民{code}", "id_number": "11010519491231002X",
                                 "birth_date": "1949-12-31"})
            add("person", code, {"household_id": hid, "name": f"居民{code}", "birth_date": "1949-12-31"}, "twin")
            add("visit", code, {"household_id": hid, "visited_at": when, "checklist_version": 1, "checks": checks()})
            add("flag", code, {"household_id": hid, "category": "illness_poverty", "colour": "red"})
            add("flag_event", code, {"flag_id": out["flag"][code], "action": "note", "note": "已联系"})
        apply_as_server(changes)
        v = vault()
        for code in GRIDS:
            conflict = Conflict(id=uuid.uuid4(), entity="household", entity_id=uuid.UUID(out["household"][code]),
                                grid_id=uuid.UUID(city[code]), field="note", kept_stamp="0000000000001-0000-a",
                                lost_stamp="0000000000000-0000-b", lost_side="incoming", change_id=uuid.uuid4(),
                                values_enc=v.encrypt_json({"kept": "原始", "lost": "被改"}), status="open")
            db.session.add(conflict)
            out["conflict"][code] = str(conflict.id)
            out["pair"][code] = _pair(out["person"][code], out["twin"][code], city[code], city[code])
        out["cross_pair"] = _pair(out["person"]["G1"], out["person"]["G3"], city["G1"], city["G3"])
        db.session.flush()
        # merges made by the server (an operator's decision): in G3, and G3's twin into G1's person
        merge = merge_persons(uuid.UUID(out["person"]["G3"]), uuid.UUID(out["twin"]["G3"]), 9.0, ["id=exact"])
        out["merge"]["G3"], out["survivor"] = str(merge.id), str(merge.survivor_id)
        db.session.commit()
    return out


def _pair(a, b, grid_a, grid_b):
    (a, grid_a), (b, grid_b) = sorted(((a, grid_a), (b, grid_b)))      # as the linker keeps them
    review = MatchReview(id=uuid.uuid4(), entity="person", a_id=uuid.UUID(a), b_id=uuid.UUID(b),
                         grid_id=uuid.UUID(grid_a), other_grid_id=uuid.UUID(grid_b), score=7.5,
                         reasons=["name=exact", "birth=exact"], status="open")
    db.session.add(review)
    return str(review.id)


def dump(app, city, codes=OTHERS):
    """Every row of the grids ``codes``, as plain tuples: what an attack must leave as it was."""
    grids = [uuid.UUID(city[c]) for c in codes]
    with app.app_context():
        db.session.expire_all()

        def rows(query):
            return sorted(tuple(_plain(getattr(r, c.key)) for c in r.__table__.columns)
                          for r in db.session.execute(query).scalars())

        homes = select(Household.id).where(Household.grid_id.in_(grids))
        flags = select(Flag.id).where(Flag.grid_id.in_(grids))
        return {
            "household": rows(select(Household).where(Household.grid_id.in_(grids))),
            "person": rows(select(Person).where(Person.household_id.in_(homes))),
            "visit": rows(select(Visit).where(Visit.grid_id.in_(grids))),
            "flag": rows(select(Flag).where(Flag.grid_id.in_(grids))),
            "flag_event": rows(select(FlagEvent).where(FlagEvent.flag_id.in_(flags))),
            "change_log": rows(select(ChangeLog).where(ChangeLog.grid_id.in_(grids))),
            "conflict": rows(select(Conflict).where(Conflict.grid_id.in_(grids))),
            "match_review": rows(select(MatchReview).where(
                MatchReview.grid_id.in_(grids) | MatchReview.other_grid_id.in_(grids))),
            "merge_record": rows(select(MergeRecord).where(
                MergeRecord.grid_id.in_(grids) | MergeRecord.other_grid_id.in_(grids))),
        }


def _plain(value):
    return repr(value) if isinstance(value, (dict, list)) else value


@pytest.fixture
def untouched(app, city):
    """``with untouched():`` — the other grids hold exactly what they held before the block."""
    import contextlib

    @contextlib.contextmanager
    def check(codes=OTHERS):
        before = dump(app, city, codes)
        assert any(before.values())
        yield
        after = dump(app, city, codes)
        for table in before:
            assert after[table] == before[table], f"{table} changed"
    return check


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def anon(answer):
    """An answer with every id in it replaced by ``<id>``: two probes that differ only in the
    ids they name must get the same anonymised answer."""
    if isinstance(answer, dict):
        return {k: anon(v) for k, v in answer.items() if k not in ("change_id", "index")}
    if isinstance(answer, list):
        return [anon(v) for v in answer]
    if isinstance(answer, str):
        return _UUID.sub("<id>", answer)
    return answer
