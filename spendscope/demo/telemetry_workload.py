"""`workload_metrics` for the whole demo window: training throughput and inference latency on GCP and Databricks.

Workloads are named by the fleet's `workload` label. `training`: samples/s per 8-GPU node, every 5 minutes
of each training run (after a 5-minute warm-up) — the GCP baseline on GCE `a3-train-01` and the GKE
`h100-ondemand` pool (Prometheus), Databricks `llm-finetune` at ~98% of it (MLflow run metrics, with run ids).
`inference`: p95 latency in seconds every 5 minutes — the GKE A100 pool as baseline, the Databricks
`llm-chat` serving endpoint at ~105% of it, both rising a little with the diurnal load. One degradation
episode (telemetry_hosts.degradation) puts Databricks training at 78% for up to 3 hours.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from exporters.warehouse.schema import conform
from exporters.warehouse.schema.telemetry import WORKLOAD_METRICS
from spendscope.demo.export_row import crc, vm_name
from spendscope.demo.plan import Plan, Run, diurnal
from spendscope.demo.telemetry_hosts import Degradation, label, node_of, platform_of
from spendscope.demo.workspace import DBX

STEP, US = 300, 1_000_000
THROUGHPUT = 1250.0  # samples/s per a3-highgpu-8g node on GCP
LATENCY = 0.185  # p95 seconds on the GKE A100 pool
TRAINING = {"a3-train-01": 1.0, "gke-h100-ondemand": 1.0, "llm-finetune": 0.98}
INFERENCE = {"gke-a100": 1.0, "llm-chat": 1.05}


Series = tuple[Run, str, np.ndarray, np.ndarray, int | None]  # run, workload, ts (epoch s), values, node index


def _series(plan: Plan, episode: Degradation | None) -> Iterator[Series]:
    idle = {(s.key, s.start) for s in plan.idle}
    for run in plan.runs:
        if (run.key not in TRAINING and run.key not in INFERENCE) or (run.key, run.start) in idle:
            continue
        start, end = int(run.start.timestamp()), int(run.end.timestamp())
        warm = STEP if run.key in TRAINING else 0
        ts = np.arange(start - start % STEP + STEP + warm, end, STEP, dtype=np.int64)
        if not len(ts):
            continue
        rng = np.random.default_rng([plan.seed, crc(run.key), start, 11])
        hours = (ts // 3600) % 24
        if run.key in TRAINING:
            value = THROUGHPUT * TRAINING[run.key] * rng.lognormal(0, 0.012, len(ts))
            if episode is not None and episode.key == run.key:
                hit = (ts >= episode.start.timestamp()) & (ts < episode.end.timestamp())
                value[hit] *= episode.factor
            for index in range(run.first_node, run.first_node + run.nodes):
                yield run, "training", ts, value.round(1), index
        else:
            load = np.array([diurnal(int(h)) for h in range(24)])[hours]
            value = LATENCY * INFERENCE[run.key] * (1 + 0.12 * (load - 1)) * rng.lognormal(0, 0.03, len(ts))
            yield run, "inference", ts, value.round(4), None


def _meta(plan: Plan, run: Run, workload: str, index: int | None) -> dict[str, object]:
    node = node_of(run.key)
    c = DBX.get(run.key)
    tags = dict(c.tags) if c else dict(node.labels) if node else {}
    platform = "databricks" if c else platform_of(node) if node else "gce"
    labels = {"quantile": "0.95"} if workload == "inference" else {}
    if node is not None and index is not None:
        labels["host"] = vm_name(node, index)
    if c is not None:
        labels.update({k: v for k, v in c.metadata if k in ("job_name", "endpoint_name", "cluster_id")})
    elif node is not None:
        labels["resource"] = label(node, "goog-k8s-node-pool-name") or node.name
    mlflow = c is not None and workload == "training"
    run_id = uuid.UUID(int=crc(f"{plan.seed}/{run.key}/{run.start.isoformat()}") << 64 | 0xA5).hex if mlflow else None
    return {
        "metric": "training_throughput" if workload == "training" else "inference_latency_seconds",
        "unit": "samples_per_second" if workload == "training" else "seconds",
        "platform": platform,
        "team": tags.get("team"),
        "run_id": run_id,
        "source": "mlflow" if mlflow else "prometheus",
        "labels": [{"key": k, "value": v} for k, v in sorted(labels.items())],
    }


def workload_metrics(plan: Plan, episode: Degradation | None, source: str = "demo") -> pa.Table:
    """Every series' rows for the plan's window, in run order."""
    metas: list[dict[str, object]] = []
    ts: list[np.ndarray] = []
    values: list[np.ndarray] = []
    for run, workload, times, vals, index in _series(plan, episode):
        metas.append({"workload": workload, **_meta(plan, run, workload, index)})
        ts.append(times)
        values.append(vals)
    if not metas:
        return WORKLOAD_METRICS.empty_table()
    idx = pa.array(np.repeat(np.arange(len(metas)), [len(t) for t in ts]))
    per = pa.Table.from_pylist(metas).take(idx)
    t = np.concatenate(ts) * US
    table: dict[str, pa.Array | pa.ChunkedArray] = {name: per[name] for name in per.column_names}
    table["ts"] = pa.array(t, pa.timestamp("us", tz="UTC"))
    table["value"] = pa.array(np.concatenate(values))
    table["_day"] = table["ts"].cast(pa.date32())
    table["_source"] = pa.repeat(pa.scalar(source), len(t))
    return conform(pa.table(table), WORKLOAD_METRICS)
