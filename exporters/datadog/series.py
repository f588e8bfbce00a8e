"""Snapshot → Datadog v2 series (plain dicts, the JSON the client sends), and batching under the intake limits.

Names follow what Datadog's own OpenMetrics check would give for our `/metrics`, so a team can switch between
scraping with the Agent and pushing with spendscope without renaming dashboards: the `spendscope_` prefix
becomes the `spendscope.` namespace (`spendscope.gpu_utilization_ratio`), and a counter `x_total` is sent as
`spendscope.x.count`, type COUNT, holding the increase since the previous push. Labels become `key:value`
tags (empty values dropped); the `host` label becomes the series' host resource instead of a tag.

`to_series` does not move the counter baselines itself: it says which baseline each series would commit, and
the client commits them only for batches the API accepted, so an increase in a failed request is sent again.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from exporters.prometheus.snapshot import Snapshot

GAUGE, COUNT = 3, 1  # MetricIntakeType values
# POST /api/v2/series: "The maximum payload size is 500 kilobytes (512000 bytes). Compressed payloads must have a
# decompressed size of less than 5 megabytes (5242880 bytes)" (MetricsApi.submit_metrics docstring, 2.62.0).
MAX_COMPRESSED_BYTES = 512_000
MAX_UNCOMPRESSED_BYTES = 5_242_880
_MARGIN = 0.9  # headroom for the envelope and for the client's own JSON spacing

SeriesKey = tuple[str, tuple[str, ...]]
Baseline = tuple[float, int]  # a counter's value and the push timestamp it was read at


@dataclass
class SeriesPlan:
    """The series of one push and, per series, the counter baseline it moves once Datadog accepted it."""

    series: list[dict[str, Any]] = field(default_factory=list)
    commits: list[tuple[SeriesKey, Baseline] | None] = field(default_factory=list)  # parallel to `series`
    first_seen: dict[SeriesKey, Baseline] = field(default_factory=dict)  # nothing sent: commit right away


def datadog_name(prometheus_name: str, counter: bool) -> str:
    """spendscope_gpu_power_watts → spendscope.gpu_power_watts; spendscope_x_total (counter) → spendscope.x.count."""
    rest = prometheus_name.removeprefix("spendscope_")
    if counter:
        return f"spendscope.{rest.removesuffix('_total')}.count"
    return f"spendscope.{rest}"


def to_series(
    snapshot: Snapshot, timestamp: int, extra_tags: Sequence[str], previous: Mapping[SeriesKey, Baseline]
) -> SeriesPlan:
    """One series per sample; a counter is its increase since its committed baseline (none on first sight).

    `previous` is only read. A counter's `interval` is the time since its baseline was read, so an increase
    resent after a failed push covers the whole span it accumulated over.
    """
    plan = SeriesPlan()
    for fam in snapshot.families:
        spec = fam.spec
        counter = spec.type == "counter"
        name = datadog_name(spec.name, counter)
        host_at = spec.labels.index("host") if "host" in spec.labels else None
        for values, value in fam.samples:
            if not math.isfinite(value):
                continue  # JSON has no NaN; Datadog would reject the whole payload
            commit: tuple[SeriesKey, Baseline] | None = None
            interval = 0
            if counter:
                key = (spec.name, values)
                before = previous.get(key)
                if before is None:
                    plan.first_seen[key] = (value, timestamp)
                    continue
                commit = (key, (value, timestamp))
                interval = timestamp - before[1]
                value = value - before[0] if value >= before[0] else value  # a reset: the counter restarted at 0
            tags = [f"{k}:{v}" for i, (k, v) in enumerate(zip(spec.labels, values, strict=True)) if v and i != host_at]
            series: dict[str, Any] = {
                "metric": name,
                "type": COUNT if counter else GAUGE,
                "points": [{"timestamp": timestamp, "value": float(value)}],
                "tags": [*tags, *extra_tags],
            }
            if interval > 0:
                series["interval"] = interval
            if host_at is not None and values[host_at]:
                series["resources"] = [{"name": values[host_at], "type": "host"}]
            plan.series.append(series)
            plan.commits.append(commit)
    return plan


def payload_bytes(series: Sequence[dict[str, Any]]) -> bytes:
    """The request body as the client serializes it (json.dumps defaults)."""
    return json.dumps({"series": list(series)}).encode("utf-8")


def batches(
    series: Sequence[dict[str, Any]],
    max_uncompressed: int = MAX_UNCOMPRESSED_BYTES,
    max_compressed: int = MAX_COMPRESSED_BYTES,
) -> Iterator[list[dict[str, Any]]]:
    """Consecutive slices, in order and covering every series, whose payloads stay under both limits (deflate-
    compressed, as we send it): the client maps an accepted slice back to its commits by position."""
    budget = int(max_uncompressed * _MARGIN)
    batch: list[dict[str, Any]] = []
    size = 0
    for s in series:
        n = len(json.dumps(s)) + 2
        if batch and size + n > budget:
            yield from _fit(batch, max_uncompressed, max_compressed)
            batch, size = [], 0
        batch.append(s)
        size += n
    if batch:
        yield from _fit(batch, max_uncompressed, max_compressed)


def _fit(batch: list[dict[str, Any]], max_uncompressed: int, max_compressed: int) -> Iterator[list[dict[str, Any]]]:
    """Halve a batch until its compressed payload fits (series compress ~10×, so this is rare)."""
    body = payload_bytes(batch)
    if len(batch) == 1 or (len(body) < max_uncompressed and len(zlib.compress(body)) < max_compressed * _MARGIN):
        if len(body) >= max_uncompressed:
            raise ValueError(f"one series is larger than the intake limit ({len(body)} bytes): {batch[0]['metric']}")
        yield batch
        return
    half = len(batch) // 2
    yield from _fit(batch[:half], max_uncompressed, max_compressed)
    yield from _fit(batch[half:], max_uncompressed, max_compressed)
