"""The CLI as a user meets it: clear errors with exit codes and no tracebacks, query/costs output formats."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from exporters.warehouse.duckdb import DuckDbLake
from spendscope.cli import cli
from tests.seed import seed_costs


def write_config(tmp_path: Path, extra: str = "") -> Path:
    p = tmp_path / "spendscope.toml"
    p.write_text(f'home = "{tmp_path}/home"\n[warehouse]\npath = "{tmp_path}/lake"\n{extra}')
    return p


def seed_focus(lake_path: Path) -> None:
    """Two providers' costs, ingested as FOCUS rows (the rollup `costs` reads is derived from them)."""
    ts = dt.datetime(2026, 11, 3, 20, tzinfo=dt.UTC)  # 12:00 in Los Angeles: reporting day 2026-11-03
    seed_costs(
        DuckDbLake(lake_path),
        [
            {"BilledCost": 10.0, "ListCost": 12.0, "ProviderName": "Google Cloud", "ServiceName": "Compute Engine",
             "Tags": '{"team": "ml"}', "ChargePeriodStart": ts},
            {"BilledCost": 5.5, "ListCost": 5.5, "ProviderName": "Databricks", "ServiceName": "Jobs Compute",
             "ChargePeriodStart": ts},
        ],
    )  # fmt: skip


def run_cli(cfg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a user runs it."""
    exe = Path(sys.executable).with_name("spendscope")
    return subprocess.run(
        [str(exe), "--config", str(cfg), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "SPENDSCOPE_LOG_LEVEL": "WARNING"},
    )


def test_bad_config_exits_2_with_the_key_and_no_traceback(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, "[reporting]\ntimezone = 5\n")
    res = run_cli(cfg, "costs")
    assert res.returncode == 2
    assert "reporting.timezone" in res.stderr and f"{cfg}:5" in res.stderr
    assert "Traceback" not in res.stderr


def test_bad_sql_exits_non_zero_with_a_message(tmp_path: Path) -> None:
    res = run_cli(write_config(tmp_path), "query", "SELEC nonsense")
    assert res.returncode == 5
    assert res.stderr.startswith("error:") and "Traceback" not in res.stderr


def test_unknown_collector_lists_valid_names(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["--config", str(write_config(tmp_path)), "collect", "nope"])
    assert res.exit_code == 2
    assert "unknown collector 'nope'" in res.output and "gcp-billing" in res.output


def test_from_file_on_a_live_only_collector_is_a_clear_input_error(tmp_path: Path) -> None:
    saved = tmp_path / "scrape.txt"
    saved.write_text('DCGM_FI_DEV_GPU_UTIL{gpu="0"} 5\n')
    res = CliRunner().invoke(
        cli, ["--config", str(write_config(tmp_path)), "collect", "dcgm", "--from-file", str(saved)]
    )
    assert res.exit_code == 3
    assert "dcgm does not ingest files; --from-file works with gcp-billing, databricks, focus, nvidia-smi" in res.output
    assert "internal error" not in res.output


def test_query_formats(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    seed_focus(tmp_path / "lake")
    sql = "SELECT ProviderName AS p, SUM(BilledCost) AS cost FROM focus_costs GROUP BY 1 ORDER BY 1"
    runner = CliRunner()
    as_json = json.loads(runner.invoke(cli, ["--config", str(cfg), "query", sql, "--format", "json"]).output)
    assert as_json == [{"p": "Databricks", "cost": 5.5}, {"p": "Google Cloud", "cost": 10.0}]
    as_csv = list(
        csv.DictReader(io.StringIO(runner.invoke(cli, ["--config", str(cfg), "query", sql, "--format", "csv"]).output))
    )
    assert [r["p"] for r in as_csv] == ["Databricks", "Google Cloud"]
    table = runner.invoke(cli, ["--config", str(cfg), "query", sql]).output
    assert "Google Cloud" in table and "10.00" in table and "(2 rows)" in table


def test_costs_by_provider_and_team_with_a_window(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    seed_focus(tmp_path / "lake")
    runner = CliRunner()
    out = runner.invoke(
        cli,
        [
            "--config",
            str(cfg),
            "costs",
            "--by",
            "team",
            "--since",
            "2026-11-03",
            "--until",
            "2026-11-03",
            "--format",
            "json",
        ],
    )
    assert out.exit_code == 0, out.output
    assert {r["team"]: r["billed_cost"] for r in json.loads(out.output)} == {"ml": 10.0, "(untagged)": 5.5}
    outside = runner.invoke(cli, ["--config", str(cfg), "costs", "--since", "2026-11-04", "--format", "json"])
    assert json.loads(outside.output) == []
    text = runner.invoke(cli, ["--config", str(cfg), "costs", "--by", "provider"]).output
    assert "total billed: 15.50 USD" in text


def test_costs_rejects_an_unknown_dimension(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["--config", str(write_config(tmp_path)), "costs", "--by", "colour"])
    assert res.exit_code == 2 and "colour" in res.output


def test_config_check_and_schema(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(cli, ["--config", str(write_config(tmp_path)), "config", "check"])
    assert ok.exit_code == 0 and "engine=duckdb" in ok.output
    schema = json.loads(runner.invoke(cli, ["config", "schema"]).output)
    assert "collectors" in schema["properties"]


@pytest.mark.parametrize("bad", ["2026-13-01", "someday"])
def test_bad_dates_are_usage_errors(tmp_path: Path, bad: str) -> None:
    res = CliRunner().invoke(cli, ["--config", str(write_config(tmp_path)), "costs", "--since", bad])
    assert res.exit_code == 2 and "is not a date" in res.output


def test_costs_never_add_up_different_currencies(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    ts = dt.datetime(2026, 11, 3, 20, tzinfo=dt.UTC)
    seed_costs(
        DuckDbLake(tmp_path / "lake"),
        [
            {"BilledCost": 100.0, "ProviderName": "AWS", "ServiceName": "EC2", "ChargePeriodStart": ts},
            {"BilledCost": 50.0, "ProviderName": "Microsoft", "ServiceName": "VMs", "ChargePeriodStart": ts,
             "BillingCurrency": "EUR"},
        ],
    )  # fmt: skip
    runner = CliRunner()
    rows = json.loads(runner.invoke(cli, ["--config", str(cfg), "costs", "--format", "json"]).output)
    assert {(r["provider"], r["currency"], r["billed_cost"]) for r in rows} == {
        ("AWS", "USD", 100.0),
        ("Microsoft", "EUR", 50.0),
    }
    text = runner.invoke(cli, ["--config", str(cfg), "costs"]).output
    assert "total billed: 50.00 EUR, 100.00 USD" in text


def test_a_file_whose_every_row_is_quarantined_exits_non_zero(tmp_path: Path) -> None:
    bad = tmp_path / "export.json"
    bad.write_text('{"billing_account_id": "A", "cost": "abc", "usage_start_time": "x", "usage_end_time": "y"}\n')
    res = run_cli(write_config(tmp_path), "collect", "gcp-billing", "--from-file", str(bad))
    assert res.returncode == 3
    assert "quarantined: 1 row(s)" in res.stdout and "no row could be ingested" in res.stderr
    assert "Traceback" not in res.stderr


def test_focus_export_refuses_dash(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["--config", str(write_config(tmp_path)), "focus", "export", "--out", "-"])
    assert res.exit_code == 2 and "give a file name" in res.output
    assert not Path("-").exists()
