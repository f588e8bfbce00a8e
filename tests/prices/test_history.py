"""Pure versioning rules of the `prices` history: what a sync closes, adds and refuses to overwrite."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from collectors.prices.history import check_append_only, plan_sync
from collectors.prices.rows import price_row

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)


def row(sku: str, price: float, start: dt.datetime = T0, end: dt.datetime | None = None, **kw: Any) -> dict[str, Any]:
    values = {"provider": "gcp", "service_id": "6F81-5844-456A", "sku_id": sku, "description": sku,
              "region": "us-central1", "usage_type": "OnDemand", "unit": "h", "currency": "USD",
              "list_usd_per_unit": price, "usd_per_unit": price, "discount_pct": 0.0, "source": "catalog",
              "valid_from": start, "valid_to": end, **kw}  # fmt: skip
    return price_row(**values)


def test_an_unchanged_price_plans_no_write() -> None:
    plan = plan_sync([row("A", 1.0)], [row("A", 1.0, start=NOW)], NOW)
    assert (plan.rows, plan.keys, plan.added, plan.closed, plan.unchanged) == ([], [], [], [], 1)


def test_a_change_rewrites_only_the_partitions_it_touches() -> None:
    other_day = row("B", 2.0, start=T0 - dt.timedelta(days=3))
    stored = [row("A", 1.0), row("C", 3.0), other_day]

    plan = plan_sync(stored, [row("A", 1.5, start=NOW - dt.timedelta(hours=5)), row("B", 2.0), row("C", 3.0)], NOW)

    assert plan.keys == [{"provider": "gcp", "_day": T0.date()}, {"provider": "gcp", "_day": NOW.date()}]
    assert [(r["sku_id"], r["valid_from"], r["valid_to"]) for r in plan.rows] == [
        ("A", T0, NOW - dt.timedelta(hours=5)),  # closed where the new price took effect
        ("C", T0, None),  # carried over: same partition, untouched
        ("A", NOW - dt.timedelta(hours=5), None),
    ]
    assert other_day not in plan.rows and plan.unchanged == 2


def test_a_series_gone_from_a_synced_scope_is_closed_but_an_empty_scope_closes_nothing() -> None:
    stored = [row("A", 1.0), row("B", 2.0), row("D", 0.5, provider="databricks", service_id="GCP")]

    plan = plan_sync(stored, [row("A", 1.0)], NOW)
    assert [(r["sku_id"], r["valid_to"]) for r in plan.closed] == [("B", NOW)]  # databricks observed nothing

    assert plan_sync(stored, [], NOW).keys == []


def test_a_series_that_returns_starts_after_its_last_version_ended() -> None:
    stored = [row("A", 1.0, end=T0 + dt.timedelta(days=10))]
    plan = plan_sync(stored, [row("A", 1.2, start=T0 + dt.timedelta(days=2))], NOW)
    assert [(r["valid_from"], r["valid_to"]) for r in plan.added] == [(T0 + dt.timedelta(days=10), None)]
    assert plan.closed == []


def test_the_guard_refuses_anything_but_closing_a_row() -> None:
    old = row("A", 1.0)
    check_append_only([old], [{**old, "valid_to": NOW}])  # closing: allowed
    with pytest.raises(RuntimeError, match="overwrite"):
        check_append_only([old], [{**old, "usd_per_unit": 2.0}])
    with pytest.raises(RuntimeError, match="lose a row"):
        check_append_only([old], [])
    closed = {**old, "valid_to": NOW}
    with pytest.raises(RuntimeError, match="reopen"):
        check_append_only([closed], [old])
    with pytest.raises(RuntimeError, match="before it starts"):
        check_append_only([old], [{**old, "valid_to": T0}])
