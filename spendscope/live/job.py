"""The live-estimate job: every `[live] interval_minutes`, price what runs and refresh `spend_live`.

One run (as of `at`): re-estimate the previous and the current UTC hour from the inventory snapshots and
replace exactly those hours' `cost_estimates` rows (so a run repeated gives the same rows, and the previous
hour is finished by the first run after it ends); recompute the billing cuts `spend_live` reads. Once per
hour (and on the first run) it also reconciles the newly complete hours with the bill and relearns what the
estimate takes from billing (correction factors, DBU rates and SKUs). `backfill` replays whole days the same
way, each day priced with what was learned before it (the demo, or after an outage).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from exporters.warehouse.schema.live import COST_ESTIMATES
from spendscope.live import complete, inputs
from spendscope.live.carry import Carried, carried_rows, load_carried, unlisted
from spendscope.live.estimate import HOUR, estimate, floor_hour
from spendscope.live.factors import Factor, factors, values
from spendscope.live.pricing import DbuRate, Pricer
from spendscope.live.reconcile import reconcile
from spendscope.pricing import PriceBook

if TYPE_CHECKING:
    from exporters.warehouse.engine import Warehouse
    from spendscope.clock import Clock
    from spendscope.config import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Learned:
    """What the estimate takes from billing, as of one moment."""

    at: dt.datetime
    factors: dict[str, Factor]
    dbu_rates: dict[str, DbuRate]
    skus: dict[str, str]
    carried: list[Carried] = field(default_factory=list)


@dataclass
class LiveRun:
    """What one run did."""

    at: dt.datetime
    hours: list[dt.datetime]
    rows: list[dict[str, Any]]
    cuts: list[complete.Cut]
    reconciled: int
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def running_usd_per_hour(self) -> float:
        """The corrected run-rate of everything running at `at`."""
        now = self.hours[-1]
        running = [r for r in self.rows if r["hour"] == now and r["running"]]
        return sum(float(r["usd_per_hour"] or 0) * float(r["correction"] or 1) for r in running)

    @property
    def unpriced(self) -> list[str]:
        return sorted({str(r["resource_name"] or r["resource_id"]) for r in self.rows if r["usd_raw"] is None})


def learn(wh: Warehouse, settings: Settings, at: dt.datetime, cuts: Sequence[complete.Cut] | None = None) -> Learned:
    """Correction factors, DBU rates, cluster SKUs and the spend to carry, as billing teaches them at `at`
    (`cuts`: the platforms' cuts at `at` when the caller has them, else computed)."""
    cfg = settings.live
    found = complete.compute_cuts(wh, cfg, at)[1] if cuts is None else cuts
    until = {c.platform: c.complete_until for c in found}
    return Learned(at, factors(wh, cfg, at), inputs.learned_dbu_rates(wh, at, cfg.learn_days),
                   inputs.observed_skus(wh, at, cfg.learn_days), load_carried(wh, until))  # fmt: skip


def default_region(settings: Settings) -> str:
    """Where Databricks VMs run when their zone does not say: `[live] databricks_region`, else prices.regions[0]."""
    return settings.live.databricks_region or (settings.prices.regions or ["us-central1"])[0]


def estimate_hours(
    wh: Warehouse,
    settings: Settings,
    hours: list[dt.datetime],
    at: dt.datetime,
    learned: Learned,
    snaps: Sequence[Mapping[str, Any]] | None = None,
    source: str = "live",
) -> list[dict[str, Any]]:
    """cost_estimates rows for `hours` as known at `at`, from the inventory (or the `snaps` given); writes nothing."""
    cfg = settings.live
    times = None
    if snaps is None:
        snaps, times = inputs.snapshots(wh, min(hours) - cfg.stale_after, at, cfg.stale_after)
    pricer = Pricer(PriceBook.load(wh, at), cfg, default_region(settings), learned.dbu_rates, learned.skus)
    found = values(learned.factors)
    rows = estimate(snaps, pricer, hours, at, cfg.stale_after, found, at, source, times)
    return rows + carried_rows(unlisted(learned.carried, snaps), hours, at, found, at, source)


def write_estimates(wh: Warehouse, rows: list[dict[str, Any]], hours: list[dt.datetime]) -> int:
    """Replace exactly `hours` in cost_estimates with `rows`."""
    keys = [{"_day": h.date(), "hour": h} for h in hours]
    return wh.replace("cost_estimates", pa.Table.from_pylist(rows, schema=COST_ESTIMATES), keys)


class LiveJob:
    """The daemon job (callable → rows written); keeps what it learned for the hour and the last cuts written."""

    def __init__(self, settings: Settings, wh: Warehouse, clock: Clock) -> None:
        self.settings, self.wh, self.clock = settings, wh, clock
        self.learned: Learned | None = None
        self.cuts: list[complete.Cut] | None = None

    def __call__(self) -> int:
        return len(self.run(self.clock()).rows)

    def run(self, at: dt.datetime) -> LiveRun:
        """One run as of `at` (see the module docstring)."""
        cfg, wh, t0 = self.settings.live, self.wh, time.perf_counter()
        hour = floor_hour(at)
        hours = [hour - HOUR, hour]
        seconds: dict[str, float] = {}
        reconciled = 0
        if self.learned is None or floor_hour(self.learned.at) != hour:
            cuts_now = complete.compute_cuts(wh, cfg, at)[1]  # one read for both: reconcile then learn
            reconciled = reconcile(wh, cuts_now, at)
            self.learned = learn(wh, self.settings, at, cuts_now)
            seconds["learn"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        rows = estimate_hours(wh, self.settings, hours, at, self.learned)
        seconds["estimate"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        write_estimates(wh, rows, hours)
        seconds["write"] = time.perf_counter() - t2
        t3 = time.perf_counter()
        found, cuts = complete.compute_cuts(wh, cfg, at)
        if cuts != self.cuts:
            complete.write_cuts(wh, found, cuts, at)
            self.cuts = cuts
        seconds["spend_live"] = time.perf_counter() - t3
        run = LiveRun(at, hours, rows, cuts, reconciled, seconds)
        log.info("live at:%s rows:%s running_usd_per_hour:%.2f unpriced:%s seconds:%.3f", at.isoformat(), len(rows),
                 run.running_usd_per_hour, len(run.unpriced), time.perf_counter() - t0)  # fmt: skip
        return run


def run_once(wh: Warehouse, settings: Settings, at: dt.datetime) -> LiveRun:
    """A cold run (the CLI): learn, estimate, record the cuts, reconcile."""
    return LiveJob(settings, wh, lambda: at).run(at)


def backfill(wh: Warehouse, settings: Settings, first: dt.date, last: dt.date, now: dt.datetime) -> int:
    """Estimate every hour of UTC days first..last as final (each day with what was learned before it), reconciling
    each day once billing covers it; returns estimate rows written."""
    written = 0
    day = first
    while day <= last:
        start = dt.datetime.combine(day, dt.time(), dt.UTC)
        end = min(start + dt.timedelta(days=1), now)
        hours = [start + HOUR * i for i in range(math.ceil((end - start) / HOUR))]  # the last one may be under way
        if hours:
            learned = learn(wh, settings, start)
            rows = estimate_hours(wh, settings, hours, end, learned)
            written += write_estimates(wh, rows, hours)
            found, cuts = complete.compute_cuts(wh, settings.live, now)
            complete.write_cuts(wh, found, cuts, now)
            reconcile(wh, cuts, now, since=start, until=end)
        day += dt.timedelta(days=1)
    return written
