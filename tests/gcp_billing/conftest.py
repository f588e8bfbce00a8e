"""Fixtures for the GCP billing file ingest: the collector, fixture paths, independently computed totals."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
from collections import defaultdict
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from collectors.base import RunContext
from collectors.gcp_billing import parse_parquet
from collectors.gcp_billing.collector import GcpBillingCollector

FIX = Path(__file__).parents[1] / "fixtures" / "gcp_billing"
EXPORT = FIX / "export.ndjson"


def load_make_parquet() -> ModuleType:
    """tests/fixtures/gcp_billing/make_parquet.py (a script beside the fixtures, not a package)."""
    spec = importlib.util.spec_from_file_location("gcp_make_parquet", FIX / "make_parquet.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


make_parquet = load_make_parquet()


def utc(text: str) -> dt.datetime:
    """A fixture timestamp, parsed here with plain datetime (independent of the code under test)."""
    return dt.datetime.fromisoformat(text.replace(" UTC", "+00:00").replace("Z", "+00:00")).astimezone(dt.UTC)


def expected_by_day(rows: list[dict[str, Any]], key: str = "usage_start_time") -> dict[dt.date, float]:
    """Σ cost + Σ credits.amount per UTC day of `key`, straight from the decoded JSON rows."""
    out: dict[dt.date, float] = defaultdict(float)
    for r in rows:
        credits = sum(float(c["amount"]) for c in r.get("credits") or [])
        out[utc(r[key]).date()] += float(r["cost"]) + credits
    return dict(out)


def billed_by_day(ctx: RunContext) -> dict[dt.date, float]:
    """Σ BilledCost per day from focus_costs (the derived FOCUS table the runner refreshes)."""
    t = ctx.warehouse.query(
        "SELECT _day, SUM(BilledCost) AS billed FROM focus_costs "
        "WHERE x_SourceTable = 'gcp_billing_export' GROUP BY _day"
    )
    return dict(zip(t.column("_day").to_pylist(), t.column("billed").to_pylist(), strict=True))


def raw_rows(ctx: RunContext, order: str = "usage_start_time, sku.id, cost") -> list[dict[str, Any]]:
    """Every gcp_billing_export row, ordered, without `_source` (which names the file)."""
    t = ctx.warehouse.query(f"SELECT * EXCEPT (_source) FROM gcp_billing_export ORDER BY {order}")
    return t.to_pylist()


def assert_close(got: dict[Any, float], want: dict[Any, float]) -> None:
    assert set(got) == set(want)
    for k in want:
        assert got[k] == pytest.approx(want[k], abs=1e-9), k


@pytest.fixture
def collector(ctx: RunContext) -> GcpBillingCollector:
    return GcpBillingCollector.from_settings(ctx.settings)


@pytest.fixture
def export_rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in EXPORT.read_text().splitlines() if line.strip()]


@pytest.fixture
def export_parquet(tmp_path: Path) -> Path:
    """The Parquet twin of export.ndjson, as `bq extract --destination_format PARQUET` writes it."""
    return make_parquet.write(tmp_path / "export.parquet")


@pytest.fixture(params=["text", "dictionaries"])
def parquet_read(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways a Parquet export's strings are read: as text (small row groups, as the fixtures have), and as
    dictionaries (row groups of DICTIONARY_MIN_ROWS rows or more; lowered here to the fixtures' size)."""
    if request.param == "dictionaries":
        monkeypatch.setattr(parse_parquet, "DICTIONARY_MIN_ROWS", 1)
    return str(request.param)
