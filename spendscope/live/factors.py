"""Per-platform correction factors, learned from the estimate's error history (`estimate_errors`).

A factor is the median, over the platform's complete hours in the last `[live] correction_days`, of billed ÷
estimated (before correction), each hour weighted by its estimated dollars — the median, so a one-off (a credit,
a late adjustment, an hour the inventory missed) does not move it, and weighted, so the hours that carry the
spend decide it rather than quiet night hours whose few dollars follow another mix. It applies only with
`correction_min_samples` hours or more, and is clamped to [`correction_min`, `correction_max`] (default
0.8–1.25): it corrects what list prices systematically miss (contract discounts not configured, committed-use
credits on some VMs only), never a price book that is plain wrong. Hours the estimate put below `min_hour_usd`
teach nothing (a ratio of cents).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from exporters.warehouse.engine import Warehouse
    from spendscope.config_live import LiveConfig

ERRORS_SQL = """
SELECT platform, hour, estimated_raw_usd AS raw, billed_usd AS billed
FROM estimate_errors
WHERE _day >= @dmin AND hour >= @since AND hour < @at AND level = 'platform'
"""


@dataclass(frozen=True)
class Factor:
    """A platform's correction: `value` applied (1.0 while learning), the median it came from, and its evidence."""

    platform: str
    value: float
    median: float | None
    samples: int
    needed: int
    low: float
    high: float
    days: int
    q1: float | None = None
    q3: float | None = None

    @property
    def clamped(self) -> bool:
        return self.median is not None and self.samples >= self.needed and self.value != self.median

    def explain(self) -> str:
        """One line for people: what the factor is and why."""
        if self.median is None or self.samples < self.needed:
            return (f"{self.platform}: ×1.00 (learning: {self.samples} of {self.needed} complete hours with an "
                    f"estimate over the last {self.days} days)")  # fmt: skip
        spread = f", middle half {self.q1:.2f}–{self.q3:.2f}" if self.q1 is not None and self.q3 is not None else ""
        clamp = f", clamped to [{self.low:g}, {self.high:g}]" if self.clamped else ""
        return (f"{self.platform}: ×{self.value:.3f} = median billed/estimated over {self.samples} complete hours "
                f"of the last {self.days} days, weighted by estimated $ ({self.median:.3f}{spread}){clamp}"
                )  # fmt: skip


def weighted_quantile(pairs: Sequence[tuple[float, float]], q: float) -> float:
    """The `q` quantile of values weighted by their weights ((value, weight) pairs, weights > 0)."""
    ordered = sorted(pairs)
    total = sum(w for _, w in ordered)
    acc = 0.0
    for value, weight in ordered:
        acc += weight
        if acc >= q * total:
            return value
    return ordered[-1][0]


def learn(rows: Iterable[Mapping[str, Any]], cfg: LiveConfig) -> dict[str, Factor]:
    """Platform → factor from (platform, raw, billed) hourly rows (pure)."""
    pairs: dict[str, list[tuple[float, float]]] = {}
    for r in rows:
        raw, billed = r.get("raw"), r.get("billed")
        if r.get("platform") and raw is not None and billed is not None and raw >= max(cfg.min_hour_usd, 1e-9):
            pairs.setdefault(r["platform"], []).append((float(billed) / float(raw), float(raw)))
    out = {}
    for platform, found in sorted(pairs.items()):
        med = weighted_quantile(found, 0.5)
        q1, q3 = (weighted_quantile(found, 0.25), weighted_quantile(found, 0.75)) if len(found) >= 4 else (None, None)
        ready = len(found) >= cfg.correction_min_samples
        value = min(max(med, cfg.correction_min), cfg.correction_max) if ready else 1.0
        out[platform] = Factor(platform, value, med, len(found), cfg.correction_min_samples, cfg.correction_min,
                               cfg.correction_max, cfg.correction_days, q1, q3)  # fmt: skip
    return out


def factors(wh: Warehouse, cfg: LiveConfig, at: dt.datetime) -> dict[str, Factor]:
    """The factors in force at `at`, from the errors of complete hours in the window before it."""
    since = at - dt.timedelta(days=cfg.correction_days)
    rows = wh.query(ERRORS_SQL, {"dmin": since.date(), "since": since, "at": at}).to_pylist()
    return learn(rows, cfg)


def values(found: Mapping[str, Factor]) -> dict[str, float]:
    """Platform → the factor value to apply."""
    return {p: f.value for p, f in found.items()}
