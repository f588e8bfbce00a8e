"""Workload metrics from Prometheus `query_range`: one row per point of every series of every configured query.

Windows (why this shape). Time is cut into fixed windows of about an hour (3600 s rounded up to a whole
number of steps) aligned to the Unix epoch, so every pull evaluates the same instants and a window is
the unit of replace: its rows are keyed {_day, _source = "workload:prometheus:<url>@<window start>"}
and a re-pulled window replaces itself whole, never doubling a row. A run pulls from the window that
holds the watermark (first run: the window holding now − 1 h) up to now; the watermark stops
SETTLE short of now, so the still-filling window (late remote-write samples, rule lag) is re-pulled
by the next run. All queries of a window are written together, so one failing query fails the pull
rather than replacing the window without that query's rows. The URL is part of `_source` so two
Prometheus servers (config and a `--target`) never replace each other's rows.

Skipped and counted: points whose value is NaN/±Inf (PromApi), and series without the query's
`workload_label` (with all their points; one quarantine entry per query and run names them).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator, Sequence
from typing import Any

from collectors.base import Batch, Item, Quarantined, RunContext
from collectors.common.prom_api import PromApi, RangeResult
from collectors.common.state import last_watermark
from collectors.workload.rows import TABLE, PullStats, row, to_table, unit_for, utc_days
from spendscope.config_telemetry import WorkloadQuery

log = logging.getLogger(__name__)

INITIAL = dt.timedelta(hours=1)
SETTLE = dt.timedelta(minutes=5)
WINDOW_TARGET_SECONDS = 3600
WINDOWS_PER_BATCH = 24  # one Delta commit per day of hourly windows when catching up
STATE_PARTITION = "range"
_SKIP_LABELS = {"__name__"}

Window = tuple[dt.datetime, dt.datetime]


def state_source(url: str) -> str:
    """The ingest_state source holding this Prometheus server's watermark."""
    return f"workload:prometheus:{url}"


def window_source(url: str, start: dt.datetime) -> str:
    """The `_source` of the rows of one window: the replace key with `_day`."""
    return f"workload:prometheus:{url}@{start.isoformat()}"


def window_seconds(step_seconds: int) -> int:
    """Window length: an hour rounded up to whole steps, so windows and evaluation instants stay aligned."""
    return -(-WINDOW_TARGET_SECONDS // step_seconds) * step_seconds


def plan_windows(since: dt.datetime, now: dt.datetime, step_seconds: int) -> list[Window]:
    """[start, end) epoch-aligned windows from the one holding `since` through the one holding `now`."""
    size = window_seconds(step_seconds)
    start = int(since.timestamp()) // size * size
    out: list[Window] = []
    while start < now.timestamp():
        out.append((dt.datetime.fromtimestamp(start, dt.UTC), dt.datetime.fromtimestamp(start + size, dt.UTC)))
        start += size
    return out


def window_rows(
    query: WorkloadQuery, result: RangeResult, window: Window, provenance: str, stats: PullStats
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Rows of one query's answer for one window, and the label sets of series skipped for lacking the label."""
    start, end = window
    rows: list[dict[str, Any]] = []
    unlabelled: list[dict[str, str]] = []
    stats.skipped_points += result.skipped
    unit = unit_for(query.metric, query.unit)
    for series in result.series:
        labels = series.labels
        workload = labels.get(query.workload_label)
        if not workload:
            unlabelled.append(labels)
            stats.unlabelled_series += 1
            stats.unlabelled_points += len(series.points)
            continue
        platform = query.platform or labels.get("platform") or None
        team = query.team or labels.get("team") or None
        taken = {query.workload_label, "platform", "team", *_SKIP_LABELS}
        rest = {k: v for k, v in labels.items() if k not in taken}
        for ts, value in series.points:
            if not start <= ts < end:  # the API's end is inclusive: a point on `end` belongs to the next window
                continue
            rows.append(
                row(
                    ts,
                    workload,
                    query.metric,
                    value,
                    unit=unit,
                    platform=platform,
                    team=team,
                    run_id=None,
                    source="prometheus",
                    labels=rest,
                    provenance=provenance,
                )
            )
    return rows, unlabelled


class PrometheusSource:
    """Pulls every configured query from one Prometheus-compatible API, window by window."""

    def __init__(self, url: str, queries: Sequence[WorkloadQuery], step_seconds: int, api: PromApi) -> None:
        self.url = url
        self.queries = list(queries)
        self.step_seconds = step_seconds
        self.api = api

    def pull(self, ctx: RunContext, stats: PullStats) -> Iterator[Item]:
        """Batches of up to WINDOWS_PER_BATCH windows each, with the watermark in their state."""
        now = ctx.now()
        since = last_watermark(ctx.warehouse, state_source(self.url), STATE_PARTITION) or now - INITIAL
        windows = plan_windows(since, now, self.step_seconds)
        log.info("workload prometheus url:%s since:%s windows:%s", self.url, since.isoformat(), len(windows))
        unlabelled: dict[str, tuple[int, dict[str, str]]] = {}
        for i in range(0, len(windows), WINDOWS_PER_BATCH):
            group = windows[i : i + WINDOWS_PER_BATCH]
            rows: list[dict[str, Any]] = []
            keys: list[dict[str, Any]] = []
            for window in group:
                rows += self._window(window, now, stats, unlabelled)
                src = window_source(self.url, window[0])
                last = window[1] - dt.timedelta(microseconds=1)
                keys += [{"_day": d, "_source": src} for d in utc_days(window[0], last)]
            stats.rows += len(rows)
            mark = min(group[-1][1], now - SETTLE)
            state = {
                "source": state_source(self.url),
                "partition": STATE_PARTITION,
                "watermark": mark,
                "max_usage_end": min(group[-1][1], now),
                "rows": len(rows),
                "_source": self.url,
            }
            yield Batch(table=TABLE, data=to_table(rows), keys=keys, state=[state])
        for metric, (n, example) in unlabelled.items():
            reason = f"{metric}: {n} series without the workload label skipped (with their points)"
            yield Quarantined(TABLE, self.url, None, reason, json.dumps(example, sort_keys=True))

    def _window(
        self, window: Window, now: dt.datetime, stats: PullStats, unlabelled: dict[str, tuple[int, dict[str, str]]]
    ) -> list[dict[str, Any]]:
        start, end = window
        # query_range's end is inclusive: stop one step short of the next window's first instant.
        until = min(end - dt.timedelta(seconds=self.step_seconds), now)
        provenance = window_source(self.url, start)
        rows: list[dict[str, Any]] = []
        for query in self.queries:
            result = self.api.query_range(query.query, start, until, self.step_seconds)
            got, missing = window_rows(query, result, window, provenance, stats)
            rows += got
            if missing:
                n, example = unlabelled.get(query.metric, (0, missing[0]))
                unlabelled[query.metric] = (n + len(missing), example)
        stats.windows += 1
        return rows
