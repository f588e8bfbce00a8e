"""The idle, threshold, degradation and runtime rules' SQL on the BigQuery engine: a real `bqemulator` on loopback,
driven by the real google-cloud-bigquery client, gives the findings the embedded engine gives (synthetic rows)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from alerts.rules.base import RuleBase
from alerts.rules.degradation import DegradationRule
from alerts.rules.idle import IdleRule
from alerts.rules.runtime import RuntimeRule
from alerts.rules.threshold import ThresholdRule
from exporters.warehouse.bigquery import BigQueryWarehouse
from exporters.warehouse.duckdb import DuckDbLake
from exporters.warehouse.engine import Warehouse
from spendscope.config import Settings
from spendscope.records import Finding
from tests.alerts.telemetry_rows import (
    MIN,
    NOW,
    context,
    gpu_minutes,
    inventory_row,
    net_samples,
    workload_rows,
    write,
)
from tests.bqemu import running_emulator
from tests.warehouse.conftest import bq_settings

pytestmark = pytest.mark.integration

DBX_ID = "1120-093512-gpures7a"
RULES: list[RuleBase] = [
    IdleRule.model_validate({"name": "idle", "type": "idle", "windows": {"gce": "15m"}}),
    ThresholdRule(name="util", type="threshold", metric="gpu_utilization", value=0.85),
    ThresholdRule(name="mem", type="threshold", metric="gpu_memory", value=0.9, per="host"),
    ThresholdRule(name="xid", type="threshold", metric="xid"),
    ThresholdRule(name="net", type="threshold", metric="network_saturation", value=0.8),
    DegradationRule(name="degraded", type="degradation", min_baseline_samples=10),
    RuntimeRule(name="runtime", type="runtime"),
]


def seed(wh: Warehouse) -> None:
    write(wh, "inventory", [
        inventory_row("gce", "instance", "id-a3-9", "a3-train-09", ["a3-train-09"]),
        inventory_row("databricks", "cluster", DBX_ID, "gpu-research-h100", [f"{DBX_ID}-*"], gpu_count=16,
                      started_at=NOW - 30 * 60 * MIN),
    ])  # fmt: skip
    write(wh, "gpu_minutes", gpu_minutes("a3-train-09", 8, NOW - 40 * MIN, 41, busy=False, gpu_util_ratio=0.0))
    write(wh, "gpu_minutes", gpu_minutes(f"{DBX_ID}-10-128-0-4", 8, NOW - 40 * MIN, 41, busy=True,
                                         gpu_util_ratio=0.97, fb_used_bytes=lambda g, i: 0.95 * 81559 * 2**20,
                                         xid_last=lambda g, i: 79.0 if (g, i) == (2, 38) else 0.0))  # fmt: skip
    write(wh, "gpu_minutes", gpu_minutes("lab-a100", 1, NOW - 40 * MIN, 41, busy=False, mig=("1", "3g.40gb")))
    write(wh, "net_samples", net_samples("a3-train-09", NOW - 10 * MIN, 20, 30, 0.9))
    base = NOW - 2 * 24 * 60 * MIN
    write(wh, "workload_metrics", workload_rows("llm", "training_throughput", "databricks", base, [100.0] * 20,
                                                step=120 * MIN))  # fmt: skip
    write(wh, "workload_metrics", workload_rows("llm", "training_throughput", "databricks", NOW - 55 * MIN,
                                                [75.0] * 10))  # fmt: skip


@pytest.fixture(scope="module")
def bq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BigQueryWarehouse, Settings]]:
    with running_emulator() as emu:
        settings = bq_settings(tmp_path_factory.mktemp("bq"), emu, f"alerts_{uuid.uuid4().hex[:10]}")
        wh = BigQueryWarehouse.from_settings(settings)
        wh.ensure()
        seed(wh)
        yield wh, settings
        wh.close()


def _plain(f: Finding) -> dict[str, Any]:
    ev = {k: pytest.approx(v) if isinstance(v, float) else v for k, v in f.evidence.items()}
    return {"labels": dict(f.labels), "value": None if f.value is None else pytest.approx(f.value), "evidence": ev,
            "resource": f.resource}  # fmt: skip


def test_every_telemetry_rule_finds_the_same_on_both_engines(bq: tuple[BigQueryWarehouse, Settings],
                                                             lake: DuckDbLake, settings: Settings) -> None:  # fmt: skip
    seed(lake)
    big, big_settings = bq
    for r in RULES:
        want = r.evaluate(context(lake, settings))
        got = r.evaluate(context(big, big_settings))
        assert want, r.name  # each rule has something to find in the seed
        assert [_plain(f) for f in got] == [_plain(f) for f in want], r.name
