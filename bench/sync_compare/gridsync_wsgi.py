"""The gridsync app gunicorn serves in the sync comparison: the benchmarks' configuration (test
keys, cheap password hashing, no rate limit; none of them on the sync path) on the scratch
database the benchmark created, named by SYNC_COMPARE_DATABASE_URL."""
import os

from benchapp import app_config

from server import create_app

app = create_app(app_config(os.environ["SYNC_COMPARE_DATABASE_URL"]))
