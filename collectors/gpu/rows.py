"""Column-wise gpu_samples rows (identity + one list of metric values per row) and their Arrow table.

The parsers fill plain Python lists (cheap per sample); the Arrow table is built once per scrape cycle,
one column at a time, so a 1,536-GPU cycle costs a few dozen `pa.array` calls rather than 40,000 dicts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from collectors.gpu.fields import COLUMNS, FILL, SUM, Field, Meta, gpu_meta, merge_meta
from exporters.warehouse.schema.telemetry import GPU_SAMPLES

Value = float | None


@dataclass
class GpuRows:
    """Rows keyed by GPU identity (and, for time series, timestamp); `values[i]` is row i's metric list."""

    metas: list[Meta] = field(default_factory=list)
    values: list[list[Value]] = field(default_factory=list)
    times: list[dt.datetime] = field(default_factory=list)  # only for rows with their own timestamp
    index: dict[tuple[object, ...], int] = field(default_factory=dict)

    def row(self, meta: Meta, ts: dt.datetime | None = None) -> list[Value]:
        """The value list of the row `meta` (at `ts`) names, created empty on first use."""
        key = meta.key() if ts is None else (ts, *meta.key())
        i = self.index.get(key)
        if i is None:
            i = self.index[key] = len(self.values)
            self.metas.append(meta)
            self.values.append([None] * len(COLUMNS))
            if ts is not None:
                self.times.append(ts)
        else:
            self.metas[i] = merge_meta(self.metas[i], meta)
        return self.values[i]

    def row_for_labels(self, labels: dict[str, str], default_host: str | None) -> list[Value] | None:
        meta = gpu_meta(labels, default_host)
        return None if meta is None else self.row(meta)

    def __len__(self) -> int:
        return len(self.values)


def combine(row: list[Value], col: int, v: float, mode: int) -> None:
    """Put `v` into a SUM or FILL column (SET is a plain assignment, inlined where speed matters)."""
    old = row[col]
    if mode == SUM:
        row[col] = v if old is None else old + v
    elif mode == FILL and old is None:
        row[col] = v


def store(row: list[Value], spec: Field, raw: float) -> None:
    """Scale a finite DCGM value to base units and put it into its column."""
    col, factor, divide, mode = spec
    v = raw / factor if divide else raw * factor
    if mode == 0:
        row[col] = v
    else:
        combine(row, col, v, mode)


def to_table(
    metas: Sequence[Meta],
    values: Sequence[Sequence[Value]],
    ts: dt.datetime | Sequence[dt.datetime],
    source: str,
    target: str | Sequence[str],
    provenance: str,
) -> pa.Table:
    """gpu_samples rows: `ts` and `target` are one value for all rows or one per row; `_day` is ts's UTC date."""
    n = len(values)
    ts_type = GPU_SAMPLES.field("ts").type
    if isinstance(ts, dt.datetime):
        ts_col = pa.repeat(pa.scalar(ts, ts_type), n)
        day_col = pa.repeat(pa.scalar(ts.astimezone(dt.UTC).date(), pa.date32()), n)
    else:
        ts_col = pa.array(ts, ts_type)
        day_col = pa.array([t.astimezone(dt.UTC).date() for t in ts], pa.date32())
    ident = list(zip(*metas, strict=True)) if n else [()] * len(Meta._fields)
    cols: dict[str, pa.Array] = {"ts": ts_col}
    for name, col in zip(Meta._fields, ident, strict=True):
        cols[name] = pa.array(col, GPU_SAMPLES.field(name).type)
    cols["source"] = pa.repeat(pa.scalar(source, pa.string()), n)
    cols["target"] = (
        pa.repeat(pa.scalar(target, pa.string()), n) if isinstance(target, str) else pa.array(target, pa.string())
    )
    metric_cols = list(zip(*values, strict=True)) if n else [()] * len(COLUMNS)
    for name, col in zip(COLUMNS, metric_cols, strict=True):
        cols[name] = pa.array(col, pa.float64())
    cols["_day"] = day_col
    cols["_source"] = pa.repeat(pa.scalar(provenance, pa.string()), n)
    return pa.Table.from_arrays([cols[f.name] for f in GPU_SAMPLES], schema=GPU_SAMPLES)
