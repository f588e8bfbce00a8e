"""Printing Arrow tables for people (aligned text) and for programs (CSV, JSON)."""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
import math
from typing import Any, TextIO

import pyarrow as pa
import pyarrow.csv as pacsv

MONEY_HINTS = ("cost", "savings", "usd", "amount", "price")


def _cell(name: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float | decimal.Decimal):
        v = float(value)
        if math.isnan(v):
            return "NaN"
        if any(h in name.lower() for h in MONEY_HINTS):
            return f"{v:,.2f}"
        return f"{v:.6g}"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, list | dict):
        return json.dumps(value, default=str)
    return str(value)


def write_table(table: pa.Table, out: TextIO, max_rows: int | None = 200) -> None:
    """Aligned text with a row count; numbers right-aligned, money to the cent."""
    names = table.column_names
    rows = table.slice(0, max_rows).to_pylist() if max_rows else table.to_pylist()
    cells = [[_cell(n, r[n]) for n in names] for r in rows]
    numeric = [
        pa.types.is_integer(f.type) or pa.types.is_floating(f.type) or pa.types.is_decimal(f.type) for f in table.schema
    ]
    widths = [max([len(n)] + [len(c[i]) for c in cells]) for i, n in enumerate(names)]

    def line(values: list[str]) -> str:
        return "  ".join(
            v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)
        ).rstrip()

    out.write(line(names) + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for c in cells:
        out.write(line(c) + "\n")
    shown = len(cells)
    more = f" (showing {shown}; use --format csv for all)" if shown < table.num_rows else ""
    out.write(f"({table.num_rows} row{'s' if table.num_rows != 1 else ''}){more}\n")


def write_csv(table: pa.Table, out: TextIO) -> None:
    buf = io.BytesIO()
    flat = pa.table({n: _jsonable_column(table.column(n)) for n in table.column_names})
    pacsv.write_csv(flat, buf)
    out.write(buf.getvalue().decode("utf-8"))


def _jsonable_column(col: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    """Nested columns become JSON text so CSV can hold them."""
    if pa.types.is_nested(col.type):
        return pa.array([None if v is None else json.dumps(v, default=str) for v in col.to_pylist()], pa.string())
    return col


def write_json(table: pa.Table, out: TextIO) -> None:
    json.dump(table.to_pylist(), out, default=_json_default, indent=1)
    out.write("\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return str(value)


WRITERS = {"table": write_table, "csv": write_csv, "json": write_json}
