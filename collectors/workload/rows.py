"""Rows of `workload_metrics` shared by both sources: units, label lists, the Arrow table, pull counters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from exporters.warehouse.schema.telemetry import WORKLOAD_METRICS

TABLE = "workload_metrics"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# Units of the metric names the degradation rules and the scorecard know; other names fall to the suffix rules.
KNOWN_UNITS = {
    "training_throughput": "samples_per_second",
    "inference_latency_seconds": "seconds",
    "gpu_busy_ratio": "ratio",
}
_SUFFIX_UNITS = (("_seconds", "seconds"), ("_ratio", "ratio"), ("_bytes", "bytes"), ("_per_second", "per_second"))


@dataclass
class PullStats:
    """What one source's pull read and what it had to skip (reported by the collector, asserted in tests)."""

    rows: int = 0
    skipped_points: int = 0  # values that were NaN / ±Inf / not a number
    unlabelled_series: int = 0  # Prometheus series without the query's workload label
    unlabelled_points: int = 0  # their points, skipped with them
    windows: int = 0  # Prometheus windows pulled
    runs: int = 0  # MLflow runs (re)read
    missing_experiments: list[str] = field(default_factory=list)


def unit_for(metric: str, configured: str | None = None) -> str | None:
    """The configured unit, else the known unit of `metric`, else one implied by its suffix, else None."""
    if configured:
        return configured
    if metric in KNOWN_UNITS:
        return KNOWN_UNITS[metric]
    return next((unit for suffix, unit in _SUFFIX_UNITS if metric.endswith(suffix)), None)


def kv_list(labels: Mapping[str, str]) -> list[dict[str, str]]:
    """Labels as the schema's key/value list, sorted by key so equal label sets compare equal."""
    return [{"key": k, "value": v} for k, v in sorted(labels.items())]


def from_millis(ms: int) -> dt.datetime:
    """A UTC datetime from epoch milliseconds, exactly (no float rounding)."""
    return EPOCH + dt.timedelta(milliseconds=ms)


def row(
    ts: dt.datetime,
    workload: str,
    metric: str,
    value: float,
    *,
    unit: str | None,
    platform: str | None,
    team: str | None,
    run_id: str | None,
    source: str,
    labels: Mapping[str, str],
    provenance: str,
) -> dict[str, Any]:
    """One `workload_metrics` row; `_day` is the UTC date of `ts`."""
    return {
        "ts": ts,
        "workload": workload,
        "metric": metric,
        "value": value,
        "unit": unit,
        "platform": platform,
        "team": team,
        "run_id": run_id,
        "source": source,
        "labels": kv_list(labels),
        "_day": ts.astimezone(dt.UTC).date(),
        "_source": provenance,
    }


def to_table(rows: Sequence[dict[str, Any]]) -> pa.Table:
    """Rows as an Arrow table with exactly the `workload_metrics` schema."""
    return pa.Table.from_pylist(list(rows), schema=WORKLOAD_METRICS)


def utc_days(start: dt.datetime, end: dt.datetime) -> list[dt.date]:
    """Every UTC date from `start` to `end` inclusive."""
    first, last = start.astimezone(dt.UTC).date(), end.astimezone(dt.UTC).date()
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
