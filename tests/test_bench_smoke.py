"""The benchmarks still run (tiny sizes, no timing asserted) and end with their RESULT line."""
import os
import subprocess
import sys

import pytest

from tests.conftest import PG_ADMIN_URL, _pg_required

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _postgres_or_skip():
    """As the PostgreSQL fixtures do: skipped only when no server answers, outside CI."""
    psycopg = pytest.importorskip("psycopg")
    try:
        psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        if _pg_required():
            pytest.fail(f"PostgreSQL is required here but does not answer: {exc}")
        pytest.skip(f"no PostgreSQL server: {exc}")


@pytest.mark.parametrize("argv,keys", [
    (["bench/sync_throughput.py", "--batches", "2", "--repeat", "1"], ("push_per_s", "pull_per_s")),
    (["bench/device_sync.py", "--households", "20", "--runs", "1"], ("bootstrap_s", "incremental_s")),
    (["bench/field_app.py"], ("shell_gzip_kb", "budget_ratio")),
    (["bench/accounts_import.py", "--accounts", "50", "--baseline", "1"], ("accounts", "seconds", "per_s")),
    (["bench/linkage/run.py", "--skip-batch", "--accuracy-persons", "500", "--device-persons", "1000",
      "--lookups", "50"], ("precision", "recall", "lookalikes_merged", "review_per_10k", "lookup_p95_ms")),
    # a scratch database on the test server, created and dropped by the bench
    pytest.param(["bench/review.py", "--households", "2000", "--runs", "3", "--database-url", PG_ADMIN_URL],
                 ("city_p95_ms", "grid_p95_ms"), marks=pytest.mark.postgres),
])
def test_benchmark_runs_and_reports(request, argv, keys):
    if request.node.get_closest_marker("postgres"):
        _postgres_or_skip()
    done = subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("RESULT ") and all(f"{k}=" in last for k in keys), last
