"""The prometheus GPU collector against a local stand-in of the Prometheus HTTP API.

Prometheus itself is not started here: a loopback http.server (random port) plays its `/api/v1/query_range`
endpoint. It checks each request the real client (collectors/common/prom_api.py over httpx) sends —
method POST, path, form-encoded body with query/start/end/step — and answers the documented `matrix`
JSON (https://prometheus.io/docs/prometheus/latest/querying/api/#range-queries) with DCGM series shaped as
Prometheus and Google Managed Prometheus store them (added `instance`, `job`, `cluster`, `project_id`,
`location`, `namespace` target labels; the exporter's colliding `namespace` renamed `exported_namespace`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import pytest

from collectors.base import RunContext
from collectors.gpu.fields import FIELDS
from collectors.gpu.prometheus import PrometheusGpuCollector, floor_window, query_for
from spendscope import ingest
from spendscope.clock import fixed_clock
from spendscope.config_telemetry import PrometheusGpuConfig
from spendscope.errors import SourceError
from tests.common.servers import QuietHandler, serving

pytestmark = pytest.mark.integration

NOW = dt.datetime(2026, 11, 20, 12, 7, 30, tzinfo=dt.UTC)
SELECTOR = 'cluster="gpu-prod"'
MIB = 1048576

# kube-prometheus ServiceMonitor target labels (pod, namespace, container of the exporter; the node relabelled
# from __meta_kubernetes_pod_node_name) on a GPU no workload holds: dcgm-exporter set no pod labels itself.
PROM_GPU0 = {"__name__": "DCGM_FI_DEV_GPU_UTIL", "gpu": "0", "UUID": "GPU-aaaa", "device": "nvidia0",
             "modelName": "NVIDIA H100 80GB HBM3", "Hostname": "nvidia-dcgm-exporter-7xk2p",
             "DCGM_FI_DRIVER_VERSION": "535.129.03", "instance": "10.1.0.5:9400", "job": "nvidia-dcgm-exporter",
             "cluster": "gpu-prod", "kubernetes_node": "gke-a3-pool-1-node-1", "namespace": "gpu-operator",
             "pod": "nvidia-dcgm-exporter-7xk2p", "container": "nvidia-dcgm-exporter"}  # fmt: skip
GMP_GPU1 = {"__name__": "DCGM_FI_DEV_GPU_UTIL", "gpu": "1", "UUID": "GPU-bbbb", "modelName": "NVIDIA H100 80GB HBM3",
            "instance": "10.1.0.6:9400", "job": "dcgm-exporter", "project_id": "ml-prod", "location": "us-central1",
            "cluster": "gpu-prod", "namespace": "gpu-operator", "exported_namespace": "research", "pod": "llm-0",
            "container": "trainer"}  # fmt: skip


@dataclass
class PromStub:
    """What the stand-in answers and what it was asked."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    empty: bool = False
    status: int = 200

    def series(self, name: str) -> list[tuple[dict[str, str], str]]:
        if self.empty:
            return []
        if name == "DCGM_FI_DEV_GPU_UTIL":
            return [(PROM_GPU0, "50"), (GMP_GPU1, "25")]
        if name == "DCGM_FI_DEV_FB_USED":
            no_gpu = {"__name__": name, "instance": "10.1.0.5:9400", "job": "dcgm-exporter"}  # an aggregate
            return [({**PROM_GPU0, "__name__": name}, "1024"), (no_gpu, "7")]
        if name == "DCGM_FI_DEV_POWER_USAGE":
            return [({**PROM_GPU0, "__name__": name}, "NaN")]  # skipped point by point
        return []


@pytest.fixture
def prom() -> Iterator[tuple[str, PromStub]]:
    stub = PromStub()

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
            stub.requests.append(
                {"method": "POST", "path": self.path, "ctype": self.headers.get("Content-Type"), "form": form}
            )
            if self.path != "/api/v1/query_range" or set(form) != {"query", "start", "end", "step"}:
                return self.send_json(400, {"status": "error", "errorType": "bad_data", "error": "bad request"})
            if stub.status != 200:
                return self.send_json(stub.status, {"status": "error", "errorType": "internal", "error": "boom"})
            start, end, step = float(form["start"]), float(form["end"]), int(form["step"].removesuffix("s"))
            stamps = [start + k * step for k in range(int((end - start) // step) + 1)]
            name = form["query"].split("{", 1)[0]
            result = [{"metric": m, "values": [[t, v] for t in stamps]} for m, v in stub.series(name)]
            self.send_json(200, {"status": "success", "data": {"resultType": "matrix", "result": result}})

    with serving(Handler) as url:
        yield url, stub


def at(ctx: RunContext, now: dt.datetime) -> RunContext:
    return RunContext(ctx.settings, ctx.warehouse, fixed_clock(now), ctx.options)


def collector(url: str) -> PrometheusGpuCollector:
    return PrometheusGpuCollector(PrometheusGpuConfig(url=url, selector=SELECTOR, step_seconds=60, initial_minutes=60))


def count(ctx: RunContext) -> int:
    return int(ctx.warehouse.query("SELECT COUNT(*) AS n FROM gpu_samples").column("n")[0].as_py())


def test_requests_are_form_posts_of_every_mapped_field_per_hour_chunk(
    ctx: RunContext, prom: tuple[str, PromStub]
) -> None:
    url, stub = prom
    ingest.run(collector(url), at(ctx, NOW))
    assert {(r["method"], r["path"], r["ctype"]) for r in stub.requests} == {
        ("POST", "/api/v1/query_range", "application/x-www-form-urlencoded")
    }
    # 60 minutes back from 12:07:30, aligned: 11:00–12:00 (four windows, one query each), then 12:00–now.
    spans = sorted({(r["form"]["start"], r["form"]["end"]) for r in stub.requests})
    t = lambda h, m, s=0: f"{dt.datetime(2026, 11, 20, h, m, s, tzinfo=dt.UTC).timestamp():.3f}"  # noqa: E731
    assert spans == [(t(11, 0), t(12, 0)), (t(12, 0), t(12, 7, 30))]
    assert sorted(r["form"]["query"] for r in stub.requests) == sorted(
        f'{name}{{cluster="gpu-prod"}}' for name in FIELDS for _ in range(2)
    )
    assert {r["form"]["step"] for r in stub.requests} == {"60s"}


def test_series_become_rows_per_timestamp_and_gpu_in_base_units(ctx: RunContext, prom: tuple[str, PromStub]) -> None:
    url, _ = prom
    c = collector(url)
    summary = ingest.run(c, at(ctx, NOW))
    assert summary.rows == {"gpu_samples": 2 * 68}  # 11:00 … 12:07, one row a minute for each of two GPUs
    rows = ctx.warehouse.query(
        "SELECT * FROM gpu_samples WHERE ts = TIMESTAMP '2026-11-20 11:20:00+00' ORDER BY gpu_index"
    ).to_pylist()
    g0, g1 = rows
    # The node, not dcgm-exporter's hostname (its own pod's name under Kubernetes).
    assert (g0["host"], g0["gpu_uuid"], g0["driver_version"]) == ("gke-a3-pool-1-node-1", "GPU-aaaa", "535.129.03")
    assert g0["gpu_util_ratio"] == 0.5 and g0["fb_used_bytes"] == 1024 * MIB
    assert g0["power_watts"] is None  # NaN points are skipped, not stored
    assert (g0["namespace"], g0["pod"], g0["container"]) == (None, None, None)  # the exporter's pod: no workload
    assert g1["host"] == "10.1.0.6"  # no Hostname label: the instance's host
    assert (g1["namespace"], g1["pod"], g1["container"]) == ("research", "llm-0", "trainer")  # exported_namespace
    assert g1["gpu_util_ratio"] == 0.25 and g1["fb_used_bytes"] is None
    assert (g0["source"], g0["target"], g0["_source"]) == ("prometheus", url, "prometheus@2026-11-20T11:15:00+00:00")
    assert g0["_day"] == dt.date(2026, 11, 20)
    stats = c.last_stats
    assert stats is not None and stats.windows == 5 and stats.not_gpu_series == 2 and stats.skipped_points > 0
    state = ctx.warehouse.query(
        "SELECT watermark FROM ingest_state WHERE source = @s", {"s": f"prometheus:{url}"}
    ).to_pylist()
    assert state == [{"watermark": NOW}]


def test_pulling_the_same_window_again_never_doubles_rows(ctx: RunContext, prom: tuple[str, PromStub]) -> None:
    url, stub = prom
    c = collector(url)
    ingest.run(c, at(ctx, NOW))
    stub.requests.clear()
    ingest.run(c, at(ctx, NOW))  # from 5 minutes before the watermark: the 12:00 window again
    assert count(ctx) == 2 * 68
    assert {r["form"]["start"] for r in stub.requests} == {f"{floor_window(NOW).timestamp():.3f}"}
    later = NOW + dt.timedelta(minutes=12, seconds=30)  # 12:20
    ingest.run(c, at(ctx, later))
    assert count(ctx) == 2 * 81  # 11:00 … 12:20 (now), still one row per GPU per minute
    dupes = ctx.warehouse.query(
        "SELECT ts, gpu_index, COUNT(*) AS n FROM gpu_samples GROUP BY 1, 2 HAVING COUNT(*) > 1"
    ).num_rows
    assert dupes == 0


def test_an_empty_answer_keeps_stored_rows_and_moves_the_watermark(ctx: RunContext, prom: tuple[str, PromStub]) -> None:
    url, stub = prom
    c = collector(url)
    ingest.run(c, at(ctx, NOW))
    stub.empty = True
    later = NOW + dt.timedelta(minutes=1)
    ingest.run(c, at(ctx, later))
    assert count(ctx) == 2 * 68
    mark = ctx.warehouse.query("SELECT MAX(watermark) AS w FROM ingest_state").column("w")[0].as_py()
    assert mark == later


def test_an_error_answer_is_a_source_error(ctx: RunContext, prom: tuple[str, PromStub]) -> None:
    url, stub = prom
    stub.status = 503
    with pytest.raises(SourceError, match="boom"):
        ingest.run(collector(url), at(ctx, NOW))


def test_selector_may_be_written_with_or_without_braces() -> None:
    assert query_for("DCGM_FI_DEV_GPU_UTIL", "") == "DCGM_FI_DEV_GPU_UTIL"
    assert query_for("DCGM_FI_DEV_GPU_UTIL", ' {cluster="a"} ') == 'DCGM_FI_DEV_GPU_UTIL{cluster="a"}'
