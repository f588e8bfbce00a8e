"""Cost data the budget, spike and credit rules share: one memoized read per window and an in-memory index.

A thousand budget rules must cost one query and one index: `daily_index` reads `cost_daily` grouped by day,
source and every dimension for a window (same SQL and params for every rule asking for that window), and
`hourly_index` does the same over `cost_hourly`. Each rule then filters the index with numpy: a scope is
a boolean mask, a `group_by` a bincount. Null dimension values read as `spendscope costs` shows them
('(untagged)' team, …) so a scope written from that output matches.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from spendscope.costs import StaleRollupError

if TYPE_CHECKING:
    from alerts.context import EvalContext

CostKind = Literal["billed", "effective", "list"]
# A scope: dimension → one value or a list of values (rows match when every dimension matches one value).
Scope = dict[str, str | list[str]]

DAILY_DIMS = ("provider", "platform", "service", "category", "team", "env", "workload", "project", "account", "gpu")
HOURLY_DIMS = ("provider", "platform", "service", "team", "project")
# What a NULL dimension reads as: the labels spendscope/costs.py prints, so scopes copied from its output match.
NULL_AS = {"team": "(untagged)", "env": "(untagged)", "workload": "(untagged)", "project": "(none)", "gpu": "(no GPU)"}

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


def check_dims(names: Sequence[str], valid: Sequence[str], what: str) -> None:
    """Raise ValueError naming unknown dimensions and the valid ones (pydantic turns it into a config error)."""
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise ValueError(f"unknown {what} dimension(s) {', '.join(unknown)}; valid: {', '.join(valid)}")


def scope_values(scope: Mapping[str, str | list[str]]) -> dict[str, list[str]]:
    return {k: [v] if isinstance(v, str) else list(v) for k, v in scope.items()}


def scope_labels(scope: Mapping[str, str | list[str]]) -> dict[str, str]:
    """Alert labels naming a scope: one label per dimension, list values joined by commas."""
    return {k: ",".join(v) for k, v in scope_values(scope).items()}


def _dim_sql(dims: Sequence[str]) -> str:
    return ", ".join(f"IFNULL({d}, '{NULL_AS.get(d, '(none)')}') AS {d}" for d in dims)


@dataclass
class CostIndex:
    """Rows of a cost rollup as numpy columns: slot (day or hour), source and dimension codes, costs."""

    slots: list[Any]  # sorted distinct days (dates) / hours (UTC datetimes)
    slot: I64  # per row: index into slots
    sources: list[str]
    source: I64
    values: dict[str, list[str]]  # dimension → distinct values (code = position)
    codes: dict[str, I64]
    lookup: dict[str, dict[str, int]]
    cost: dict[str, F64]  # billed / effective / list → USD per row
    since: Any = None  # the window's first slot as asked for (data may start later)
    position: dict[Any, int] = field(default_factory=dict)  # slot value → index
    first: dict[str, Any] = field(default_factory=dict)  # source → its first slot with rows

    def __post_init__(self) -> None:
        self.position = {v: i for i, v in enumerate(self.slots)}
        low = np.full(len(self.sources), len(self.slots), dtype=np.int64)
        np.minimum.at(low, self.source, self.slot)
        self.first = {s: self.slots[int(i)] for s, i in zip(self.sources, low, strict=True)}

    def starts_late(self, sources: Sequence[str]) -> dict[str, Any]:
        """Sources whose data begins after the window start: their earlier spend is unknown, not zero."""
        return {s: self.first[s] for s in sources if self.since is not None and self.first[s] > self.since}

    @classmethod
    def from_table(
        cls, table: pa.Table, slot_col: str, dims: Sequence[str], costs: Sequence[str], since: Any = None
    ) -> CostIndex:
        slot_vals, slot_idx = _encode(table.column(slot_col))
        src_vals, src_idx = _encode(table.column("source"))
        values, codes = {}, {}
        for d in dims:
            values[d], codes[d] = _encode(table.column(d))
        cost = {
            c: np.nan_to_num(table.column(f"{c}_usd").to_numpy(zero_copy_only=False).astype(np.float64)) for c in costs
        }
        lookup = {d: {v: i for i, v in enumerate(vals)} for d, vals in values.items()}
        return cls(slot_vals, slot_idx, src_vals, src_idx, values, codes, lookup, cost, since)

    def mask(self, scope: Mapping[str, str | list[str]]) -> Mask:
        """Rows matching every dimension of `scope`."""
        m = np.ones(len(self.slot), dtype=bool)
        for dim, vals in scope_values(scope).items():
            wanted = [self.lookup[dim][v] for v in vals if v in self.lookup[dim]]
            if not wanted:
                return np.zeros(len(self.slot), dtype=bool)
            col = self.codes[dim]
            m &= col == wanted[0] if len(wanted) == 1 else np.isin(col, wanted)
        return m

    def cube(self, mask: Mask, group_by: Sequence[str], cost: str) -> tuple[list[tuple[str, ...]], F64]:
        """Spend of the masked rows per group × source × slot: (group keys, array of that shape)."""
        rows = np.flatnonzero(mask)
        if group_by:
            combined = np.zeros(len(rows), dtype=np.int64)
            for d in group_by:
                combined = combined * len(self.values[d]) + self.codes[d][rows]
            uniq, inverse = np.unique(combined, return_inverse=True)
            keys = [self._decode(int(u), group_by) for u in uniq]
        else:
            inverse, keys = np.zeros(len(rows), dtype=np.int64), [()]
        ns, nt = len(self.sources), len(self.slots)
        flat = (inverse * ns + self.source[rows]) * nt + self.slot[rows]
        sums = np.bincount(flat, weights=self.cost[cost][rows], minlength=len(keys) * ns * nt).astype(np.float64)
        return keys, sums.reshape(len(keys), ns, nt)

    def _decode(self, code: int, group_by: Sequence[str]) -> tuple[str, ...]:
        out = []
        for d in reversed(group_by):
            code, rem = divmod(code, len(self.values[d]))
            out.append(self.values[d][rem])
        return tuple(reversed(out))


def _encode(col: pa.ChunkedArray) -> tuple[list[Any], I64]:
    """Distinct values (sorted, so day and hour slots are in time order) and each row's position among them."""
    if len(col) == 0:
        return [], np.zeros(0, dtype=np.int64)
    enc = col.combine_chunks().dictionary_encode()
    vals = enc.dictionary.to_pylist()
    order = sorted(range(len(vals)), key=vals.__getitem__)
    rank = np.empty(len(vals), dtype=np.int64)
    rank[order] = np.arange(len(vals))
    return [vals[i] for i in order], rank[enc.indices.to_numpy(zero_copy_only=False)]


def daily_index(ctx: EvalContext, since: dt.date, until: dt.date) -> CostIndex:
    """`cost_daily` (USD rows) for reporting days since..until, indexed once per evaluation and window."""
    if ctx.basis == "live":  # spend_live instead (a rule with source: live)
        from alerts.rules import livedata

        return livedata.daily_index(ctx, since, until)

    def build() -> CostIndex:
        table = ctx.query(
            f"""
            SELECT day, tz, x_SourceTable AS source, {_dim_sql(DAILY_DIMS)},
                   SUM(billed_cost) AS billed_usd, SUM(effective_cost) AS effective_usd, SUM(list_cost) AS list_usd
            FROM cost_daily
            WHERE day >= @since AND day <= @until AND IFNULL(currency, 'USD') = 'USD'
            GROUP BY {", ".join(str(i) for i in range(1, len(DAILY_DIMS) + 4))}
            """,
            {"since": since, "until": until},
        )
        stale = sorted({t for t in table.column("tz").to_pylist() if t != ctx.tz})
        if stale:
            raise StaleRollupError(
                f"the cost rollup was built for time zone {stale[0]!r}, the config says {ctx.tz!r}: "
                "run `spendscope rebuild`"
            )
        return CostIndex.from_table(table, "day", DAILY_DIMS, ("billed", "effective", "list"), since)

    return ctx.cached(("cost_daily_index", since, until), build)


def hourly_index(ctx: EvalContext, since: dt.datetime) -> CostIndex:
    """`cost_hourly` since `since` (UTC), indexed once per evaluation."""
    if ctx.basis == "live":  # spend_live instead (a rule with source: live)
        from alerts.rules import livedata

        return livedata.hourly_index(ctx, since)

    def build() -> CostIndex:
        table = ctx.query(
            f"""
            SELECT hour, x_SourceTable AS source, {_dim_sql(HOURLY_DIMS)},
                   SUM(billed_cost) AS billed_usd, SUM(effective_cost) AS effective_usd
            FROM cost_hourly
            WHERE hour >= @since
            GROUP BY {", ".join(str(i) for i in range(1, len(HOURLY_DIMS) + 3))}
            """,
            {"since": since},
        )
        return CostIndex.from_table(table, "hour", HOURLY_DIMS, ("billed", "effective"), since)

    return ctx.cached(("cost_hourly_index", since), build)


def horizons(ctx: EvalContext) -> dict[str, dt.datetime]:
    """How far each cost source reaches, never past ctx.now (a replayed or back-dated evaluation)."""
    return ctx.cached("cost_horizons", lambda: {s: min(u, ctx.now) for s, u in ctx.cost_data_until().items()})


def horizon_of(ctx: EvalContext, sources: Sequence[str]) -> dt.datetime | None:
    """The data horizon of a scope: the least far-reaching of its sources (all sources when it has none)."""
    h = horizons(ctx)
    got = [h[s] for s in sources if s in h] or list(h.values())
    return min(got) if got else None


def fmt_usd(x: float) -> str:
    return f"-${-x:,.2f}" if x < 0 else f"${x:,.2f}"


def fmt_time(at: dt.datetime | None, tz: str) -> str:
    return "no data" if at is None else at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z")


def fmt_horizons(ctx: EvalContext, sources: Sequence[str]) -> str:
    """'gcp_billing_export through 2026-11-21 14:00 UTC, …' for the sources of a scope."""
    h = horizons(ctx)
    names = [s for s in sources if s in h] or sorted(h)
    return ", ".join(f"{s} through {fmt_time(h[s], ctx.tz)}" for s in names) or "no cost data"
