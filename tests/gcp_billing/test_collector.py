"""The gcp-billing collector: registered by name, scheduled from its config, live pulls delegated."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator

import pytest

from collectors import registry
from collectors.base import Batch, Quarantined, RunContext
from collectors.gcp_billing.collector import GcpBillingCollector
from spendscope.config import Settings
from tests.gcp_billing.conftest import FIX


def test_the_collector_is_registered_as_gcp_billing() -> None:
    assert registry.get("gcp-billing") is GcpBillingCollector
    assert GcpBillingCollector.name == "gcp-billing"


def test_enabled_needs_the_flag_and_an_export_table() -> None:
    def settings(**cfg: object) -> Settings:
        return Settings.model_validate({"collectors": {"gcp_billing": cfg}})

    c = GcpBillingCollector.from_settings(settings())
    assert not c.enabled(settings())
    assert not c.enabled(settings(export_table="p.billing.gcp_billing_export_v1_01A2B3_C4D5E6_F7A8B9"))
    on = settings(enabled=True, export_table="p.billing.gcp_billing_export_v1_01A2B3_C4D5E6_F7A8B9",
                  interval_minutes=30)  # fmt: skip
    assert c.enabled(on)
    assert c.interval_minutes(on) == 30


def test_collect_delegates_to_the_bigquery_source_with_config_and_injected_client(
    ctx: RunContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The live pull lives in bigquery_source (another module); collect() must hand over cfg and client."""
    calls: list[tuple[object, ...]] = []
    item = Quarantined("gcp_billing_export", "bq", None, "sentinel")

    def collect_from_bigquery(ctx: RunContext, cfg: object, client: object | None = None) -> Iterator[object]:
        calls.append((ctx, cfg, client))
        yield item

    fake = types.ModuleType("collectors.gcp_billing.bigquery_source")
    fake.collect_from_bigquery = collect_from_bigquery  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "collectors.gcp_billing.bigquery_source", fake)
    client = object()
    c = GcpBillingCollector(ctx.settings.collectors.gcp_billing, client=client)
    assert list(c.collect(ctx)) == [item]
    assert calls == [(ctx, ctx.settings.collectors.gcp_billing, client)]


def test_collect_files_yields_one_batch_then_the_quarantined_rows(ctx: RunContext) -> None:
    items = list(GcpBillingCollector.from_settings(ctx.settings).collect_files(ctx, [str(FIX / "bad_values.ndjson")]))
    assert isinstance(items[0], Batch) and items[0].table == "gcp_billing_export"
    assert [type(i) for i in items[1:]] == [Quarantined] * 3
