"""The `gcp-budgets` collector: a snapshot of the billing account's budgets into `gcp_budgets` (read-only).

Scheduled by the daemon from `[gcp_budgets]` (enabled, interval_minutes) — a top-level section, not under
[collectors], because the same section configures `spendscope budgets`. Each run lists every budget, replaces its
UTC day's snapshot for the account and records the sync in `ingest_state` (source `gcp_budgets`, partition =
the account, watermark = the sync time), which is what readers take as the latest snapshot — even an empty one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING

from collectors import registry
from collectors.base import Batch, Collector, Item, RunContext
from collectors.gcp_budgets import fetch
from collectors.gcp_budgets.parse import TABLE, budget_from_proto, to_table
from spendscope.errors import ConfigError

if TYPE_CHECKING:
    from google.cloud.billing.budgets_v1 import BudgetServiceClient

    from spendscope.config import Settings
    from spendscope.config_base import CollectorBase
    from spendscope.config_budgets import GcpBudgetsConfig

SOURCE = "gcp_budgets"  # ingest_state.source of every sync


@registry.register("gcp-budgets")
class GcpBudgetsCollector(Collector):
    """The Cloud Billing account's budgets (Budget API list_budgets) into `gcp_budgets`."""

    name = "gcp-budgets"

    def __init__(self, cfg: GcpBudgetsConfig, client: BudgetServiceClient | None = None) -> None:
        self.cfg = cfg
        self._client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> GcpBudgetsCollector:
        """Build from `[gcp_budgets]`; the client comes on first use (no credentials needed to construct)."""
        return cls(settings.gcp_budgets)

    def schedule(self, settings: Settings) -> CollectorBase | None:
        return settings.gcp_budgets

    def client(self) -> BudgetServiceClient:
        if self._client is None:
            self._client = fetch.make_client(self.cfg)
        return self._client

    def collect(self, ctx: RunContext) -> Iterator[Item]:
        """List every budget of the account and replace today's (UTC) snapshot with it."""
        account = self.cfg.billing_account
        if not account:
            raise ConfigError('gcp_budgets.billing_account is not set: add billing_account = "…" under [gcp_budgets]')
        now = ctx.now().astimezone(dt.UTC)
        budgets = [
            budget_from_proto(b) for b in fetch.list_budgets(self.client(), self.cfg.parent, self.cfg.timeout_seconds)
        ]
        state = {"source": SOURCE, "partition": account, "watermark": now, "rows": len(budgets)}
        keys = [{"_day": now.date(), "billing_account": account}]
        yield Batch(table=TABLE, data=to_table(budgets, account, now), keys=keys, state=[state])
