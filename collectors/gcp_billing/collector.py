"""The `gcp-billing` collector: the live BigQuery export (bigquery_source) or exported files (from_files)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from collectors import registry
from collectors.base import Collector, Item, RunContext
from collectors.gcp_billing.from_files import collect_files

if TYPE_CHECKING:
    from spendscope.config import GcpBillingConfig, Settings


@registry.register("gcp-billing")
class GcpBillingCollector(Collector):
    """GCP Cloud Billing export: pulled from BigQuery on a schedule, or ingested from extracted files."""

    name = "gcp-billing"
    section = "gcp_billing"

    def __init__(self, cfg: GcpBillingConfig, client: object | None = None) -> None:
        self.cfg = cfg
        self.client = client  # a google.cloud.bigquery.Client; None builds one lazily from cfg

    @classmethod
    def from_settings(cls, settings: Settings) -> GcpBillingCollector:
        return cls(settings.collectors.gcp_billing)

    def enabled(self, settings: Settings) -> bool:
        cfg = settings.collectors.gcp_billing
        return cfg.enabled and bool(cfg.export_table)

    def collect(self, ctx: RunContext) -> Iterator[Item]:
        # Imported here so file ingest works without the BigQuery client installed or configured.
        from collectors.gcp_billing.bigquery_source import collect_from_bigquery

        yield from collect_from_bigquery(ctx, self.cfg, self.client)

    def collect_files(self, ctx: RunContext, paths: Sequence[str]) -> Iterator[Item]:
        """Ingest export files (NDJSON/JSON, CSV, Parquet); `ctx.options["replace_by"]` picks the day key."""
        yield from collect_files(paths, str(ctx.options.get("replace_by") or "auto"))
