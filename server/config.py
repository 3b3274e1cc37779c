"""Configuration read from the environment, with safe defaults for a first run.

Every ``GRIDSYNC_*`` setting is parsed here; one the server cannot use does not fail the import
but makes ``create_app`` stop with a one-line message naming it and what it expects
(``check_config``), before anything is served.
"""
import json
import os
import re

from sync.casework import DEFAULT_DEADLINE_HOURS, DEFAULT_REVISIT_DAYS
from sync.flags import COLOURS, LEVELS

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


class ConfigError(RuntimeError):
    """A setting the server cannot start with; the message is one line naming it and what is
    expected."""


class _Invalid:
    """What a setting holds when its environment value was not understood: importing this module
    never fails; ``check_config`` (called by ``create_app``) raises with the message."""

    def __init__(self, message):
        self.message = message

    def __repr__(self):
        return f"<invalid setting: {self.message}>"


def _setting(name, parse, default, secret=False):
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return parse(raw)
    except ValueError as exc:
        shown = "" if secret else f"={raw[:80]!r}"
        return _Invalid(f"{name}{shown}: expected {exc}")


def _int(low, high=None, unit=""):
    """A parser for a whole number from ``low`` to ``high`` (ASCII digits only)."""
    what = f"a whole number{unit}, at least {low}" + (f" and at most {high}" if high is not None else "")

    def parse(raw):
        text = raw.strip()
        if not re.fullmatch(r"[+-]?[0-9]{1,12}", text, re.ASCII):
            raise ValueError(what)
        value = int(text)
        if value < low or (high is not None and value > high):
            raise ValueError(what)
        return value
    return parse


_ON, _OFF = ("on", "true", "yes", "1"), ("off", "false", "no", "0")


def _switch(raw):
    text = raw.strip().lower()
    if text not in _ON + _OFF:
        raise ValueError("on or off")
    return text in _ON


def _choice(*options):
    def parse(raw):
        if raw not in options:
            raise ValueError(" or ".join(options))
        return raw
    return parse


def _rate(raw):
    from limits import parse_many
    try:
        parse_many(raw)
    except ValueError:
        raise ValueError('a rate such as "10 per minute" or "300/minute"') from None
    return raw


def _storage(raw):
    if not re.fullmatch(r"[a-z][a-z0-9+.-]*://.*", raw, re.ASCII):
        raise ValueError('a storage URI such as "memory://" or "redis://host:6379"')
    return raw


def _base64_key(raw):
    import base64
    import binascii
    try:
        key = base64.b64decode(raw, validate=True)
    except (ValueError, binascii.Error):
        raise ValueError("base64 of 32 random bytes") from None
    if len(key) != 32:
        raise ValueError("base64 of 32 random bytes")
    return raw


def _webhook_url(raw):
    if not re.fullmatch(r"https?://[^\s/?#]+[^\s]*", raw.strip(), re.ASCII):
        raise ValueError("an http:// or https:// URL")
    return raw.strip()


def _webhook_secret(raw):
    if len(raw) < 16:
        raise ValueError("a shared secret of at least 16 characters")
    return raw


_TABLE_WHAT = {
    "hours": "a JSON object mapping red, yellow, green to hours above 0, or to {level: hours} by "
             "community, street, district, bureau",
    "days": "a JSON object mapping red, yellow, green to days above 0",
}


def check_colour_table(value, per_level, unit):
    """``value`` if it is a colour table (JSON already decoded); ValueError saying what is wrong."""
    what = _TABLE_WHAT[unit]

    def positive(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < 100_000

    if not isinstance(value, dict):
        raise ValueError(f"{what}; got {type(value).__name__}")
    for colour, entry in value.items():
        if colour not in COLOURS:
            raise ValueError(f"{what}; {colour!r} is not a colour")
        if per_level and isinstance(entry, dict):
            if not entry:
                raise ValueError(f"{what}; {colour!r} has no levels")
            for level, hours in entry.items():
                if level not in LEVELS:
                    raise ValueError(f"{what}; {level!r} is not a level")
                if not positive(hours):
                    raise ValueError(f"{what}; {colour}.{level} is {_json_dumps(hours)}")
        elif not positive(entry):
            raise ValueError(f"{what}; {colour!r} is {_json_dumps(entry)}")
    return value


def _colour_table(per_level, unit):
    def parse(raw):
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise ValueError(f"{_TABLE_WHAT[unit]}; not valid JSON ({exc})") from None
        return check_colour_table(value, per_level, unit)
    return parse


class Config:
    # None: a SQLite file in the instance folder (set in create_app, which knows that folder).
    SQLALCHEMY_DATABASE_URI = database_url()
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "json_serializer": _json_dumps,
                                 "json_deserializer": _json_loads}
    SECRET_KEY = os.environ.get("GRIDSYNC_SECRET_KEY")
    # base64 keys (32 bytes each); without them a development key pair is generated once
    # into the instance folder, which is fine for the demo and refused in production.
    PII_KEY = _setting("GRIDSYNC_PII_KEY", _base64_key, None, secret=True)
    BLIND_INDEX_KEY = _setting("GRIDSYNC_BLIND_INDEX_KEY", _base64_key, None, secret=True)
    # "production" refuses development keys; anything but these two words is a mistake
    PRODUCTION = _setting("GRIDSYNC_ENV", lambda raw: _choice("production", "development")(raw) == "production",
                          False)

    PASSWORD_HASH_METHOD = "scrypt"
    # For the random one-time passwords of imported accounts (server/services/account_import.py):
    # 99 random bits need no stretching, and 7,049 scrypt hashes would take an hour.
    IMPORT_PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    TOKEN_TTL_HOURS = _setting("GRIDSYNC_TOKEN_TTL_HOURS", _int(1, 24 * 366, " of hours"), 14 * 24)
    # Compressed request bodies are limited here, and again after decompression.
    MAX_CONTENT_LENGTH = _setting("GRIDSYNC_MAX_BODY", _int(1024, unit=" of bytes"), 8 * 1024 * 1024)
    MAX_DECOMPRESSED_LENGTH = _setting("GRIDSYNC_MAX_DECOMPRESSED", _int(1024, unit=" of bytes"), 32 * 1024 * 1024)
    # A device clock further ahead than this is refused: it would otherwise win every merge
    # and drag every other clock forward with it.
    SYNC_MAX_CLOCK_AHEAD_S = _setting("GRIDSYNC_MAX_CLOCK_AHEAD_S", _int(1, unit=" of seconds"), 3600)

    # How many proxies (load balancers) stand in front; 0: clients connect directly.
    PROXY_HOPS = _setting("GRIDSYNC_PROXY_HOPS", _int(0, 10), 0)
    # The city's checklist versions and flag rules (JSON); None: the built-in ones (sync/data).
    CHECKLISTS_FILE = os.environ.get("GRIDSYNC_CHECKLISTS")
    RULES_FILE = os.environ.get("GRIDSYNC_RULES")
    # Hours to handle a flag at its level, by colour ({"red": 24} or {"red": {"community": 12, …}}),
    # and days between re-visits of a flagged household (sync/casework.py has the defaults).
    DEADLINE_HOURS = _setting("GRIDSYNC_DEADLINE_HOURS", _colour_table(True, "hours"), DEFAULT_DEADLINE_HOURS)
    REVISIT_DAYS = _setting("GRIDSYNC_REVISIT_DAYS", _colour_table(False, "days"), DEFAULT_REVISIT_DAYS)
    # How often the escalation job runs (seconds) in processes that start the scheduler.
    ESCALATION_INTERVAL_S = _setting("GRIDSYNC_ESCALATION_INTERVAL_S", _int(1, unit=" of seconds"), 60)
    # How often the duplicate linker looks at what arrived (seconds).
    LINK_INTERVAL_S = _setting("GRIDSYNC_LINK_INTERVAL_S", _int(1, unit=" of seconds"), 15)
    # The city's offset from UTC in hours: review figures count by local day (China: 8).
    REVIEW_UTC_OFFSET_HOURS = _setting("GRIDSYNC_UTC_OFFSET_HOURS", _int(-12, 14, " of hours"), 8)
    # How often the review roll-ups are rebuilt (seconds); summaries show when they were.
    REVIEW_REFRESH_INTERVAL_S = _setting("GRIDSYNC_REVIEW_REFRESH_INTERVAL_S", _int(1, unit=" of seconds"), 300)
    # Hours between full rebuilds of the visits per day (the rounds between add new visits only).
    REVIEW_FULL_EVERY_H = _setting("GRIDSYNC_REVIEW_FULL_EVERY_H", _int(1, unit=" of hours"), 24)
    # The city's webhook (its SMS gateway or 12345 platform): cases summoned, escalated, overdue,
    # each a JSON event signed with HMAC-SHA256 of the body under the secret; None: nothing sent.
    WEBHOOK_URL = _setting("GRIDSYNC_WEBHOOK_URL", _webhook_url, None)
    WEBHOOK_SECRET = _setting("GRIDSYNC_WEBHOOK_SECRET", _webhook_secret, None, secret=True)
    # How often the outbox is sent (seconds); a failed delivery waits twice as long each time.
    WEBHOOK_INTERVAL_S = _setting("GRIDSYNC_WEBHOOK_INTERVAL_S", _int(1, unit=" of seconds"), 30)
    # The reviewers' web pages: a signed session cookie, sent only over HTTPS unless switched off
    # for a first run on http://localhost (``gridsync demo`` does).
    SESSION_COOKIE_NAME = "gridsync_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _setting("GRIDSYNC_COOKIE_SECURE", _switch, True)
    PERMANENT_SESSION_LIFETIME = _setting("GRIDSYNC_SESSION_HOURS", lambda raw: _int(1, 24 * 31, " of hours")(raw) * 3600,
                                          8 * 3600)
    RATELIMIT_ENABLED = _setting("GRIDSYNC_RATELIMIT", _switch, True)
    RATELIMIT_STORAGE_URI = _setting("GRIDSYNC_RATELIMIT_STORAGE", _storage, "memory://")
    # Log-in attempts per client address: wide, since a district's tablets share a few carrier
    # addresses at the evening sync; and failed log-ins per account, from anywhere.
    LOGIN_RATE_LIMIT = _setting("GRIDSYNC_LOGIN_RATE_LIMIT", _rate, "300 per minute")
    LOGIN_ACCOUNT_RATE_LIMIT = _setting("GRIDSYNC_LOGIN_ACCOUNT_RATE_LIMIT", _rate, "10 per minute")

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


def check_config(config):
    """Raise ConfigError, naming the first setting the server cannot use; run by ``create_app``
    before anything else, so a bad value stops the start, not a request later."""
    for key, value in config.items():
        if isinstance(value, _Invalid):
            raise ConfigError(value.message)
    # tables set in code (a config dict or object) are held to the same shape
    for key, per_level, unit in (("DEADLINE_HOURS", True, "hours"), ("REVISIT_DAYS", False, "days")):
        try:
            check_colour_table(config.get(key), per_level, unit)
        except ValueError as exc:
            raise ConfigError(f"{key}: expected {exc}") from None
    if config.get("WEBHOOK_URL") and not config.get("WEBHOOK_SECRET"):
        raise ConfigError("GRIDSYNC_WEBHOOK_SECRET: expected a shared secret of at least 16 characters "
                          "when GRIDSYNC_WEBHOOK_URL is set")
    for key in ("ESCALATION_INTERVAL_S", "LINK_INTERVAL_S", "REVIEW_REFRESH_INTERVAL_S", "WEBHOOK_INTERVAL_S"):
        value = config.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ConfigError(f"{key}: expected a number of seconds above 0; got {value!r}")


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
