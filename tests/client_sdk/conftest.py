"""A tablet with no server: a ``FieldClient`` over a store in a temporary folder, with a worker and
grids set as a log-in would have set them, and a fixed clock."""
import itertools

import pytest

from client_sdk import FieldClient
from tests.helpers import STORE_KEY

GRID, OTHER_GRID = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
CHECKS_OK = {k: {"status": "ok"} for k in ("income", "food", "clothing", "children", "health", "housing")}


@pytest.fixture
def tablet(tmp_path):
    ticks = itertools.count(1_800_000_000_000, 1000)
    client = FieldClient(tmp_path / "tablet.db", device_id="tab-1", key=STORE_KEY, wall=lambda: next(ticks))
    with client._store.transaction():
        client._store.set_meta("worker", {"id": "w", "username": "w1", "role": "grid_worker", "grid_ids": [GRID]})
    yield client
    client.close()


def pulled(entity, entity_id, fields, stamp, change_id=None):
    """A change as the server sends it in a pull."""
    import uuid
    return {"change_id": change_id or str(uuid.uuid4()), "entity": entity, "entity_id": entity_id,
            "stamp": stamp, "fields": fields, "base": None}
