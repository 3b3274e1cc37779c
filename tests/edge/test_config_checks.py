"""Every GRIDSYNC_* setting is checked when the server starts: a value it cannot use stops the
start with one line naming the setting and what it expects, instead of a bare ValueError at
import or a 500 at the first request that reads it (issue 11)."""
import importlib
import os
import subprocess
import sys

import pytest

from tests.conftest import _config

BAD = [
    ("GRIDSYNC_DEADLINE_HOURS", '{"red": "12"}', "'red' is \"12\""),
    ("GRIDSYNC_DEADLINE_HOURS", '{"red": 0}', "'red' is 0"),
    ("GRIDSYNC_DEADLINE_HOURS", '{"red": {"town": 12}}', "'town' is not a level"),
    ("GRIDSYNC_DEADLINE_HOURS", '{"purple": 12}', "'purple' is not a colour"),
    ("GRIDSYNC_DEADLINE_HOURS", '{"red": true}', "'red' is true"),
    ("GRIDSYNC_DEADLINE_HOURS", '[24]', "got list"),
    ("GRIDSYNC_DEADLINE_HOURS", '{red: 12}', "not valid JSON"),
    ("GRIDSYNC_REVISIT_DAYS", '{"red": {"community": 3}}', "'red' is {\"community\":3}"),
    ("GRIDSYNC_REVISIT_DAYS", '{"red": -3}', "'red' is -3"),
    ("GRIDSYNC_ESCALATION_INTERVAL_S", "0.5", "a whole number of seconds, at least 1"),
    ("GRIDSYNC_ESCALATION_INTERVAL_S", "0", "at least 1"),
    ("GRIDSYNC_ESCALATION_INTERVAL_S", "\u0666\u0660", "a whole number"),
    ("GRIDSYNC_LINK_INTERVAL_S", "fast", "a whole number of seconds"),
    ("GRIDSYNC_REVIEW_REFRESH_INTERVAL_S", "-5", "at least 1"),
    ("GRIDSYNC_REVIEW_FULL_EVERY_H", "1e3", "a whole number of hours"),
    ("GRIDSYNC_UTC_OFFSET_HOURS", "+8:00", "at least -12 and at most 14"),
    ("GRIDSYNC_UTC_OFFSET_HOURS", "80", "at most 14"),
    ("GRIDSYNC_TOKEN_TTL_HOURS", "two weeks", "a whole number of hours"),
    ("GRIDSYNC_SESSION_HOURS", "0", "at least 1"),
    ("GRIDSYNC_MAX_BODY", "8M", "a whole number of bytes"),
    ("GRIDSYNC_MAX_DECOMPRESSED", "12", "at least 1024"),
    ("GRIDSYNC_MAX_CLOCK_AHEAD_S", "1h", "a whole number of seconds"),
    ("GRIDSYNC_PROXY_HOPS", "yes", "a whole number"),
    ("GRIDSYNC_COOKIE_SECURE", "of", "on or off"),
    ("GRIDSYNC_RATELIMIT", "disabled", "on or off"),
    ("GRIDSYNC_RATELIMIT_STORAGE", "redis", "a storage URI"),
    ("GRIDSYNC_LOGIN_RATE_LIMIT", "lots", "a rate such as"),
    ("GRIDSYNC_LOGIN_ACCOUNT_RATE_LIMIT", "10 per fortnight", "a rate such as"),
    ("GRIDSYNC_ENV", "prod", "production or development"),
    ("GRIDSYNC_PII_KEY", "c2hvcnQ=", "base64 of 32 random bytes"),
    ("GRIDSYNC_BLIND_INDEX_KEY", "not base64!", "base64 of 32 random bytes"),
    ("GRIDSYNC_WEBHOOK_URL", "ftp://city.example/hook", "an http:// or https:// URL"),
    ("GRIDSYNC_WEBHOOK_URL", "city.example/hook", "an http:// or https:// URL"),
    ("GRIDSYNC_WEBHOOK_SECRET", "short-secret", "at least 16 characters"),
    ("GRIDSYNC_WEBHOOK_INTERVAL_S", "0", "at least 1"),
]


@pytest.fixture
def fresh_config(monkeypatch):
    """``load(env)``: server.config as imported under ``env``; restored afterwards."""
    import server.config

    def load(env):
        for name in list(os.environ):
            if name.startswith("GRIDSYNC_"):
                monkeypatch.delenv(name)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return importlib.reload(server.config)

    yield load
    monkeypatch.undo()
    importlib.reload(server.config)


def _settings(module):
    return {k: getattr(module.Config, k) for k in dir(module.Config) if k.isupper()}


@pytest.mark.parametrize("name,value,expected", BAD, ids=[f"{n}={v}" for n, v, _ in BAD])
def test_a_bad_setting_stops_the_start_with_one_line_naming_it(fresh_config, name, value, expected):
    module = fresh_config({name: value})            # the import itself never fails
    with pytest.raises(module.ConfigError) as exc:
        module.check_config(_settings(module))
    message = str(exc.value)
    assert message.startswith(name), message
    assert expected in message, message
    assert "\n" not in message
    if "KEY" in name or "SECRET" in name:
        assert value not in message                 # a secret is never echoed


GOOD = [
    ("GRIDSYNC_DEADLINE_HOURS", '{"red": {"community": 12, "street": 24, "district": 48}, "yellow": 72.5}',
     "DEADLINE_HOURS", {"red": {"community": 12, "street": 24, "district": 48}, "yellow": 72.5}),
    ("GRIDSYNC_REVISIT_DAYS", '{"red": 2}', "REVISIT_DAYS", {"red": 2}),
    ("GRIDSYNC_ESCALATION_INTERVAL_S", "30", "ESCALATION_INTERVAL_S", 30),
    ("GRIDSYNC_UTC_OFFSET_HOURS", "-5", "REVIEW_UTC_OFFSET_HOURS", -5),
    ("GRIDSYNC_COOKIE_SECURE", "off", "SESSION_COOKIE_SECURE", False),
    ("GRIDSYNC_RATELIMIT", "on", "RATELIMIT_ENABLED", True),
    ("GRIDSYNC_SESSION_HOURS", "2", "PERMANENT_SESSION_LIFETIME", 7200),
    ("GRIDSYNC_ENV", "production", "PRODUCTION", True),
    ("GRIDSYNC_LOGIN_RATE_LIMIT", "500/minute", "LOGIN_RATE_LIMIT", "500/minute"),
    ("GRIDSYNC_WEBHOOK_INTERVAL_S", "5", "WEBHOOK_INTERVAL_S", 5),
]


def test_a_webhook_url_needs_its_secret(fresh_config):
    module = fresh_config({"GRIDSYNC_WEBHOOK_URL": "https://sms.city.example/gridsync"})
    with pytest.raises(module.ConfigError, match=r"^GRIDSYNC_WEBHOOK_SECRET: expected .*16 characters"):
        module.check_config(_settings(module))
    module = fresh_config({"GRIDSYNC_WEBHOOK_URL": "https://sms.city.example/gridsync",
                           "GRIDSYNC_WEBHOOK_SECRET": "a-long-shared-secret"})
    settings = _settings(module)
    module.check_config(settings)
    assert (settings["WEBHOOK_URL"], settings["WEBHOOK_SECRET"]) == ("https://sms.city.example/gridsync",
                                                                     "a-long-shared-secret")


@pytest.mark.parametrize("name,value,key,parsed", GOOD, ids=[g[0] for g in GOOD])
def test_a_good_setting_is_read(fresh_config, name, value, key, parsed):
    module = fresh_config({name: value})
    settings = _settings(module)
    module.check_config(settings)
    assert settings[key] == parsed


def test_a_bad_table_given_in_code_is_refused_by_create_app_too(tmp_path):
    from server import create_app
    from server.config import ConfigError
    with pytest.raises(ConfigError, match=r"^DEADLINE_HOURS: expected .*'red' is \"12\""):
        create_app(_config(f"sqlite:///{tmp_path / 'x.db'}", DEADLINE_HOURS={"red": "12"}))


@pytest.mark.parametrize("name,value", [("GRIDSYNC_DEADLINE_HOURS", '{"red": "12"}'),
                                        ("GRIDSYNC_ESCALATION_INTERVAL_S", "0.5")])
def test_the_command_line_says_one_line_and_exits_2(tmp_path, name, value):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDSYNC_")}
    env[name] = value
    env["LANG"] = "en_US.UTF-8"
    proc = subprocess.run([sys.executable, "-c", "from server.cli import main; main()", "routes"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert proc.stderr.startswith(f"gridsync: configuration: {name}=")
    assert "Traceback" not in proc.stderr
