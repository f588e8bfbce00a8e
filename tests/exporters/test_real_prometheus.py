"""A real Prometheus (Debian package, /usr/bin/prometheus 2.42) scrapes our exporter; promtool lints our exposition.

The test starts Prometheus on a free loopback port with a temporary config (scrape_interval 1s) and TSDB
directory, waits for /-/ready, then polls its HTTP API until our series appear and checks their values
against what the seeded warehouse holds.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from exporters.prometheus import PrometheusExporter
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.clock import fixed_clock
from spendscope.config import Settings
from tests.common.servers import free_port, poll, real_server
from tests.exporters.conftest import COLLECTORS, H100, NOW, fake_health, fake_unit_economics

PROMETHEUS, PROMTOOL = "/usr/bin/prometheus", "/usr/bin/promtool"
pytestmark = pytest.mark.integration


def query(base: str, expr: str) -> dict[tuple[tuple[str, str], ...], float]:
    r = httpx.get(f"{base}/api/v1/query", params={"query": expr}, timeout=10)
    r.raise_for_status()
    body = r.json()
    assert body["status"] == "success"
    return {
        tuple(sorted((k, v) for k, v in s["metric"].items() if k not in {"__name__", "job", "instance"})): float(
            s["value"][1]
        )
        for s in body["data"]["result"]
    }


@pytest.fixture
def exporter(settings: Settings, seeded: DuckDbLake) -> Iterator[PrometheusExporter]:
    s = Settings.model_validate({**settings.model_dump(exclude_unset=True), "exporters": {"prometheus": {"port": 0}}})
    exp = PrometheusExporter(
        s, seeded, fake_health, clock=fixed_clock(NOW), collector_names=lambda: COLLECTORS,
        unit_economics=fake_unit_economics,
    )  # fmt: skip
    exp.start()
    yield exp
    exp.stop()


def test_real_prometheus_scrapes_our_values(exporter: PrometheusExporter, tmp_path: Path) -> None:
    assert shutil.which(PROMETHEUS), "the Debian prometheus package must be installed"
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: spendscope\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{exporter.server.port}']\n"
    )
    argv = [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]  # fmt: skip
    with real_server(argv, tmp_path / "prometheus.log", f"http://127.0.0.1:{port}") as base:
        util = poll(lambda: query(base, "spendscope_gpu_utilization_ratio"))
        labels = (
            ("cluster", "a3-node-1"),
            ("gpu", "0"),
            ("gpu_model", H100),
            ("host", "a3-node-1"),
            ("platform", "gce"),
        )
        assert util[labels] == 0.93
        assert util[(("cluster", "training"), ("gpu", "0/3"), ("gpu_model", H100), ("host", "dbx-worker-1"),
                     ("platform", "databricks"))] == 0.25  # fmt: skip
        cost = query(base, 'spendscope_cost_usd{period="day",provider="Google Cloud"}')
        assert list(cost.values()) == [100.0]
        # The interface name with a quote and a backslash survived our escaping and Prometheus's parser.
        rx = query(base, "spendscope_network_receive_bytes_per_second")
        assert rx == {(("host", "a3-node-1"), ("interface", 'eth"0\\x')): 1.25e9}
        up = query(base, "spendscope_collector_up")
        assert up == {(("collector", "databricks"),): 0.0, (("collector", "focus"),): 1.0}
        assert query(base, "spendscope_collector_runs_total")[(("collector", "focus"),)] == 3.0
        targets = httpx.get(f"{base}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
        assert [t["health"] for t in targets] == ["up"]
        assert targets[0]["lastError"] == ""


def test_promtool_check_metrics_finds_no_problem(exporter: PrometheusExporter) -> None:
    assert shutil.which(PROMTOOL), "the Debian prometheus package must be installed"
    res = subprocess.run([PROMTOOL, "check", "metrics"], input=exporter.render(), capture_output=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout == b"" and res.stderr == b""  # no lint problem at all
