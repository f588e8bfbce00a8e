"""`spendscope focus export`: `focus_costs` as a FOCUS 1.2 file (Parquet or CSV) any FinOps tool can read.

The file has all 57 FOCUS 1.2 columns in spec order, typed per FOCUS_12_COLUMNS (the ones we do not
derive are null), then our x_ columns. It is read one calendar month at a time and written batch by
batch, so memory stays bounded by a month of rows; the file appears whole (written aside, then renamed).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from exporters.warehouse.engine import Warehouse
from exporters.warehouse.schema.focus import FOCUS_12_COLUMNS, FOCUS_COSTS_COLUMNS, X_COLUMNS
from exporters.warehouse.schema.types import TS
from spendscope.errors import InputError

EXPORT_X_COLUMNS = (
    "x_Team", "x_Env", "x_Workload", "x_Project", "x_Platform", "x_GpuCount", "x_GpuModel", "x_IsSpot",
)  # fmt: skip
EXPORT_SCHEMA = pa.schema(
    [pa.field(n, t) for n, (t, _) in FOCUS_12_COLUMNS.items()] + [pa.field(n, X_COLUMNS[n]) for n in EXPORT_X_COLUMNS]
)
_BQ_TYPES = {pa.string(): "STRING", pa.float64(): "FLOAT64", TS: "TIMESTAMP", pa.bool_(): "BOOL"}


def export_sql() -> str:
    """BigQuery SQL selecting the export columns from focus_costs for [@start, @end)."""
    have = set(FOCUS_COSTS_COLUMNS) | set(EXPORT_X_COLUMNS)
    cols = [n if n in have else f"CAST(NULL AS {_BQ_TYPES[f.type]}) AS {n}" for n, f in zip(
        EXPORT_SCHEMA.names, EXPORT_SCHEMA, strict=True)]  # fmt: skip
    return (
        "SELECT " + ",\n  ".join(cols) + "\nFROM focus_costs\n"
        "WHERE ChargePeriodStart >= @start AND ChargePeriodStart < @end\n"
        "ORDER BY ChargePeriodStart, ProviderName, ServiceName, ResourceId"
    )


def export_focus(
    warehouse: Warehouse,
    out_path: str | os.PathLike[str],
    fmt: Literal["parquet", "csv"] = "parquet",
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> int:
    """Write focus_costs rows with ChargePeriodStart in [since, until] (UTC days, inclusive); returns rows."""
    if fmt not in ("parquet", "csv"):
        raise InputError(f"unknown export format {fmt!r}; valid: csv, parquet")
    out = Path(out_path)
    tmp = out.with_name(f".{out.name}.tmp")
    out.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    try:
        if fmt == "parquet":
            with pq.ParquetWriter(tmp, EXPORT_SCHEMA, compression="zstd") as pw:
                for table in _months(warehouse, since, until):
                    pw.write_table(table)
                    written += table.num_rows
        else:
            with pcsv.CSVWriter(tmp, _csv_schema()) as cw:
                for table in _months(warehouse, since, until):
                    cw.write_table(_csv_table(table))
                    written += table.num_rows
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return written


def _months(wh: Warehouse, since: dt.date | None, until: dt.date | None) -> Iterator[pa.Table]:
    """Export rows one calendar month of ChargePeriodStart at a time, oldest first."""
    lo = _midnight(since) if since else None
    hi = _midnight(until + dt.timedelta(days=1)) if until else None
    where = " AND ".join([*(["ChargePeriodStart >= @lo"] if lo else []), *(["ChargePeriodStart < @hi"] if hi else [])])
    bounds = wh.query(
        "SELECT MIN(ChargePeriodStart) AS a, MAX(ChargePeriodStart) AS b FROM focus_costs"
        + (f" WHERE {where}" if where else ""),
        {"lo": lo, "hi": hi},
    ).to_pylist()[0]
    if bounds["a"] is None:
        return
    start = dt.datetime(bounds["a"].year, bounds["a"].month, 1, tzinfo=dt.UTC)
    sql = export_sql()
    while start <= bounds["b"]:
        end = dt.datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=dt.UTC)
        window_lo = max(start, lo) if lo else start
        window_hi = min(end, hi) if hi else end
        table = wh.query(sql, {"start": window_lo, "end": window_hi})
        if table.num_rows:
            yield table.cast(EXPORT_SCHEMA)
        start = end


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _csv_schema() -> pa.Schema:
    return pa.schema([pa.field(f.name, pa.string() if f.type == TS else f.type) for f in EXPORT_SCHEMA])


def _csv_table(table: pa.Table) -> pa.Table:
    """Timestamps as ISO 8601 UTC text ending in Z (whole seconds when the values allow)."""
    cols = []
    for f in EXPORT_SCHEMA:
        col = table.column(f.name)
        if f.type == TS:
            try:
                col = pc.strftime(col.cast(pa.timestamp("s", tz="UTC")), format="%Y-%m-%dT%H:%M:%SZ")
            except pa.ArrowInvalid:  # sub-second values: keep the microseconds
                col = pc.strftime(col, format="%Y-%m-%dT%H:%M:%SZ")
        cols.append(col)
    return pa.Table.from_arrays(cols, schema=_csv_schema())
