"""Synthetic telemetry rows for the rollup and unit-economics tests, written straight to the warehouse.

Values are chosen to be exact in binary floating point (0.0625, 0.25, …) so means compare with ==.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from exporters.warehouse.engine import Warehouse
from exporters.warehouse.schema import TABLES

GIB = float(2**30)
H10 = dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)


def at(minute: int, second: int = 0, base: dt.datetime = H10) -> dt.datetime:
    return base + dt.timedelta(minutes=minute, seconds=second)


def sample(
    ts: dt.datetime, host: str = "node-a", uuid: str | None = "GPU-a", source: str = "dcgm", **m: Any
) -> dict[str, Any]:
    """One gpu_samples row; metrics not given stay null (not measured)."""
    return {"ts": ts, "host": host, "gpu_index": m.pop("gpu_index", 0), "gpu_uuid": uuid,
            "gpu_model": "NVIDIA H100 80GB HBM3", "source": source, "target": f"{source}://{host}",
            "_day": ts.date(), "_source": f"{source}:{host}", **m}  # fmt: skip


def samples_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=TABLES["gpu_samples"].schema)


def append_samples(wh: Warehouse, rows: list[dict[str, Any]]) -> None:
    wh.append("gpu_samples", samples_table(rows))


def minutes(wh: Warehouse, where: str = "TRUE") -> list[dict[str, Any]]:
    """gpu_minutes rows in a stable order, without provenance."""
    got = wh.query(f"SELECT * EXCEPT (_source) FROM gpu_minutes WHERE {where} "
                   "ORDER BY minute, host, gpu_uuid, mig_instance").to_pylist()  # fmt: skip
    return got


def minute_rows(
    host: str, gpus: int, start: dt.datetime, count: int, busy: bool | None, mig: tuple[str, str] | None = None
) -> list[dict[str, Any]]:
    """`count` gpu_minutes rows from `start` for each of `gpus` GPUs of `host`, all with one busy flag."""
    out = []
    for g in range(gpus):
        for i in range(count):
            minute = start + dt.timedelta(minutes=i)
            out.append({"minute": minute, "hour": minute.replace(minute=0), "host": host, "gpu_index": g,
                        "gpu_uuid": f"GPU-{host}-{g}", "mig_instance": mig[0] if mig else None,
                        "mig_profile": mig[1] if mig else None, "source": "dcgm", "samples": 2,
                        "busy": busy, "_day": minute.date(), "_source": "test"})  # fmt: skip
    return out


def write_minutes(wh: Warehouse, rows: list[dict[str, Any]]) -> None:
    wh.append("gpu_minutes", pa.Table.from_pylist(rows, schema=TABLES["gpu_minutes"].schema))
