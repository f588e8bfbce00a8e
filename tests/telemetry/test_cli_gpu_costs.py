"""`spendscope gpu-costs` through click's CliRunner on the seeded warehouse of seed_economics.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from exporters.warehouse.duckdb import DuckDbLake
from spendscope.cli import cli
from tests.telemetry.seed_economics import D, seed_all


@pytest.fixture
def config(tmp_path: Path) -> Path:
    seed_all(DuckDbLake(tmp_path / "lake"))
    p = tmp_path / "spendscope.toml"
    p.write_text(f'home = "{tmp_path}/home"\n[warehouse]\npath = "{tmp_path}/lake"\n')
    return p


def _run(config: Path, *args: str) -> str:
    res = CliRunner().invoke(cli, ["--config", str(config), "gpu-costs", *args])
    assert res.exit_code == 0, res.output
    return res.output


def test_gpu_costs_by_platform_prints_cost_per_busy_gpu_hour(config: Path) -> None:
    out = json.loads(_run(config, "--since", D.isoformat(), "--until", D.isoformat(), "--format", "json"))
    got = {r["platform"]: r for r in out}
    assert set(got) == {"databricks", "gce", "gke"}
    assert got["gke"]["cost_per_busy_gpu_hour_usd"] == pytest.approx(22.5)
    assert got["gce"]["cost_per_busy_gpu_hour_usd"] == pytest.approx(167.2 / 12)
    assert got["databricks"]["cost_per_busy_gpu_hour_usd"] is None  # no busy minute: null, not infinity


def test_gpu_costs_by_day_has_one_row_per_day_and_platform(config: Path) -> None:
    out = json.loads(_run(config, "--since", D.isoformat(), "--until", "2026-11-20", "--by", "day", "--format", "json"))
    assert [(r["day"], r["platform"]) for r in out] == [
        ("2026-11-18", "databricks"), ("2026-11-18", "gce"), ("2026-11-18", "gke"),
        ("2026-11-19", "gce"), ("2026-11-20", "gce"),
    ]  # fmt: skip


def test_gpu_costs_table_shows_money_to_the_cent_and_how_busy_is_defined(config: Path) -> None:
    out = _run(config, "--since", D.isoformat(), "--until", D.isoformat())
    assert "22.50" in out and "13.93" in out  # gke and gce $ per busy GPU-hour
    assert "graphics-engine activity ≥ 0.05" in out


def test_gpu_costs_rejects_a_reversed_range(config: Path) -> None:
    res = CliRunner().invoke(
        cli, ["--config", str(config), "gpu-costs", "--since", "2026-11-20", "--until", "2026-11-18"]
    )
    assert res.exit_code == 2 and "after --until" in res.output
