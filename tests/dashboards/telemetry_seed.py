"""Synthetic fleet for the GPU and network page tests, written through the warehouse API, every figure by hand.

Reporting zone America/Los_Angeles (UTC−8 in November); everything lies on day D between 18:00 and 19:10 UTC
(10:00–11:10 Pacific). Inventory (observed D 17:00 UTC, `team` label as GCE labels / Databricks tags carry it):
  gce         a3-train-01   8 GPUs, $80/h, team ml-research
  gke         ml-gke-prod / h100-ondemand (nodes gke-ml-gke-prod-h100-ondemand-5e0a93f2-*), 8 GPUs, $40/h, ml-platform
  databricks  llm-finetune (hosts 0921-040211-llmft7a2-*), 8 GPUs, $64/h, ml-research
  gce         a3-mig-01     1 GPU, $14/h, team inference
  (mystery-01 is in no inventory item: platform `unknown`, team `(untagged)`.)
gpu_minutes from 18:00 UTC:
  a3-train-01  8 GPUs × 45 busy + 15 idle minutes (graphics-engine 0.75 / 0), plus 10 unmeasured minutes of one
               GPU → measured 8.0, busy 6.0, idle 2.0 GPU-h, utilization 0.5625; power 500 W busy / 100 W idle
               (mean 400); temperature 60 °C, 83 °C once; XID 79 at minutes 0 and 1, XID 48 at minute 5 (GPU 0)
  GKE node     8 GPUs × 15 busy + 45 idle → 8.0 / 2.0 / 6.0
  Databricks   8 GPUs × 60 idle → 8.0 / 0.0 / 8.0
  a3-mig-01    one 3g.40gb MIG instance (3/7 of a GPU) × 70 busy minutes → 0.5 / 0.5 / 0.0
  mystery-01   1 GPU × 30 busy minutes → 0.5 / 0.5 / 0.0
net_samples (one a minute, 18:00–18:59, the first of each series without rates), all eth0:
  a3-train-01  node_exporter: rx 1.25e9 B/s (10 Gbit/s), tx 0.25e9, link 25e9 B/s, saturation 0.05; the sample at
               minute 30 is a counter reset (rates null) → 58 rated minutes. A psutil series for the same
               interface (rx 9e9) must be ignored: node_exporter wins.
  GKE node     rx 21.875e9 (saturation 0.875) for minutes 1–29, 5e9 (0.2) for 30–59; tx 1e9; 0.5 rx errors/s
               for minutes 1–10 (300 errors)
  mystery-01   rx 1e6, tx 2e6, no link speed
The same fleet goes into a real BigQuery emulator (bigquery_fleet) for the engine comparisons.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
from pytest import approx

from exporters.warehouse.bigquery import BigQueryWarehouse
from exporters.warehouse.engine import Warehouse
from exporters.warehouse.schema import TABLES
from spendscope.config import Settings
from tests.bqemu import running_emulator
from tests.telemetry.helpers import minute_rows, write_minutes
from tests.warehouse.conftest import bq_settings

D = dt.date(2026, 11, 18)
TZ = "America/Los_Angeles"
START = dt.datetime.combine(D, dt.time(18), dt.UTC)
GKE_NODE = "gke-ml-gke-prod-h100-ondemand-5e0a93f2-ab12"
DBX_HOST = "0921-040211-llmft7a2-10-128-0-5"
GKE_POOL = "ml-gke-prod/h100-ondemand"  # the cluster name the pages show for the GKE pool


def _item(platform: str, kind: str, rid: str, name: str, cluster: str | None, hosts: list[str], gpus: int,
          price: float, team: str) -> dict[str, Any]:  # fmt: skip
    observed = START - dt.timedelta(hours=1)
    return {"observed_at": observed, "platform": platform, "kind": kind, "resource_id": rid, "resource_name": name,
            "cluster": cluster, "state": "RUNNING", "hosts": hosts, "gpu_count": gpus, "price_usd_per_hour": price,
            "labels": [{"key": "team", "value": team}], "_day": observed.date(), "_source": "test"}  # fmt: skip


def seed_inventory(wh: Warehouse) -> None:
    rows = [
        _item("gce", "instance", "111", "a3-train-01", None, ["a3-train-01"], 8, 80.0, "ml-research"),
        _item("gke", "node_pool", GKE_POOL, "h100-ondemand", "ml-gke-prod", [GKE_NODE[:-4] + "*"], 8, 40.0,
              "ml-platform"),
        _item("databricks", "cluster", "0921-040211-llmft7a2", "llm-finetune", "llm-finetune",
              ["0921-040211-llmft7a2-*"], 8, 64.0, "ml-research"),
        _item("gce", "instance", "222", "a3-mig-01", None, ["a3-mig-01"], 1, 14.0, "inference"),
    ]  # fmt: skip
    wh.append("inventory", pa.Table.from_pylist(rows, schema=TABLES["inventory"].schema))


def _a3_rows() -> list[dict[str, Any]]:
    rows = minute_rows("a3-train-01", 8, START, 60, True)
    for r in rows:
        i = int((r["minute"] - START).total_seconds() // 60)
        busy = i < 45
        r.update(busy=busy, gr_engine_active_ratio=0.75 if busy else 0.0, power_watts=500.0 if busy else 100.0,
                 gpu_temp_celsius_max=60.0, xid_last=0.0)  # fmt: skip
        if r["gpu_index"] == 0:
            r["xid_last"] = {0: 79.0, 1: 79.0, 5: 48.0}.get(i, 0.0)
            r["gpu_temp_celsius_max"] = 83.0 if i == 7 else 60.0
    return rows + minute_rows("a3-train-01", 1, START + dt.timedelta(minutes=60), 10, None)  # not measured


def seed_gpu(wh: Warehouse) -> None:
    rows = [
        *_a3_rows(),
        *minute_rows(GKE_NODE, 8, START, 15, True),
        *minute_rows(GKE_NODE, 8, START + dt.timedelta(minutes=15), 45, False),
        *minute_rows(DBX_HOST, 8, START, 60, False),
        *minute_rows("a3-mig-01", 1, START, 70, True, mig=("1", "3g.40gb")),
        *minute_rows("mystery-01", 1, START, 30, True),
    ]
    write_minutes(wh, rows)


def _net(host: str, source: str, i: int, rx: float | None, tx: float | None, speed: float | None,
         sat: float | None, errors: float = 0.0, reset: bool = False) -> dict[str, Any]:  # fmt: skip
    ts = START + dt.timedelta(minutes=i)
    first = i == 0
    return {"ts": ts, "host": host, "interface": "eth0", "source": source, "target": f"{source}://{host}",
            "rx_bytes_per_second": None if first else rx, "tx_bytes_per_second": None if first else tx,
            "rx_errors_per_second": None if first or rx is None else errors,
            "interval_seconds": None if first else 60.0, "counter_reset": reset, "speed_bytes_per_second": speed,
            "saturation_ratio": None if first else sat, "_day": ts.date(), "_source": "test"}  # fmt: skip


def seed_network(wh: Warehouse) -> None:
    rows = []
    for i in range(60):
        reset = i == 30
        rows.append(_net("a3-train-01", "node_exporter", i, None if reset else 1.25e9, None if reset else 0.25e9,
                         25e9, None if reset else 0.05, reset=reset))  # fmt: skip
        rows.append(_net("a3-train-01", "psutil", i, 9e9, 9e9, 25e9, 0.36))
        hot = i < 30
        rows.append(_net(GKE_NODE, "node_exporter", i, 21.875e9 if hot else 5e9, 1e9, 25e9, 0.875 if hot else 0.2,
                         errors=0.5 if 1 <= i <= 10 else 0.0))  # fmt: skip
        rows.append(_net("mystery-01", "node_exporter", i, 1e6, 2e6, None, None))
    wh.append("net_samples", pa.Table.from_pylist(rows, schema=TABLES["net_samples"].schema))


def seed_costs_for_filters(wh: Warehouse) -> None:
    """A cost row per team, so the sidebar offers the team and platform filters (they come from cost_daily)."""
    from tests.seed import seed_costs

    teams = (("ml-research", "Compute Engine"), ("ml-platform", "Kubernetes Engine"))
    rows = [{"BilledCost": 1.0, "ProviderName": "Google Cloud", "ServiceName": service, "ChargePeriodStart": START,
             "Tags": f'{{"team": "{team}"}}'} for team, service in teams]  # fmt: skip
    seed_costs(wh, rows)


def seed_fleet(wh: Warehouse, telemetry: Callable[[Warehouse], None], costs: bool = False) -> None:
    """The inventory and one page's telemetry (seed_gpu or seed_network); with `costs`, seed_costs_for_filters."""
    seed_inventory(wh)
    telemetry(wh)
    if costs:
        seed_costs_for_filters(wh)


@contextlib.contextmanager
def bigquery_fleet(tmp_path: Path, telemetry: Callable[[Warehouse], None]) -> Iterator[tuple[Warehouse, Settings]]:
    """The same fleet in a real `bqemulator` on loopback, through the real google-cloud-bigquery client."""
    with running_emulator() as emu:
        bq_s = bq_settings(tmp_path, emu, f"{telemetry.__name__}_{uuid.uuid4().hex[:10]}")
        bq = BigQueryWarehouse.from_settings(bq_s)
        try:
            bq.ensure()
            seed_fleet(bq, telemetry)
            yield bq, bq_s
        finally:
            bq.close()


def same(got: pa.Table, want: pa.Table) -> None:
    """Two engines' answers hold the same rows in the same order (floats to pytest's default tolerance)."""
    rows = want.to_pylist()
    assert rows and got.to_pylist() == [
        {k: approx(v) if isinstance(v, float) else v for k, v in r.items()} for r in rows
    ]
