"""spendscope.secrets: secrets from an env var or the file its `_FILE` twin names, the config's secret keys as
`config check` lists them, and the redaction that keeps read values out of errors and logs."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import pytest

from alerts.routing.config import WebhookNotifier
from alerts.routing.webhook import WebhookSender
from spendscope import config
from spendscope.errors import ConfigError, SourceError
from spendscope.logs import ScrubbingFormatter
from spendscope.secrets import read_secret, redact, secret_refs, secret_state


def unique() -> str:
    return f"value-{uuid.uuid4().hex}"


def test_the_variable_itself() -> None:
    value = unique()
    assert read_secret("TOKEN", {"TOKEN": value}) == value
    assert read_secret("TOKEN", {"TOKEN": ""}) is None
    assert read_secret("TOKEN", {}) is None
    assert read_secret(None, {"TOKEN": value}) is None


@pytest.mark.parametrize("ending", ["\n", "\r\n", ""])
def test_a_mounted_file_loses_one_trailing_newline(tmp_path: Path, ending: str) -> None:
    value = unique()
    (tmp_path / "token").write_text(value + ending, newline="")
    assert read_secret("TOKEN", {"TOKEN_FILE": str(tmp_path / "token")}) == value


def test_an_empty_file_is_no_secret(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("\n")
    assert read_secret("TOKEN", {"TOKEN_FILE": str(tmp_path / "token")}) is None


def test_both_set_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "token").write_text(unique())
    with pytest.raises(ConfigError, match="both TOKEN and TOKEN_FILE are set"):
        read_secret("TOKEN", {"TOKEN": unique(), "TOKEN_FILE": str(tmp_path / "token")})


def test_an_unreadable_file_names_the_path_only(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"TOKEN_FILE: cannot read .*missing: No such file"):
        read_secret("TOKEN", {"TOKEN_FILE": str(tmp_path / "missing")})
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe" + b"secret-bytes")
    with pytest.raises(ConfigError) as err:
        read_secret("TOKEN", {"TOKEN_FILE": str(binary)})
    assert "secret-bytes" not in str(err.value) and "UnicodeDecodeError" in str(err.value)


def test_secret_state_says_how_never_what(tmp_path: Path) -> None:
    value = unique()
    (tmp_path / "t").write_text(value)
    states = [
        secret_state("T", {"T": value}),
        secret_state("T", {"T_FILE": str(tmp_path / "t")}),
        secret_state("T", {}),
        secret_state("T", {"T": value, "T_FILE": str(tmp_path / "t")}),
    ]
    assert states[:3] == ["set", f"from file {tmp_path / 't'}", "missing"]
    assert states[3].startswith("error: both T and T_FILE")
    assert not [s for s in states if value in s]


def test_config_secret_reads_the_file_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    value = unique()
    (tmp_path / "dbx").write_text(value + "\n")
    monkeypatch.delenv("SPENDSCOPE_TEST_DBX", raising=False)
    monkeypatch.setenv("SPENDSCOPE_TEST_DBX_FILE", str(tmp_path / "dbx"))
    assert config.secret("SPENDSCOPE_TEST_DBX") == value


def test_notifiers_read_the_file_and_fail_cleanly(tmp_path: Path) -> None:
    value = unique()
    (tmp_path / "hook").write_text(value + "\n")
    cfg = WebhookNotifier(type="webhook", url="http://127.0.0.1:9/hook", secret_env="HOOK_SECRET")
    sender = WebhookSender("hook", cfg, environ={"HOOK_SECRET_FILE": str(tmp_path / "hook")})
    assert sender.secret("secret_env", cfg.secret_env) == value
    broken = WebhookSender("hook", cfg, environ={"HOOK_SECRET_FILE": str(tmp_path / "nope")})
    with pytest.raises(SourceError, match="hook: HOOK_SECRET_FILE: cannot read"):
        broken.secret("secret_env", cfg.secret_env)


def test_secret_refs_lists_every_env_key_with_its_section_state() -> None:
    settings = config.parse(
        """
[collectors.databricks]
enabled = true
host = "https://example.cloud.databricks.com"
warehouse_id = "w1"
token_env = "DBX_TOKEN"

[collectors.prometheus]
token_env = "GMP_TOKEN"

[alerts.notifiers.hook]
type = "webhook"
url = "https://hooks.example.com/x"
secret_env = "HOOK_SECRET"

[report.smtp]
username_env = "SMTP_USER"
password_env = "SMTP_PASSWORD"
"""
    )
    refs = {r.key: (r.env_name, r.enabled) for r in secret_refs(settings)}
    assert refs == {
        "collectors.databricks.token_env": ("DBX_TOKEN", True),
        "collectors.prometheus.token_env": ("GMP_TOKEN", False),  # the collector is off
        "exporters.datadog.api_key_env": ("DD_API_KEY", False),
        "alerts.notifiers.hook.secret_env": ("HOOK_SECRET", True),
        "report.smtp.username_env": ("SMTP_USER", False),  # the daily send is off (`report daily --send` works)
        "report.smtp.password_env": ("SMTP_PASSWORD", False),
    }


def test_redact_blanks_read_values_and_url_credentials() -> None:
    value = unique()
    assert redact(f"server said: bad token {value}") == f"server said: bad token {value}"  # not read yet
    read_secret("TOKEN", {"TOKEN": value})
    assert redact(f"server said: bad token {value}!") == "server said: bad token ***!"
    read_secret("SHORT", {"SHORT": "abcdefg"})
    assert redact("abcdefg def") == "abcdefg def"  # too short to blank out of ordinary text
    read_secret("USER", {"USER": "spendscope-user"}, remember=False)
    assert redact("spendscope-user") == "spendscope-user"  # read like a secret, but not one (an SMTP user name)
    assert redact("POST https://bob:pw@hooks.example.com/x?y=1") == "POST https://***@hooks.example.com/x?y=1"
    assert redact("mail ops@example.com") == "mail ops@example.com"


def test_errors_and_log_lines_are_redacted() -> None:
    value = unique()
    read_secret("TOKEN", {"TOKEN": value})
    assert str(SourceError(f"upstream echoed {value}")) == "upstream echoed ***"
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "upstream echoed %s", (value,), None)
    line = ScrubbingFormatter("%(message)s").format(record)
    assert line == "upstream echoed ***"
