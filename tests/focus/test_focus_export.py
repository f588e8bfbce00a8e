"""`spendscope focus export`: 57 FOCUS 1.2 columns in spec order plus our x_ columns, and a round trip."""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from collectors.base import RunContext
from collectors.focus.collector import FocusCollector
from exporters.focus_export import EXPORT_SCHEMA, export_focus
from exporters.warehouse.duckdb import DuckDbLake
from exporters.warehouse.schema.focus import FOCUS_12_COLUMNS
from spendscope.errors import InputError
from spendscope.ingest import run
from tests.focus.helpers import FLAVOURS, FOCUS

X_EXPORTED = ["x_Team", "x_Env", "x_Workload", "x_Project", "x_Platform", "x_GpuCount", "x_GpuModel", "x_IsSpot"]


@pytest.fixture
def loaded(ctx: RunContext) -> RunContext:
    run(FocusCollector(), ctx, [str(FOCUS / name) for name in FLAVOURS])
    return ctx


def _per_provider_day(wh: DuckDbLake) -> dict[tuple[str, dt.date], float]:
    rows = wh.query(
        "SELECT ProviderName AS p, DATE(ChargePeriodStart) AS d, ROUND(SUM(BilledCost), 9) AS c"
        " FROM focus_costs GROUP BY 1, 2"
    ).to_pylist()
    return {(r["p"], r["d"]): r["c"] for r in rows}


def test_parquet_export_has_the_57_columns_then_x_columns_in_order_and_types(
    loaded: RunContext, tmp_path: Path
) -> None:
    out = tmp_path / "focus.parquet"
    n = export_focus(loaded.warehouse, out, "parquet")
    schema = pq.read_schema(out)
    assert len(FOCUS_12_COLUMNS) == 57
    assert schema.names == [*FOCUS_12_COLUMNS, *X_EXPORTED]
    assert [schema.field(c).type for c in FOCUS_12_COLUMNS] == [t for t, _ in FOCUS_12_COLUMNS.values()]
    assert schema.field("x_IsSpot").type == pa.bool_()
    table = pq.read_table(out)
    assert n == table.num_rows == 16
    assert table.column("CapacityReservationId").null_count == n  # not derived: typed nulls


def test_csv_export_has_the_same_header_and_z_timestamps(loaded: RunContext, tmp_path: Path) -> None:
    out = tmp_path / "focus.csv"
    n = export_focus(loaded.warehouse, out, "csv")
    with open(out, newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
    assert reader.fieldnames == [*FOCUS_12_COLUMNS, *X_EXPORTED] == EXPORT_SCHEMA.names
    assert len(rows) == n == 16
    iso_z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z$")
    for row in rows:
        for col in ("ChargePeriodStart", "ChargePeriodEnd"):
            assert iso_z.match(row[col]), row[col]
    assert {r["ChargePeriodStart"] for r in rows} >= {"2025-01-01T00:00:00Z", "2025-01-07T00:00:00Z"}


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_round_trip_export_then_collect_gives_same_totals_per_provider_and_day(
    loaded: RunContext, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / f"focus.{fmt}"
    export_focus(loaded.warehouse, out, fmt)  # type: ignore[arg-type]
    fresh = DuckDbLake(tmp_path / "fresh")
    ctx2 = RunContext(settings=loaded.settings, warehouse=fresh, clock=loaded.clock)
    summary = run(FocusCollector(), ctx2, [str(out)])
    assert not summary.quarantined
    before = _per_provider_day(loaded.warehouse)
    assert _per_provider_day(fresh) == before
    assert len(before) == 10
    teams = fresh.query("SELECT x_Team, COUNT(*) AS n FROM focus_costs GROUP BY 1").to_pylist()
    teams_before = loaded.warehouse.query("SELECT x_Team, COUNT(*) AS n FROM focus_costs GROUP BY 1").to_pylist()
    assert sorted(teams, key=str) == sorted(teams_before, key=str)


def test_since_until_filter_on_charge_period_start_inclusive_days(loaded: RunContext, tmp_path: Path) -> None:
    out = tmp_path / "jan3-5.parquet"
    n = export_focus(loaded.warehouse, out, "parquet", since=dt.date(2025, 1, 3), until=dt.date(2025, 1, 5))
    days = {ts.date() for ts in pq.read_table(out).column("ChargePeriodStart").to_pylist()}
    assert days == {dt.date(2025, 1, 3), dt.date(2025, 1, 4), dt.date(2025, 1, 5)}
    assert n == 5  # Azure 3 rows, OCI 2 rows on the 5th


def test_export_of_an_empty_lake_writes_a_header_only_file(ctx: RunContext, tmp_path: Path) -> None:
    out = tmp_path / "empty.csv"
    assert export_focus(ctx.warehouse, out, "csv") == 0
    assert out.read_text().splitlines() == [",".join(f'"{c}"' for c in EXPORT_SCHEMA.names)]


def test_unknown_format_is_an_input_error(ctx: RunContext, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="json"):
        export_focus(ctx.warehouse, tmp_path / "x.json", "json")  # type: ignore[arg-type]
