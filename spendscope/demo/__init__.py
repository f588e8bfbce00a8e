"""`spendscope demo`: a deterministic sample dataset in the real upstream formats, ingested like real data.

`run_demo` plans the fleet's spend (plan.py), writes a GCP billing export (NDJSON as `bq extract`
writes it) and Databricks `system.billing.usage` / `list_prices` exports (JSON lines) under
`<home>/demo/`, then ingests them through the `gcp-billing` and `databricks` collectors. Same seed
and end date → byte-identical files; running it again replaces the same partitions (no doubling).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from spendscope.clock import Clock, system_clock
from spendscope.demo.databricks import list_price_rows, usage_rows
from spendscope.demo.fleet import BILLING_ACCOUNT
from spendscope.demo.gcp import gcp_rows
from spendscope.demo.plan import IdleStretch, Plan, Spike, make_plan
from spendscope.demo.telemetry import TelemetryResult, write_telemetry
from spendscope.demo.workspace import DBX_ACCOUNT
from spendscope.demo.writer import bq_timestamp, spark_timestamp, write_jsonl
from spendscope.errors import InputError

if TYPE_CHECKING:
    from exporters.warehouse import Warehouse
    from spendscope.config import Settings
    from spendscope.ingest import IngestSummary

GCP_FILE = f"gcp/gcp_billing_export_resource_v1_{BILLING_ACCOUNT.replace('-', '_')}-000000000000.json"
USAGE_FILE = "databricks/system.billing.usage.json"
PRICES_FILE = "databricks/system.billing.list_prices.json"
MAX_DAYS = 400


@dataclass(frozen=True)
class DemoFile:
    """One written file: where, which upstream table, rows and bytes."""

    path: Path
    table: str
    rows: int
    bytes: int


@dataclass(frozen=True)
class PeriodTotal:
    """focus_costs spend of the demo accounts over a period (a month, or the first/last 30 days)."""

    label: str
    gcp: float
    databricks: float

    @property
    def total(self) -> float:
        return self.gcp + self.databricks


@dataclass
class DemoResult:
    """What `run_demo` did: files, ingest summaries, monthly totals and the story's landmarks."""

    start: dt.date
    end: dt.date
    seed: int
    out_dir: Path
    files: list[DemoFile]
    spike: Spike | None
    idle: list[IdleStretch]
    summaries: list[IngestSummary] = field(default_factory=list)
    months: list[PeriodTotal] = field(default_factory=list)
    windows: list[PeriodTotal] = field(default_factory=list)
    telemetry: TelemetryResult | None = None
    live: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [f"demo data {self.start} … {self.end} (seed {self.seed}) in {self.out_dir}"]
        for f in self.files:
            out.append(f"  {f.path.relative_to(self.out_dir)}: {f.rows} row(s), {f.bytes / 1e6:.1f} MB ({f.table})")
        for summary in self.summaries:
            out.extend(summary.lines())
        if self.months:
            out.append("monthly totals (USD, by usage month UTC; Databricks = DBUs + its GCE VMs):")
            out.append(f"  {'period':<14} {'total':>11} {'GCP':>11} {'Databricks':>11} {'share':>6}")
            for m in self.months + self.windows:
                share = m.databricks / m.total if m.total else 0.0
                out.append(f"  {m.label:<14} {m.total:>11,.2f} {m.gcp:>11,.2f} {m.databricks:>11,.2f} {share:>6.0%}")
        if self.spike:
            s = self.spike
            out.append(
                f"spike: {s.day} {s.start:%H:%M}–{s.start + dt.timedelta(hours=s.hours):%H:%M} UTC, "
                f"GKE pool h100-spot +{s.nodes} a3-highgpu-8g Spot nodes"
            )
        for i in self.idle:
            out.append(f"idle: {i.key} ({i.platform}) {i.start:%Y-%m-%d %H:%M} → {i.end:%Y-%m-%d %H:%M} UTC: {i.note}")
        if self.telemetry:
            out.extend(self.telemetry.lines())
        if self.live.get("cost_estimates"):
            out.append(
                f"live estimate: {self.live['cost_estimates']:,} hourly estimate row(s) of the last days, "
                f"{self.live['estimate_errors']:,} reconciliation row(s) (`spendscope live errors`)"
            )
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def default_end(clock: Clock = system_clock) -> dt.date:
    """Yesterday, UTC."""
    return clock().astimezone(dt.UTC).date() - dt.timedelta(days=1)


def write_files(plan: Plan, out_dir: Path) -> list[DemoFile]:
    """Write the three export files for `plan` under `out_dir`."""
    out = []
    for rel, table, rows, ts in (
        (GCP_FILE, "gcp_billing_export", gcp_rows(plan), bq_timestamp),
        (USAGE_FILE, "system.billing.usage", usage_rows(plan), spark_timestamp),
        (PRICES_FILE, "system.billing.list_prices", list_price_rows(plan), spark_timestamp),
    ):
        n, size = write_jsonl(out_dir / rel, rows, ts)
        out.append(DemoFile(out_dir / rel, table, n, size))
    return out


def run_demo(
    settings: Settings,
    days: int = 90,
    seed: int = 7,
    end: dt.date | None = None,
    out_dir: str | Path | None = None,
    warehouse: Warehouse | None = None,
    clock: Clock = system_clock,
    ingest: bool = True,
    telemetry_days: int = 7,
    live_days: int = 21,
) -> DemoResult:
    """Write the demo files (default under <home>/demo/) and ingest them through the real collectors.

    With `ingest`, also writes matching telemetry (demo/telemetry.py): per-minute GPU data for the last
    `telemetry_days` days plus the spike and idle-stretch days (0: no telemetry), and the live estimate of the
    last `live_days` days reconciled against the billing (demo/live.py; 0: none).
    """
    if not 1 <= days <= MAX_DAYS:
        raise InputError(f"--days must be between 1 and {MAX_DAYS}, not {days}")
    end = end or default_end(clock)
    plan = make_plan(end, days, seed)
    target = Path(out_dir) if out_dir is not None else Path(settings.home) / "demo"
    files = write_files(plan, target)
    result = DemoResult(plan.days[0], end, seed, target, files, plan.spike, plan.idle)
    if ingest:
        from exporters.warehouse import open_warehouse

        wh = warehouse or open_warehouse(settings)
        result.summaries = _ingest(settings, wh, clock, target)
        result.months, result.windows = totals(wh, plan.days[0], end)
        result.telemetry = write_telemetry(plan, settings, wh, target, telemetry_days)
        if live_days:
            from spendscope.demo.live import write_live

            result.live = write_live(plan, settings, wh, clock(), live_days)
    return result


def _ingest(settings: Settings, wh: Warehouse, clock: Clock, out_dir: Path) -> list[IngestSummary]:
    from collectors import load_all
    from collectors.base import RunContext
    from spendscope import ingest

    reg = load_all()
    ctx = RunContext(settings, wh, clock)
    return [
        ingest.run(reg.get("gcp-billing").from_settings(settings), ctx, [str(out_dir / GCP_FILE)]),
        ingest.run(
            reg.get("databricks").from_settings(settings), ctx, [str(out_dir / PRICES_FILE), str(out_dir / USAGE_FILE)]
        ),
    ]


DAILY_SQL = """
SELECT DATE(ChargePeriodStart) AS day,
       SUM(IF(x_Platform = 'databricks', 0, BilledCost)) AS gcp,
       SUM(IF(x_Platform = 'databricks', BilledCost, 0)) AS databricks
FROM focus_costs
WHERE ChargePeriodStart >= @start AND ChargePeriodStart < @until
  AND BillingAccountId IN (@gcp_account, @dbx_account)
GROUP BY day
ORDER BY day
"""


def totals(wh: Warehouse, start: dt.date, end: dt.date) -> tuple[list[PeriodTotal], list[PeriodTotal]]:
    """Demo-account spend from focus_costs: per usage month (UTC), and the first/last 30 days (60+ days)."""
    params = {
        "start": dt.datetime.combine(start, dt.time(), dt.UTC),
        "until": dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC),
        "gcp_account": BILLING_ACCOUNT,
        "dbx_account": DBX_ACCOUNT,
    }
    daily = [
        (r["day"], float(r["gcp"] or 0), float(r["databricks"] or 0)) for r in wh.query(DAILY_SQL, params).to_pylist()
    ]

    def total(label: str, days: list[tuple[dt.date, float, float]]) -> PeriodTotal:
        return PeriodTotal(label, sum(d[1] for d in days), sum(d[2] for d in days))

    months = sorted({d[0].strftime("%Y-%m") for d in daily})
    by_month = [total(m, [d for d in daily if d[0].strftime("%Y-%m") == m]) for m in months]
    windows = []
    if (end - start).days + 1 >= 60:
        last = end - dt.timedelta(days=29)
        windows = [
            total("first 30 days", [d for d in daily if d[0] < start + dt.timedelta(days=30)]),
            total("last 30 days", [d for d in daily if d[0] >= last]),
        ]
    return by_month, windows


__all__ = ["DemoFile", "DemoResult", "PeriodTotal", "default_end", "run_demo", "totals", "write_files"]
