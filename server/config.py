"""Configuration read from the environment, with safe defaults for a first run."""
import json
import os

from sync.casework import DEFAULT_DEADLINE_HOURS, DEFAULT_REVISIT_DAYS

from .jsonfast import dumps as _json_dumps
from .jsonfast import loads as _json_loads


def database_url(raw=None):
    """``DATABASE_URL`` with the psycopg 3 driver named; None means the SQLite default."""
    url = raw if raw is not None else os.environ.get("DATABASE_URL")
    if not url:
        return None
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _json_env(name):
    raw = os.environ.get(name)
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise RuntimeError(f"{name} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise RuntimeError(f"{name} must be a JSON object keyed by colour")
    return value


class Config:
    # None: a SQLite file in the instance folder (set in create_app, which knows that folder).
    SQLALCHEMY_DATABASE_URI = database_url()
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "json_serializer": _json_dumps,
                                 "json_deserializer": _json_loads}
    SECRET_KEY = os.environ.get("GRIDSYNC_SECRET_KEY")
    # base64 keys (32 bytes each); without them a development key pair is generated once
    # into the instance folder, which is fine for the demo and refused in production.
    PII_KEY = os.environ.get("GRIDSYNC_PII_KEY")
    BLIND_INDEX_KEY = os.environ.get("GRIDSYNC_BLIND_INDEX_KEY")
    PRODUCTION = os.environ.get("GRIDSYNC_ENV") == "production"

    PASSWORD_HASH_METHOD = "scrypt"
    TOKEN_TTL_HOURS = int(os.environ.get("GRIDSYNC_TOKEN_TTL_HOURS", 14 * 24))
    # Compressed request bodies are limited here, and again after decompression.
    MAX_CONTENT_LENGTH = int(os.environ.get("GRIDSYNC_MAX_BODY", 8 * 1024 * 1024))
    MAX_DECOMPRESSED_LENGTH = int(os.environ.get("GRIDSYNC_MAX_DECOMPRESSED", 32 * 1024 * 1024))
    # A device clock further ahead than this is refused: it would otherwise win every merge
    # and drag every other clock forward with it.
    SYNC_MAX_CLOCK_AHEAD_S = int(os.environ.get("GRIDSYNC_MAX_CLOCK_AHEAD_S", 3600))

    # How many proxies (load balancers) stand in front; 0: clients connect directly.
    PROXY_HOPS = int(os.environ.get("GRIDSYNC_PROXY_HOPS", 0))
    # The city's checklist versions and flag rules (JSON); None: the built-in ones (sync/data).
    CHECKLISTS_FILE = os.environ.get("GRIDSYNC_CHECKLISTS")
    RULES_FILE = os.environ.get("GRIDSYNC_RULES")
    # Hours to handle a flag at its level, by colour ({"red": 24} or {"red": {"community": 12, …}}),
    # and days between re-visits of a flagged household (sync/casework.py has the defaults).
    DEADLINE_HOURS = _json_env("GRIDSYNC_DEADLINE_HOURS") or DEFAULT_DEADLINE_HOURS
    REVISIT_DAYS = _json_env("GRIDSYNC_REVISIT_DAYS") or DEFAULT_REVISIT_DAYS
    # How often the escalation job runs (seconds) in processes that start the scheduler.
    ESCALATION_INTERVAL_S = int(os.environ.get("GRIDSYNC_ESCALATION_INTERVAL_S", 60))
    # How often the duplicate linker looks at what arrived (seconds).
    LINK_INTERVAL_S = int(os.environ.get("GRIDSYNC_LINK_INTERVAL_S", 15))
    # The city's offset from UTC in hours: review figures count by local day (China: 8).
    REVIEW_UTC_OFFSET_HOURS = int(os.environ.get("GRIDSYNC_UTC_OFFSET_HOURS", 8))
    # How often the review roll-ups are rebuilt (seconds); summaries show when they were.
    REVIEW_REFRESH_INTERVAL_S = int(os.environ.get("GRIDSYNC_REVIEW_REFRESH_INTERVAL_S", 300))
    # Hours between full rebuilds of the visits per day (the rounds between add new visits only).
    REVIEW_FULL_EVERY_H = int(os.environ.get("GRIDSYNC_REVIEW_FULL_EVERY_H", 24))
    # The reviewers' web pages: a signed session cookie, sent only over HTTPS unless switched off
    # for a first run on http://localhost (``gridsync demo`` does).
    SESSION_COOKIE_NAME = "gridsync_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("GRIDSYNC_COOKIE_SECURE", "on") != "off"
    PERMANENT_SESSION_LIFETIME = int(os.environ.get("GRIDSYNC_SESSION_HOURS", 8)) * 3600
    RATELIMIT_ENABLED = os.environ.get("GRIDSYNC_RATELIMIT", "on") != "off"
    RATELIMIT_STORAGE_URI = os.environ.get("GRIDSYNC_RATELIMIT_STORAGE", "memory://")
    # Log-in attempts per client address: wide, since a district's tablets share a few carrier
    # addresses at the evening sync; and failed log-ins per account, from anywhere.
    LOGIN_RATE_LIMIT = os.environ.get("GRIDSYNC_LOGIN_RATE_LIMIT", "300 per minute")
    LOGIN_ACCOUNT_RATE_LIMIT = os.environ.get("GRIDSYNC_LOGIN_ACCOUNT_RATE_LIMIT", "10 per minute")

    API_TITLE = "gridsync"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    API_SPEC_OPTIONS = {
        "info": {"description": "Offline-first household-visit records and sync for community grid workers. "
                                "Log in with POST /api/v1/auth/token; send the token as a bearer token."},
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
    }


class TestConfig(Config):
    TESTING = True
    RATELIMIT_ENABLED = False
    # Fixed test keys: never used outside tests.
    PII_KEY = "dGVzdC1waWkta2V5LWZvci10ZXN0cy1vbmx5LTMyYiE="
    BLIND_INDEX_KEY = "dGVzdC1pbmRleC1rZXktZm9yLXRlc3RzLW9ubHktMzI="
    SECRET_KEY = "test-secret"
    SESSION_COOKIE_SECURE = False
    # Cheap hashing keeps the suite fast; never used outside tests.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
