"""Schemathesis over the served OpenAPI document: every operation, as a grid worker and as
community staff, with bounded examples; any 5xx or an answer that does not match the published
schema (the error envelope included) fails (issue 11).

``GRIDSYNC_FUZZ_EXAMPLES`` sets the examples per operation (default 10, about a minute on two
cores; CI may raise it)."""
import os
import shutil

import pytest
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from tests.city import make_city
from tests.conftest import _config, _dispose

EXAMPLES = int(os.environ.get("GRIDSYNC_FUZZ_EXAMPLES", "10"))
USERS = ("w1", "comm1")


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory, sqlite_template):
    from server import create_app
    where = tmp_path_factory.mktemp("fuzz")
    shutil.copy(sqlite_template, where / "fuzz.db")
    app = create_app(_config(f"sqlite:///{where / 'fuzz.db'}"))
    app.instance_path = str(where / "instance")
    with app.app_context():
        make_city()
    yield app
    _dispose(app)


@pytest.fixture(scope="module")
def tokens(fuzz_app):
    client = fuzz_app.test_client()
    out = {}
    for user in USERS:
        resp = client.post("/api/v1/auth/token", json={"username": user, "password": "pw-" + user,
                                                       "device_id": f"fuzz-{user}"})
        assert resp.status_code == 201, resp.json
        out[user] = resp.json["token"]
    return out


def _operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    for result in schema.get_all_operations():
        yield result.ok()


def test_every_operation_answers_within_its_schema(fuzz_app, tokens):
    failures, ran = [], 0
    for operation, mode in ((op, mode) for op in _operations(fuzz_app) for mode in GenerationMode):
        # positive: what the schema allows; negative: what it forbids (that must be a 4xx)
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
        def run(case):
            for user in USERS:
                case.call_and_validate(headers={"Authorization": "Bearer " + tokens[user]},
                                       checks=[not_a_server_error, response_schema_conformance])

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:      # every operation's failure is reported
            failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): {str(exc)[:1500]}")
        ran += 1
    assert ran >= 2 * 39, ran          # every operation the document lists, both ways
    assert not failures, "\n\n".join(failures)
