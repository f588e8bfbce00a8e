"""Collector health from the daemon's job health (spendscope.scheduler.JobHealth), for every collector.

Every registered collector gets `spendscope_collector_enabled` (1 if the daemon schedules it). The daemon's
jobs — enabled collectors and upkeep jobs such as lake-maintenance — get runs/failures counters, last rows and
duration; `spendscope_collector_up` appears once a job's first run has ended (a job not yet run is neither up
nor down: alert on `spendscope_collector_enabled == 1 unless on(collector) spendscope_collector_up` for that).
"""

from __future__ import annotations

from exporters.prometheus.snapshot import PartContext, Samples


def collector_metrics(ctx: PartContext) -> Samples:
    """The spendscope_collector_* families."""
    health = dict(ctx.health())
    names = list(ctx.collector_names())
    out: Samples = {
        "spendscope_collector_enabled": [((n,), 1.0 if n in health else 0.0) for n in names],
        "spendscope_collector_up": [],
        "spendscope_collector_last_success_timestamp_seconds": [],
        "spendscope_collector_runs_total": [],
        "spendscope_collector_failures_total": [],
        "spendscope_collector_last_duration_seconds": [],
        "spendscope_collector_last_rows": [],
        "spendscope_collector_consecutive_failures": [],
        "spendscope_collector_retries_total": [],
    }
    for name in health:
        if name not in names:
            out["spendscope_collector_enabled"].append(((name,), 1.0))
    for name, h in health.items():
        key = (name,)
        if h.up is not None:
            out["spendscope_collector_up"].append((key, 1.0 if h.up else 0.0))
        if h.last_success is not None:
            out["spendscope_collector_last_success_timestamp_seconds"].append((key, h.last_success.timestamp()))
        if h.last_duration_s is not None:
            out["spendscope_collector_last_duration_seconds"].append((key, float(h.last_duration_s)))
        out["spendscope_collector_runs_total"].append((key, float(h.runs)))
        out["spendscope_collector_failures_total"].append((key, float(h.failures)))
        out["spendscope_collector_last_rows"].append((key, float(h.last_rows)))
        out["spendscope_collector_consecutive_failures"].append((key, float(h.consecutive_failures)))
        out["spendscope_collector_retries_total"].append((key, float(h.retries)))
    return out
