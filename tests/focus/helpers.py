"""Test helpers: expected totals computed straight from a fixture, lake totals, Parquet flavours of a CSV."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from exporters.warehouse.engine import Warehouse
from tests.conftest import FIXTURES

FOCUS = FIXTURES / "focus"
FLAVOURS = [
    "aws_focus_1_0.csv",
    "azure_focus_1_0r2.csv",
    "oci_focus_1_0.csv",
    "gcp_focus_bigquery.csv",
    "focus_1_3.csv",
]


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def expected_daily(path: Path) -> dict[dt.date, Decimal]:
    """Σ BilledCost per UTC day of ChargePeriodStart, computed independently of the parser (fixtures are UTC)."""
    out: dict[dt.date, Decimal] = defaultdict(Decimal)
    for row in read_rows(path):
        out[dt.date.fromisoformat(row["ChargePeriodStart"][:10])] += Decimal(row["BilledCost"])
    return dict(out)


def costs_daily(wh: Warehouse, where: str = "TRUE") -> dict[dt.date, Decimal]:
    """Σ BilledCost per UTC day in focus_costs (rounded to 1e-9: money is stored as DOUBLE)."""
    rows = wh.query(
        f"SELECT DATE(ChargePeriodStart) AS d, SUM(BilledCost) AS c FROM focus_costs WHERE {where} GROUP BY 1"
    ).to_pylist()
    return {r["d"]: round(Decimal(r["c"]), 9) for r in rows}


def as_decimal(d: dict[dt.date, Decimal]) -> dict[dt.date, Decimal]:
    return {k: round(v, 9) for k, v in d.items()}


def _ts(text: str) -> dt.datetime | None:
    if not text:
        return None
    text = text.replace(" UTC", "Z").replace(" ", "T")
    if "." in text:  # Arrow/Python take at most microseconds
        head, _, frac = text.partition(".")
        text = head + "." + frac.rstrip("Z")[:6] + "Z"
    parsed = dt.datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def parquet_flavour(src: Path, out: Path, flavour: str) -> Path:
    """Write the rows of a CSV fixture as Parquet typed the way a provider's Parquet export types them.

    aws: double costs, naive millisecond timestamps (UTC), Tags as map<string,string>;
    gcp: BigQuery NUMERIC (decimal128(38, 9)), TIMESTAMP (us, UTC), Tags as ARRAY<STRUCT<key, value>>;
    text: every column a string (what generic CSV-to-Parquet tools write).
    """
    rows = read_rows(src)
    names = list(rows[0])
    money = {"BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "ListUnitPrice", "ContractedUnitPrice",
             "ConsumedQuantity", "PricingQuantity"}  # fmt: skip
    times = {"ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodStart", "BillingPeriodEnd"}
    cols: dict[str, pa.Array] = {}
    for name in names:
        values = [r[name] for r in rows]
        if flavour == "text":
            cols[name] = pa.array(values, pa.string())
        elif name in money:
            nums = [None if v == "" else Decimal(v) for v in values]
            if flavour == "gcp":
                cols[name] = pa.array(nums, pa.decimal128(38, 9))
            else:
                cols[name] = pa.array([None if v is None else float(v) for v in nums], pa.float64())
        elif name in times:
            stamps = [_ts(v) for v in values]
            if flavour == "aws":
                naive = [None if s is None else s.replace(tzinfo=None) for s in stamps]
                cols[name] = pa.array(naive, pa.timestamp("ms"))
            else:
                cols[name] = pa.array(stamps, pa.timestamp("us", tz="UTC"))
        elif name == "Tags":
            objs: list[Any] = [json.loads(v) if v.startswith("{") else None for v in values]
            if flavour == "aws":
                cols[name] = pa.array([None if o is None else list(o.items()) for o in objs],
                                      pa.map_(pa.string(), pa.string()))  # fmt: skip
            else:
                kv = pa.list_(pa.struct([("key", pa.string()), ("value", pa.string())]))
                cols[name] = pa.array(
                    [None if o is None else [{"key": k, "value": v} for k, v in o.items()] for o in objs], kv
                )
        else:
            cols[name] = pa.array([v or None for v in values], pa.string())
    pq.write_table(pa.table(cols), out)
    return out
