"""`spendscope live estimate|show|errors` as a user runs them (the installed console script) on a seeded lake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exporters.warehouse.duckdb import DuckDbLake
from tests.live.conftest import MIN, T0
from tests.live.seed import A3_OD, A3_SPOT, gce, pool, seed_inventory, seed_prices
from tests.live.test_estimate import every
from tests.test_cli import run_cli, write_config


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    lake = DuckDbLake(tmp_path / "lake")
    seed_prices(lake)
    times = every(5, T0, T0 + 40 * MIN)
    seed_inventory(lake, [gce(t, "a3-train-01") for t in times] + [pool(t, "h100-spot", 3) for t in times])
    return write_config(tmp_path)


def test_estimate_prints_the_run_rate_per_platform_and_show_lists_the_resources(cfg: Path) -> None:
    at = (T0 + 30 * MIN).isoformat()

    est = run_cli(cfg, "live", "estimate", "--at", at)
    shown = run_cli(cfg, "live", "show", "--at", at, "--format", "json")
    table = run_cli(cfg, "live", "show", "--at", at)

    assert est.returncode == 0, est.stderr
    assert "estimated 2026-11-20 12:00–13:30 UTC: 2 row(s)" in est.stdout
    assert f"gce         now ${A3_OD:,.2f}/h, this hour so far ${A3_OD / 2:,.2f}" in est.stdout
    assert f"running now: ${A3_OD + 3 * A3_SPOT:,.2f}/h (corrected)" in est.stdout
    assert "spend_live gce: every hour estimated, estimated after (no billing)" in est.stdout
    assert shown.returncode == 0, shown.stderr
    rows = json.loads(shown.stdout)
    assert [(r["resource_name"], r["nodes"]) for r in rows] == [("a3-train-01", 1), ("h100-spot", 3)]  # costliest first
    assert rows[1]["usd_per_hour"] == pytest.approx(3 * A3_SPOT) and rows[1]["price_source"] == "catalog"
    assert "3 × a3-highgpu-8g Spot in us-central1" in rows[1]["basis"]
    assert table.returncode == 0 and "h100-spot" in table.stdout


def test_show_says_when_there_is_no_estimate_and_a_bad_time_exits_2(cfg: Path) -> None:
    empty = run_cli(cfg, "live", "show", "--at", "2026-01-01T00:00")
    bad = run_cli(cfg, "live", "estimate", "--at", "yesterday-ish")

    assert empty.returncode == 0 and "no estimate for that hour" in empty.stdout
    assert bad.returncode == 2 and "is not a time" in bad.stderr


def test_errors_lists_nothing_before_any_reconciliation(cfg: Path) -> None:
    res = run_cli(cfg, "live", "errors", "--format", "json")

    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == []
