"""The demo's story as a schedule: which resource runs when, day by day, steering spend toward the targets.

Spend moves from ~$62.5K/month almost all on GCP to ~$41.5K/month with ~60% on Databricks: a migration
phase `m` goes 0 → 1 between 30% and 70% of the window. Each day has fixed runs (always-on nodes, nightly
jobs, serving) and "flex" runs (GPU training blocks) sized by a small controller so cumulative spend
tracks cumulative target per side (GCP / Databricks). Where the story deliberately wastes money:

* Idle stretches (GPUs billing while idle, for the idle rules; listed in `Plan.idle`):
  - GCE `a3-train-02` left running from Friday 15:00 UTC to Monday 09:00 after a Friday experiment,
    on the first full weekend of the window while training is still on GCE (phase < 0.8);
  - Databricks all-purpose cluster `gpu-research-h100` (auto-termination off) up from Friday 15:00
    to Sunday 20:00 UTC on the last weekend ending 5+ days before `end` (once on Databricks, phase ≥ 0.5).
* The spike: GKE node pool `h100-spot` scales out 14 extra a3-highgpu-8g Spot nodes for 6 hours
  (13:00–19:00 UTC) on `Plan.spike.day` (9 days before `end`, or mid-window for short windows).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field

from spendscope.demo.fleet import LOCAL_SSD, NODES, Node
from spendscope.demo.workspace import DBU_PRICES, DBX, JOBS, JOBS_PRICE_AFTER

UTC = dt.UTC
MONTH_START, MONTH_END = 62_500.0, 41_500.0  # USD per 30 days
SHARE_START, SHARE_END = 0.02, 0.60  # Databricks share of spend
SPIKE_NODES, SPIKE_HOURS, SPIKE_HOUR = 14, 6, 13


@dataclass(frozen=True)
class Run:
    """`key` (a NODES or DBX key, or 'gke-fee') running `nodes` VMs from `start` for `seconds`."""

    key: str
    start: dt.datetime
    seconds: int
    nodes: int = 1
    first_node: int = 0

    @property
    def end(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self.seconds)


@dataclass(frozen=True)
class IdleStretch:
    """A resource billing while its GPUs do nothing (for telemetry and idle-rule demos)."""

    key: str
    platform: str
    start: dt.datetime
    end: dt.datetime
    note: str


@dataclass(frozen=True)
class Spike:
    day: dt.date
    start: dt.datetime
    hours: int
    nodes: int
    key: str = "gke-h100-spot"


@dataclass
class Plan:
    """Everything the row generators need: runs, daily egress, adjustments, price change, the story's marks."""

    days: list[dt.date]
    seed: int
    runs: list[Run] = field(default_factory=list)
    phase: dict[dt.date, float] = field(default_factory=dict)
    egress_gib: dict[dt.date, float] = field(default_factory=dict)
    adjustments: list[tuple[dt.date, float]] = field(default_factory=list)
    idle: list[IdleStretch] = field(default_factory=list)
    spike: Spike | None = None
    jobs_price_change: dt.datetime | None = None
    planned: dict[dt.date, tuple[float, float]] = field(default_factory=dict)  # (gcp, databricks) USD


def _at(day: dt.date, hour: float) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=UTC) + dt.timedelta(hours=hour)


def phase_of(i: int, n: int) -> float:
    """Migration progress for day index `i` of `n`: 0 before 30% of the window, 1 after 70%."""
    lo, hi = 0.3 * n, 0.7 * n
    return min(1.0, max(0.0, (i - lo) / max(hi - lo, 1.0)))


def dbu_price(sku: str, at: dt.datetime, change: dt.datetime | None) -> float:
    if sku == JOBS and change is not None and at >= change:
        return JOBS_PRICE_AFTER
    return DBU_PRICES[sku]


def node_hourly(node: Node) -> float:
    """Net USD per VM-hour: machine SKUs less the node's credit, plus its local SSD."""
    return node.net_hourly + node.machine.local_ssd_gib * GIB_HOUR_SSD


GIB_HOUR_SSD = LOCAL_SSD.price / 730  # USD per GiB-hour


def run_cost(run: Run, change: dt.datetime | None) -> float:
    """Net USD of a run (GCE VMs plus DBUs for a Databricks cluster; DBUs only for serverless)."""
    hours = run.seconds / 3600 * run.nodes
    if run.key == "gke-fee":
        return 0.10 * hours
    if run.key in NODES:
        return node_hourly(NODES[run.key]) * hours
    c = DBX[run.key]
    vm = node_hourly(c.node) if c.node else 0.0
    return (vm + c.dbu_per_node_hour * dbu_price(c.sku, run.start, change)) * hours


def make_plan(end: dt.date, days: int, seed: int) -> Plan:
    """Build the deterministic schedule for `days` days ending on `end` (inclusive)."""
    rng = random.Random(seed)
    all_days = [end - dt.timedelta(days=days - 1 - i) for i in range(days)]
    plan = Plan(all_days, seed)
    plan.jobs_price_change = _at(all_days[days // 2], 0)
    spike_day = end - dt.timedelta(days=min(9, days // 2))
    plan.spike = Spike(spike_day, _at(spike_day, SPIKE_HOUR), SPIKE_HOURS, SPIKE_NODES)
    gce_idle, dbx_idle = _idle_weekends(plan, all_days)
    cum = {"gcp": [0.0, 0.0], "dbx": [0.0, 0.0]}  # side → [target, actual]
    for i, day in enumerate(all_days):
        m = phase_of(i, days)
        plan.phase[day] = m
        weekday = day.weekday() < 5
        total = (MONTH_START * (1 - m) + MONTH_END * m) / 30 * (1.06 if weekday else 0.85)
        share = SHARE_START * (1 - m) + SHARE_END * m
        fixed_g = _fixed_gcp(plan, day, m, rng, gce_idle)
        fixed_d = _fixed_dbx(plan, day, m, rng, dbx_idle)
        flex_g = _flex_gcp(day, m, rng, gce_idle)
        flex_d = _flex_dbx(day, m, rng, dbx_idle)
        spent = []
        for side, target, fixed, slots in (
            ("gcp", total * (1 - share), fixed_g, flex_g),
            ("dbx", total * share, fixed_d, flex_d),
        ):
            fixed_cost = sum(run_cost(r, plan.jobs_price_change) for r in fixed)
            fixed_cost += _daily_extras(plan, day, m, rng) if side == "gcp" else 0.0
            t, a = cum[side]
            budget = target - fixed_cost + (t - a) / 4  # close a quarter of the running gap each day
            flex = _allocate(slots, budget, rng, plan.jobs_price_change)
            cost = fixed_cost + sum(run_cost(r, plan.jobs_price_change) for r in flex)
            cum[side] = [t + target, a + cost]
            plan.runs.extend(fixed + flex)
            spent.append(cost)
        plan.planned[day] = (spent[0], spent[1])
    eligible = [d for d in all_days if d <= end - dt.timedelta(days=7)]
    for d in sorted(rng.sample(eligible, min(3, len(eligible)))):
        plan.adjustments.append((d, -round(rng.uniform(20, 90), 2)))
    plan.runs.sort(key=lambda r: (r.start, r.key, r.first_node))
    return plan


def _idle_weekends(plan: Plan, days: list[dt.date]) -> tuple[dt.date | None, dt.date | None]:
    """Fridays whose weekend is an idle stretch: the first for GCE, the last for Databricks."""
    n = len(days)
    fridays = [i for i, d in enumerate(days) if d.weekday() == 4 and i + 3 < n]
    gce_i = next((i for i in fridays if phase_of(i + 3, n) < 0.8), None)
    # The Databricks weekend ends at least 5 days before `end`, so the days after can make up for it.
    dbx_i = next((i for i in reversed(fridays) if phase_of(i, n) >= 0.5 and i != gce_i and i + 7 < n), None)
    gce = days[gce_i] if gce_i is not None else None
    dbx = days[dbx_i] if dbx_i is not None else None
    if gce:
        plan.idle.append(
            IdleStretch(
                "a3-train-02",
                "gce",
                _at(gce, 15),
                _at(gce, 3 * 24 + 9),
                "GCE a3-highgpu-8g left running over the weekend after a Friday experiment",
            )
        )
    if dbx:
        plan.idle.append(
            IdleStretch(
                "gpu-research-h100",
                "databricks",
                _at(dbx, 15),
                _at(dbx, 2 * 24 + 20),
                "Databricks all-purpose H100 cluster, auto-termination off, idle all weekend",
            )
        )
    return gce, dbx


def _day_run(key: str, day: dt.date, hour: float, hours: float, nodes: int = 1, first: int = 0) -> Run:
    start = _at(day, hour)
    seconds = int(min(hours * 3600, (_at(day, 24) - start).total_seconds()))
    return Run(key, start, seconds, nodes, first)


def _fixed_gcp(plan: Plan, day: dt.date, m: float, rng: random.Random, idle: dt.date | None) -> list[Run]:
    runs = [_day_run(f"c4a-etl-{i}", day, 0, 24) for i in range(1, 5 if m < 0.5 else 3)]
    runs += [_day_run("gke-system", day, 0, 24), _day_run("gke-fee", day, 0, 24)]
    runs.append(_day_run("gke-a100", day, 0, 24, 2 if m < 0.5 else 1))
    spot_hours = rng.uniform(9, 10.5) * (1 - 0.5 * m)  # batch work moves to Databricks too
    runs.append(_day_run("gke-h100-spot", day, 12 + rng.randrange(60) / 60, spot_hours))
    if plan.spike and day == plan.spike.day:
        runs.append(_day_run("gke-h100-spot", day, SPIKE_HOUR, SPIKE_HOURS, SPIKE_NODES, first=1))
    if idle is not None:
        offset = (day - idle).days
        if offset == 0:
            runs.append(_day_run("a3-train-02", day, 15, 9))
        elif offset in (1, 2):
            runs.append(_day_run("a3-train-02", day, 0, 24))
        elif offset == 3:
            runs.append(_day_run("a3-train-02", day, 0, 9))
    return runs


def _fixed_dbx(plan: Plan, day: dt.date, m: float, rng: random.Random, idle: dt.date | None) -> list[Run]:
    runs: list[Run] = []
    weekday = day.weekday() < 5
    if weekday or m > 0.5:
        hours = (2 + 8 * m) if weekday else 2
        runs.append(_day_run("analytics-wh", day, 14 + rng.randrange(45) / 60, hours * rng.uniform(0.9, 1.0)))
    if m >= 0.25:
        runs.append(_day_run("embeddings-api", day, 0, 24))
    if m >= 0.45:
        runs.append(_day_run("llm-chat", day, 0, 24))
    if m >= 0.3:
        runs.append(_day_run("nightly-embeddings", day, 2 + rng.randrange(20) / 60, rng.uniform(3.5, 4.5), 4))
    if m >= 0.5:
        runs.append(_day_run("etl-daily", day, 5 + rng.randrange(30) / 60, rng.uniform(2.5, 3.5), 4))
    if idle is not None:
        offset = (day - idle).days
        if offset == 0:
            runs.append(_day_run("gpu-research-h100", day, 15, 9))
        elif offset == 1:
            runs.append(_day_run("gpu-research-h100", day, 0, 24))
        elif offset == 2:
            runs.append(_day_run("gpu-research-h100", day, 0, 20))
    return runs


# A flex slot: (key, day, start hour, max hours, nodes, index of its first node in the pool).
Slot = tuple[str, dt.date, float, float, int, int]


def _flex_gcp(day: dt.date, m: float, rng: random.Random, idle: dt.date | None) -> list[Slot]:
    slots: list[Slot] = []
    if m < 0.8:
        slots.append(("a3-train-01", day, 2 + rng.randrange(60) / 60, 13, 1, 0))
        busy = idle is not None and 0 <= (day - idle).days <= 3
        if not busy:
            slots.append(("a3-train-02", day, 15 + rng.randrange(60) / 60, 8, 1, 0))
    slots.append(("gke-h100-ondemand", day, 7 + rng.randrange(60) / 60, 12, 1, 0))
    if m >= 0.8:
        slots.append(("gke-h100-ondemand", day, 9 + rng.randrange(60) / 60, 8, 1, 1))
    return slots


def _flex_dbx(day: dt.date, m: float, rng: random.Random, idle: dt.date | None) -> list[Slot]:
    slots: list[Slot] = []
    if day.weekday() < 5 and not (idle is not None and 0 <= (day - idle).days <= 2):
        slots.append(("gpu-research-h100", day, 15 + rng.randrange(60) / 60, 8, 1, 0))
    if m >= 0.25:
        slots.append(("llm-finetune", day, rng.randrange(60) / 60, 14, 2 if m >= 0.6 else 1, 0))
    return slots


def _allocate(slots: list[Slot], budget: float, rng: random.Random, change: dt.datetime | None) -> list[Run]:
    """Size each slot's block to spend `budget` in all, every slot running a jittered share of its max."""
    if budget <= 0 or not slots:
        return []
    full = [_day_run(k, d, h, cap, n, first) for k, d, h, cap, n, first in slots]
    capacity = sum(run_cost(r, change) for r in full)
    f = min(1.0, budget / capacity)
    out = []
    for r in full:
        seconds = int(r.seconds * min(1.0, f * rng.uniform(0.85, 1.15)))
        if seconds >= 900:  # shorter blocks are not worth a VM boot; the controller carries the money
            out.append(Run(r.key, r.start, seconds, r.nodes, r.first_node))
    return out


def _daily_extras(plan: Plan, day: dt.date, m: float, rng: random.Random) -> float:
    """Storage and egress cost for `day` (rows are made in gcp.py); records the egress volume."""
    gib = round((140 + 120 * (1 - m)) * rng.uniform(0.8, 1.2), 3)
    plan.egress_gib[day] = gib
    disks = sum(NODES[k].disk_gib for k in disk_nodes(m))
    return gib * 0.12 + disks * 0.08 / 730 * 24


def disk_nodes(m: float) -> list[str]:
    """Nodes whose Hyperdisk volumes exist at phase `m` (GCE training disks are deleted after migrating)."""
    keys = [f"c4a-etl-{i}" for i in range(1, 5 if m < 0.5 else 3)]
    return (["a3-train-01", "a3-train-02"] if m < 0.8 else []) + keys


def diurnal(hour: int) -> float:
    """Serving load by UTC hour (mean 1.0 over a day): peaks in US afternoon."""
    return 1.0 + 0.45 * math.sin(2 * math.pi * (hour - 14) / 24)
