"""What a rule evaluation sees: the warehouse, the time, settings, collector health — and a shared cache.

Rules write their own SQL; `query` memoizes by (sql, params) so a thousand budget rules that ask for the
same month of `cost_daily` cause one query, and every rule reads the latest inventory once.
A context lives for one evaluation cycle.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import pyarrow as pa

from spendscope.clock import local_day

if TYPE_CHECKING:
    from exporters.warehouse.engine import Warehouse
    from spendscope.config import Settings
    from spendscope.scheduler import JobHealth

T = TypeVar("T")


@dataclass
class EvalContext:
    wh: Warehouse
    settings: Settings
    now: dt.datetime  # timezone-aware UTC
    health: Mapping[str, JobHealth] | None = None  # the daemon's job health (None from the CLI)
    basis: str = "billed"  # "live": the cost rules read spend_live (alerts/rules/livedata.py)
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False)

    @property
    def tz(self) -> str:
        """The reporting time zone (budget days and months are reporting days, as invoices are)."""
        return self.settings.reporting.timezone

    @property
    def today(self) -> dt.date:
        """Today's reporting day."""
        return local_day(self.now, self.tz)

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        """Run `sql` once per evaluation for the same params; later callers get the same Arrow table."""
        key = ("sql", sql, json.dumps(params or {}, sort_keys=True, default=str))
        if key not in self._cache:
            self._cache[key] = self.wh.query(sql, params)
        result: pa.Table = self._cache[key]
        return result

    def cached(self, key: Any, compute: Callable[[], T]) -> T:
        """Compute a derived value once per evaluation (e.g. a dict index over a query result)."""
        if key not in self._cache:
            self._cache[key] = compute()
        value: T = self._cache[key]
        return value

    def cost_data_until(self) -> dict[str, dt.datetime]:
        """How far each cost source's data reaches (max ChargePeriodEnd per source table in cost_daily).

        Budget and spike rules use it so an incomplete billing day or hour is not judged as if complete,
        and they name it in their alerts.
        """

        if self.basis == "live":
            from alerts.rules.livedata import live_reach

            return self.cached("cost_data_until", lambda: live_reach(self))

        def compute() -> dict[str, dt.datetime]:
            got = self.query(
                "SELECT x_SourceTable AS source, MAX(data_until) AS until FROM cost_daily "
                "WHERE _day >= @since GROUP BY x_SourceTable",
                {"since": self.now.date() - dt.timedelta(days=62)},
            )
            return {r["source"]: r["until"] for r in got.to_pylist() if r["until"] is not None}

        return self.cached("cost_data_until", compute)
