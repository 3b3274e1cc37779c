"""The benchmarks still run (tiny sizes, no timing asserted) and end with their RESULT line."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("argv,keys", [
    (["bench/sync_throughput.py", "--batches", "2", "--repeat", "1"], ("push_per_s", "pull_per_s")),
    (["bench/device_sync.py", "--households", "20", "--runs", "1"], ("bootstrap_s", "incremental_s")),
    (["bench/linkage/run.py", "--skip-batch", "--accuracy-persons", "500", "--device-persons", "1000",
      "--lookups", "50"], ("precision", "lookup_p95_ms")),
])
def test_benchmark_runs_and_reports(argv, keys):
    done = subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("RESULT ") and all(f"{k}=" in last for k in keys), last
