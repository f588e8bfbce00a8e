"""`spendscope prices sync`: Catalog SKUs + DBU rates → discounts → merged into the `prices` history, one write."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pa

from collectors.prices import catalog, databricks
from collectors.prices.history import plan_sync
from collectors.prices.rows import Row, with_discount
from exporters.warehouse.schema import conform
from exporters.warehouse.schema.prices import PRICES
from spendscope.config_prices import PricesConfig

if TYPE_CHECKING:
    from collectors.prices.fetch import CatalogFetcher
    from exporters.warehouse import Warehouse

log = logging.getLogger(__name__)


@dataclass
class SyncResult:
    """What one sync read and wrote (or, dry run, would write)."""

    skus_read: dict[str, int] = field(default_factory=dict)  # service id → SKUs listed
    catalog_rows: int = 0
    dbu_rows: int = 0
    added: list[Row] = field(default_factory=list)
    closed: list[Row] = field(default_factory=list)
    unchanged: int = 0
    written: int = 0
    dry_run: bool = False


def stored_prices(wh: Warehouse) -> list[Row]:
    """Every row of `prices`, every version (the table holds a row per price change: small)."""
    return conform(wh.query("SELECT * FROM prices"), PRICES).to_pylist()


def observe(
    wh: Warehouse, cfg: PricesConfig, fetcher: CatalogFetcher | None, now: dt.datetime, result: SyncResult
) -> list[Row]:
    """The prices as the sources give them now, discounts applied."""
    rows: list[Row] = []
    if cfg.services:
        if fetcher is None:
            raise ValueError("prices.services is set but no Catalog fetcher was given")
        fetcher.check_services(cfg.services)
        for service in cfg.services:
            skus = fetcher.skus(service, cfg.currency, cfg.page_size)
            parsed, seen = catalog.parse_skus(skus, service, cfg.regions, now)
            result.skus_read[service] = seen
            rows += parsed
    result.catalog_rows = len(rows)
    dbu = databricks.load_dbu_rows(wh, now)
    result.dbu_rows = len(dbu)
    return [with_discount(r, cfg.discounts) for r in [*rows, *dbu]]


def sync_prices(
    wh: Warehouse, cfg: PricesConfig, fetcher: CatalogFetcher | None, now: dt.datetime, dry_run: bool = False
) -> SyncResult:
    """Fetch, compare with the stored history, and write the closed and new rows in one atomic replace."""
    result = SyncResult(dry_run=dry_run)
    observed = observe(wh, cfg, fetcher, now, result)
    plan = plan_sync(stored_prices(wh), observed, now)
    result.added, result.closed, result.unchanged = plan.added, plan.closed, plan.unchanged
    if plan.keys and not dry_run:
        result.written = wh.replace("prices", pa.Table.from_pylist(plan.rows, schema=PRICES), plan.keys)
    log.info(
        "prices sync added:%s closed:%s unchanged:%s written:%s dry_run:%s",
        len(plan.added), len(plan.closed), plan.unchanged, result.written, dry_run,
    )  # fmt: skip
    return result


def daemon_job(wh: Warehouse, cfg: PricesConfig, clock: Callable[[], dt.datetime]) -> Callable[[], int]:
    """The daemon's `prices-sync` job: one sync per call; returns the rows written (0 when nothing changed)."""

    def run() -> int:
        from collectors.prices.fetch import CatalogFetcher

        fetcher = CatalogFetcher.from_config(cfg) if cfg.services else None
        return sync_prices(wh, cfg, fetcher, clock()).written

    return run
