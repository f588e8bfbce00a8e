"""The live estimate on the BigQuery engine: a real `bqemulator` on loopback, driven by the real
google-cloud-bigquery client, gives the estimate rows, cuts, reconciliation and `spend_live` the embedded engine
gives (synthetic rows, tests/live/seed.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from exporters.warehouse.bigquery import BigQueryWarehouse
from exporters.warehouse.duckdb import DuckDbLake
from exporters.warehouse.engine import Warehouse
from spendscope.config import Settings
from spendscope.live.job import backfill, run_once
from tests.bqemu import running_emulator
from tests.live.conftest import HOUR, MIN, T0
from tests.live.seed import cluster, gce, pool, seed_inventory, seed_prices
from tests.live.test_estimate import every
from tests.live.test_spend_live import A3_GLOBAL, DAY0
from tests.seed import seed_costs
from tests.warehouse.conftest import bq_settings

pytestmark = pytest.mark.integration

AT = T0 + 30 * MIN


@pytest.fixture(scope="module")
def bigquery(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BigQueryWarehouse]:
    with running_emulator() as emu:
        root = tmp_path_factory.mktemp("bq_live")
        wh = BigQueryWarehouse.from_settings(bq_settings(root, emu, f"live_{uuid.uuid4().hex[:8]}"))
        yield wh
        wh.close()


def seed_and_run(wh: Warehouse, settings: Settings) -> dict[str, list[dict[str, Any]]]:
    seed_prices(wh)
    seed_costs(wh, [
        {"BilledCost": 95.0, "ProviderName": "Google Cloud", "ServiceName": "Compute Engine", "ResourceId": A3_GLOBAL,
         "ResourceName": "a3-train-01", "Tags": '{"team": "ml"}', "ChargePeriodStart": DAY0 + HOUR * h}
        for h in range(13)
    ])  # fmt: skip
    times = every(5, DAY0 + 4 * HOUR, AT)
    seed_inventory(wh, [gce(t, "a3-train-01") for t in times] + [pool(t, "spot", 1 if t < T0 else 4) for t in times]
                   + [cluster(t, "0921-abc", 2) for t in times])  # fmt: skip
    backfill(wh, settings, DAY0.date(), DAY0.date(), AT)
    run_once(wh, settings, AT)
    order = "ORDER BY 1, 2, 3, 4"
    queries = {
        "estimates": "SELECT hour, platform, resource_id, component, ROUND(usd, 6) AS usd, "
        f"ROUND(projected_usd, 6) AS projected_usd, price_source FROM cost_estimates {order}",
        "spend_live": "SELECT hour, platform, basis, provider, ROUND(SUM(usd), 6) AS usd FROM spend_live "
        f"GROUP BY 1, 2, 3, 4 {order}",
        "errors": "SELECT hour, platform, level, resource_id, ROUND(billed_usd, 6) AS billed, "
        f"ROUND(estimated_raw_usd, 6) AS est FROM estimate_errors {order}",
        "cuts": "SELECT source, `partition`, watermark FROM ingest_state ORDER BY 1, 2",
    }
    return {name: wh.query(sql).to_pylist() for name, sql in queries.items()}


def test_bigquery_gives_what_the_embedded_engine_gives(
    bigquery: BigQueryWarehouse, settings: Settings, tmp_path: Path
) -> None:
    lake = DuckDbLake(tmp_path / "duck")

    on_bq = seed_and_run(bigquery, settings)
    on_duck = seed_and_run(lake, settings)

    assert on_duck["estimates"] and on_duck["errors"]
    assert {r["basis"] for r in on_duck["spend_live"]} == {"billed", "estimated"}
    for part in ("estimates", "spend_live", "errors", "cuts"):
        norm = [{k: (v.astimezone(dt.UTC) if isinstance(v, dt.datetime) else v) for k, v in r.items()} for r in
                on_bq[part]]  # fmt: skip
        duck = [{k: (v.astimezone(dt.UTC) if isinstance(v, dt.datetime) else v) for k, v in r.items()} for r in
                on_duck[part]]  # fmt: skip
        assert norm == duck, part
