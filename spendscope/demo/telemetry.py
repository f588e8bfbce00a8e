"""The demo's telemetry, lined up with its billing: GPU minutes, raw dcgm samples, network, inventory, workloads.

Every GPU the billing shows running gets telemetry for the same seconds (telemetry_hosts: one segment per
host per billed run), with activity that tells the billing's story: the idle stretches (GCE `a3-train-02`
over a weekend, Databricks `gpu-research-h100` with auto-termination off) bill while their GPUs sit at ~0
graphics-engine activity, and the spike's 14 extra GKE Spot nodes show up as busy GPUs.

Reduction: `gpu_minutes` stays one row per GPU per minute (so minutes / 60 = GPU-hours, ≈ the billed
GPU-hours; a run's partial last minute counts once), but only for the last `telemetry_days` days (default 7)
plus the days of the story's landmarks (the spike day and every idle stretch's days), ~200K rows for the
default 90-day demo. Older days rely on the billing's GPU-hours (cost_daily.gpu_hours). `net_samples` are
5-minutely for the same days; `inventory` has a snapshot per resource per telemetry day; `workload_metrics`
cover the whole window (they are small). The raw `gpu_samples` hold only the hours around each dcgm host's
last scrape, which goes the real path (telemetry_dcgm). Every table is written with keys
{`_day`, `_source`: "demo"}, so running the demo again replaces its own rows and nothing else.
Same seed and end date → identical rows.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from spendscope.demo.plan import Plan
from spendscope.demo.telemetry_dcgm import hour_samples, last_scrapes, write_and_parse
from spendscope.demo.telemetry_gpu import gpu_minutes
from spendscope.demo.telemetry_hosts import Degradation, degradation, segments, telemetry_days
from spendscope.demo.telemetry_inventory import inventory
from spendscope.demo.telemetry_net import net_samples
from spendscope.demo.telemetry_workload import workload_metrics

if TYPE_CHECKING:
    from exporters.warehouse import Warehouse
    from spendscope.config import Settings

log = logging.getLogger(__name__)

SOURCE = "demo"
DCGM_DIR = "telemetry/dcgm"


@dataclass
class TelemetryResult:
    """What the telemetry step wrote: rows per table, the days covered, the dcgm files, the episode."""

    days: list[dt.date]
    rows: dict[str, int] = field(default_factory=dict)
    gpus: int = 0
    dcgm_files: list[Path] = field(default_factory=list)
    degradation: Degradation | None = None

    def lines(self) -> list[str]:
        if not self.days:
            return ["telemetry: none (telemetry_days = 0)"]
        counts = ", ".join(f"{t} {n:,}" for t, n in self.rows.items())
        out = [
            f"telemetry: {len(self.days)} day(s) of per-minute GPU data ({self.days[0]} … {self.days[-1]}, "
            f"last days + spike + idle stretches), {self.gpus} GPU(s): {counts}",
        ]
        if self.dcgm_files:
            out.append(f"  dcgm-exporter last scrapes: {len(self.dcgm_files)} file(s) in {self.dcgm_files[0].parent}")
        if d := self.degradation:
            out.append(
                f"degradation: {d.workload} on {d.platform} ({d.key}) at {d.factor:.0%} throughput "
                f"{d.start:%Y-%m-%d %H:%M}–{d.end:%H:%M} UTC"
            )
        return out


def _write(wh: Warehouse, table: str, data: pa.Table, days: list[dt.date]) -> int:
    """Replace the demo's own rows of `table` on `days` with `data`."""
    return wh.replace(table, data, [{"_day": d, "_source": SOURCE} for d in days])


def write_telemetry(plan: Plan, settings: Settings, wh: Warehouse, out_dir: Path, recent: int = 7) -> TelemetryResult:
    """Generate and write the demo telemetry for `plan` (see module docstring); returns what was written."""
    from exporters.warehouse.gpu_rollup import refresh_hours

    days = telemetry_days(plan, recent)
    result = TelemetryResult(days)
    if not days:
        return result
    segs = segments(plan, set(days))
    episode = degradation(plan, set(days))
    result.degradation = episode
    minutes = gpu_minutes(segs, plan.seed, settings.telemetry, episode)
    result.gpus = len({(s.host, i) for s in segs for i in range(s.gpus)})
    # Hours holding a dcgm host's last scrape come from raw samples through the rollup SQL (the real path).
    last = last_scrapes(minutes)
    hours = {t.replace(minute=0, second=0, microsecond=0) for t in last.values()}
    samples, files = write_and_parse(hour_samples(minutes, hours), last, out_dir / DCGM_DIR)
    result.dcgm_files = files
    hour_us = pa.array([int(h.timestamp()) * 1_000_000 for h in hours], pa.int64())
    direct = minutes.filter(pc.invert(pc.is_in(minutes["hour"].cast(pa.int64()), hour_us)))
    result.rows["gpu_minutes"] = _write(wh, "gpu_minutes", direct, days)
    result.rows["gpu_samples"] = _write(wh, "gpu_samples", samples, days)
    result.rows["gpu_minutes"] += refresh_hours(wh, hours, settings.telemetry)
    result.rows["net_samples"] = _write(wh, "net_samples", net_samples(segs, plan.seed), days)
    result.rows["inventory"] = _write(wh, "inventory", inventory(plan, days), days)
    result.rows["workload_metrics"] = _write(wh, "workload_metrics", workload_metrics(plan, episode), plan.days)
    log.info("demo telemetry days:%s gpus:%s rows:%s", len(days), result.gpus, result.rows)
    return result
