"""spendscope.toml: defaults, validation errors that name the key and line, schema output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spendscope import config
from spendscope.errors import ConfigError

GOOD = """
home = "/var/lib/spendscope"

[warehouse]
engine = "duckdb"
path = "/var/lib/spendscope/lake"

[reporting]
timezone = "Europe/Berlin"

[collectors.gcp_billing]
enabled = true
export_table = "billing-prj.billing.gcp_billing_export_resource_v1_01338E_BE3FD6_363B4C"
trailing_days = 12

[collectors.databricks]
enabled = true
host = "https://1234567890123456.7.gcp.databricks.com"
warehouse_id = "abc123"
sku_prices = { PREMIUM_JOBS_COMPUTE = 0.15 }
"""


def test_embedded_defaults_need_no_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SPENDSCOPE_CONFIG", raising=False)
    s = config.load()
    assert s.source is None
    assert s.warehouse.engine == "duckdb"
    assert s.warehouse.path == ".spendscope/lake"
    assert s.reporting.timezone == "America/Los_Angeles"
    assert not s.collectors.gcp_billing.enabled


def test_a_full_file_validates(tmp_path: Path) -> None:
    p = tmp_path / "spendscope.toml"
    p.write_text(GOOD)
    s = config.load(p)
    assert s.collectors.gcp_billing.trailing_days == 12
    assert s.collectors.databricks.sku_prices == {"PREMIUM_JOBS_COMPUTE": 0.15}
    assert s.reporting.timezone == "Europe/Berlin"
    assert s.source == str(p)


def test_env_var_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "x.toml"
    p.write_text('[reporting]\ntimezone = "UTC"\n')
    monkeypatch.setenv("SPENDSCOPE_CONFIG", str(p))
    assert config.load().reporting.timezone == "UTC"


def test_errors_name_the_key_and_the_line() -> None:
    text = GOOD.replace("trailing_days = 12", "trailing_days = 0").replace('engine = "duckdb"', 'engine = "sqlite"')
    with pytest.raises(ConfigError) as err:
        config.parse(text, "spendscope.toml")
    msg = str(err.value)
    lines = text.splitlines()
    assert f"spendscope.toml:{lines.index('trailing_days = 0') + 1}: collectors.gcp_billing.trailing_days" in msg
    engine_line = lines.index('engine = "sqlite"') + 1
    assert f"spendscope.toml:{engine_line}: warehouse.engine" in msg


def test_unknown_keys_are_rejected() -> None:
    with pytest.raises(ConfigError, match=r"x.toml:3: collectors.focus.path: Extra inputs are not permitted"):
        config.parse('[collectors.focus]\nenabled = true\npath = "typo"\n', "x.toml")


def test_bad_time_zone_and_bad_toml_are_clear() -> None:
    with pytest.raises(ConfigError, match="unknown time zone 'Mars/Olympus'"):
        config.parse('[reporting]\ntimezone = "Mars/Olympus"\n')
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.parse("[reporting\n")


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        config.load(tmp_path / "nope.toml")


def test_json_schema_lists_every_section() -> None:
    schema = json.loads(json.dumps(config.Settings.model_json_schema()))
    assert {"warehouse", "reporting", "collectors", "app"} <= set(schema["properties"])


def test_secrets_come_from_the_named_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_TOKEN", "dapi-123")
    assert config.secret("MY_TOKEN") == "dapi-123"
    monkeypatch.setenv("MY_TOKEN", "")
    assert config.secret("MY_TOKEN") is None


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            "[collectors.gcp_billing]\nenabled = true\n",
            "collectors.gcp_billing: Value error, enabled = true needs export_table",
        ),
        ('[collectors.databricks]\nenabled = true\nhost = "https://x"\n', "needs warehouse_id"),
        ("[collectors.focus]\nenabled = true\n", "needs paths"),
        ("[collectors.databricks]\nsku_prices = { JOBS = -1.0 }\n", "negative price for JOBS"),
    ],
)
def test_an_enabled_collector_missing_what_it_needs_is_rejected_at_load(section: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        config.parse(section, "c.toml")
    assert any(f"c.toml:{n}:" in str(err.value) for n in (1, 2, 3)), "the message carries the file line"


def test_a_dumped_config_loads_back_the_same() -> None:
    """model_dump_json writes durations as ISO 8601 and times as HH:MM:SS: both load back (a subprocess config)."""
    from spendscope.config import Settings

    settings = Settings.model_validate({"alerts": {"actions": {"grace": "1h30m"}}, "report": {"send_at": "07:45"}})
    again = Settings.model_validate_json(settings.model_dump_json(by_alias=True, exclude={"source"}))
    assert again == settings and again.alerts.actions.grace.total_seconds() == 5400
