"""The ingest runner: committed batches get their rollup rows and quarantined rows are kept, even on failure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import ClassVar

import pyarrow as pa
import pytest

from collectors.base import Batch, Collector, Item, Quarantined, RunContext
from spendscope import ingest
from spendscope.config import Settings
from spendscope.errors import SourceError

DAY = dt.date(2026, 11, 1)


def gcp_row(cost: float) -> dict[str, object]:
    start = dt.datetime(2026, 11, 1, 10, tzinfo=dt.UTC)
    return {
        "billing_account_id": "01338E-BE3FD6-363B4C",
        "service": {"id": "6F81-5844-456A", "description": "Compute Engine"},
        "sku": {"id": "E0B7-D3E7-C5F3", "description": "Nvidia H100 80GB GPU running in Americas"},
        "usage_start_time": start,
        "usage_end_time": start + dt.timedelta(hours=1),
        "cost": cost,
        "credits": [{"amount": -1.0, "type": "SUSTAINED_USAGE_DISCOUNT"}],
        "invoice": {"month": "202611"},
        "cost_type": "regular",
        "_day": DAY,
        "_source": "test",
    }


class HalfBroken(Collector):
    """Yields one good batch and a quarantined row, then its source fails."""

    name: ClassVar[str] = "half-broken"

    @classmethod
    def from_settings(cls, settings: Settings) -> Collector:
        return cls()

    def collect(self, ctx: RunContext) -> Iterator[Item]:
        yield Batch("gcp_billing_export", pa.Table.from_pylist([gcp_row(10.0)]), [{"_day": DAY}])
        yield Quarantined("gcp_billing_export", "export.jsonl", 7, "cost is not a number: 'abc'", '{"cost":"abc"}')
        raise SourceError("BigQuery went away")


def test_a_failing_run_keeps_what_it_committed_consistent(ctx: RunContext) -> None:
    with pytest.raises(SourceError):
        ingest.run(HalfBroken(), ctx)
    focus = ctx.warehouse.query("SELECT SUM(BilledCost) AS c FROM focus_costs").column("c")[0].as_py()
    assert focus == pytest.approx(9.0), "the committed batch shows in focus_costs"
    rolled = ctx.warehouse.query("SELECT SUM(billed_cost) AS c FROM cost_daily").column("c")[0].as_py()
    assert rolled == pytest.approx(9.0), "and its rollup rows were derived despite the failure"
    q = ctx.warehouse.query("SELECT file, line, reason FROM quarantine").to_pylist()
    assert q == [{"file": "export.jsonl", "line": 7, "reason": "cost is not a number: 'abc'"}]


def test_summary_lines_count_rows_and_quarantine(ctx: RunContext) -> None:
    class Good(HalfBroken):
        def collect(self, ctx: RunContext) -> Iterator[Item]:
            yield Batch("gcp_billing_export", pa.Table.from_pylist([gcp_row(1.0), gcp_row(2.0)]), [{"_day": DAY}])
            yield Quarantined("gcp_billing_export", "x.csv", 3, "bad date")

    summary = ingest.run(Good(), ctx)
    assert summary.total_rows == 2
    assert summary.derived_rows == 1, "two charges of one day and the same dimensions roll up into one row"
    rollup = ctx.warehouse.query("SELECT charges, billed_cost FROM cost_daily").to_pylist()
    assert rollup == [{"charges": 2, "billed_cost": pytest.approx(1.0)}]
    text = "\n".join(summary.lines())
    assert "gcp_billing_export: 2 row(s) in 1 partition(s)" in text and "cost_daily: 1 rollup row(s)" in text
    assert "quarantined: 1 row(s)" in text and "x.csv:3: bad date" in text


def _rollup(ctx: RunContext) -> list[dict[str, object]]:
    rows = ctx.warehouse.query(
        "SELECT day, account, service, team, ROUND(billed_cost, 9) AS b, charges, gpu_hours FROM cost_daily"
    ).to_pylist()
    return sorted(rows, key=repr)


class OneAccount(HalfBroken):
    """A clean batch of one billing account's day (the shape file ingest yields)."""

    def __init__(self, account: str, costs: list[float]) -> None:
        self.account, self.costs = account, costs

    def collect(self, ctx: RunContext) -> Iterator[Item]:
        rows = [{**gcp_row(c), "billing_account_id": self.account} for c in self.costs]
        yield Batch(
            "gcp_billing_export", pa.Table.from_pylist(rows), [{"billing_account_id": self.account, "_day": DAY}]
        )


def test_rebuilding_the_rollup_gives_what_ingest_derived(ctx: RunContext) -> None:
    from exporters.warehouse import derive

    ingest.run(OneAccount("A", [1.0, 2.0, 4.0]), ctx)
    derived = _rollup(ctx)
    derive.rebuild_all(ctx.warehouse, ctx.settings.reporting.timezone)
    assert derived == _rollup(ctx) and derived


def test_a_day_shared_with_another_account_is_rolled_up_whole(ctx: RunContext) -> None:
    ingest.run(OneAccount("A", [1.0]), ctx)
    ingest.run(OneAccount("B", [10.0, 20.0]), ctx)  # same day: B's batch must not drop A from the rollup
    by_account = {r["account"]: r["b"] for r in _rollup(ctx)}
    assert by_account == {"A": pytest.approx(0.0), "B": pytest.approx(28.0)}
    ingest.run(OneAccount("B", [5.0]), ctx)  # B re-exported: replaced, A untouched
    assert {r["account"]: r["b"] for r in _rollup(ctx)} == {"A": pytest.approx(0.0), "B": pytest.approx(4.0)}
