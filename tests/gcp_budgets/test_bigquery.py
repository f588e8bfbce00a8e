"""The `gcp_budgets` snapshot on the BigQuery engine: the collector (real Budget client → the loopback stand-in, not
Google) writes it into a real BigQuery API emulator (`bqemulator`) and read_snapshot reads it back (its SQL names
the reserved words `rows` and `partition` quoted, as BigQuery needs)."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest

from collectors.base import RunContext
from collectors.gcp_budgets.collector import GcpBudgetsCollector
from collectors.gcp_budgets.sync import read_snapshot
from exporters.warehouse.bigquery import BigQueryWarehouse
from spendscope import ingest
from spendscope.clock import fixed_clock
from spendscope.config_budgets import GcpBudgetsConfig
from tests.bqemu import running_emulator
from tests.gcp_budgets import budget_api
from tests.gcp_budgets.budget_api import ACCOUNT
from tests.gcp_budgets.test_parse import parsed
from tests.warehouse.conftest import bq_settings

pytestmark = pytest.mark.integration


def test_the_snapshot_round_trips_through_bigquery(tmp_path: Path) -> None:
    with running_emulator() as emu, budget_api.serve() as api:
        settings = bq_settings(tmp_path, emu, f"budgets_{uuid.uuid4().hex[:10]}")
        wh = BigQueryWarehouse.from_settings(settings)
        try:
            at = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
            collector = GcpBudgetsCollector(GcpBudgetsConfig(billing_account=ACCOUNT), client=budget_api.client(api))
            ingest.run(collector, RunContext(settings, wh, clock=fixed_clock(at)))
            snap = read_snapshot(wh, ACCOUNT)
        finally:
            wh.close()
    assert snap.synced_at == at
    assert list(snap.budgets) == sorted(parsed().values(), key=lambda b: (b.display_name, b.name))
