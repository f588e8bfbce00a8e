"""The `spike` rule: the last complete hour's spend against the same hour of the previous days.

It reads `cost_hourly` (usage charges of at most an hour, UTC hours) through the shared memoized index. The
hour judged is the last one every source of the scope has delivered completely (hour end ≤ that source's
data horizon), so a half-billed hour is never compared with whole ones. A spike must be big relative to the
baseline (`ratio`), unusual for it (robust score over the median and MAD, so a noisy hour does not page) and
worth money (`min_usd`).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from alerts.rules.base import RuleBase
from alerts.rules.costdata import (
    HOURLY_DIMS,
    Scope,
    check_dims,
    fmt_horizons,
    fmt_usd,
    horizons,
    hourly_index,
    scope_labels,
    scope_values,
)
from alerts.rules.livedata import ESTIMATE, live_view, source_evidence
from alerts.rules.registry import RULES
from spendscope.records import Finding

if TYPE_CHECKING:
    from alerts.context import EvalContext

HOUR = dt.timedelta(hours=1)
LOOKBACK_DAYS = 29  # one shared read for every spike rule: enough for the longest baseline allowed (28 days)


def robust_score(x: float, baseline: list[float]) -> float:
    """(x − median) / (1.4826·MAD); with MAD 0, 1.2533·mean absolute deviation; with both 0, ±inf or 0."""
    # In whole cents: float sums of the same charges differ in the 14th digit and would read as a tiny MAD.
    x, base = round(x, 2), np.round(np.asarray(baseline, dtype=np.float64), 2)
    med = float(np.median(base))
    dev = np.abs(base - med)
    scale = 1.4826 * float(np.median(dev))
    if scale == 0:  # over half the baseline equal (an always-on fleet): fall back as Iglewicz–Hoaglin do
        scale = 1.2533 * float(dev.mean())
    if scale == 0:  # every baseline hour identical: any rise is off the scale, the ratio and $ gates decide
        return math.inf if x > med else (-math.inf if x < med else 0.0)
    return (x - med) / scale


@RULES.register("spike")
class SpikeRule(RuleBase):
    """Spend of the last complete hour at `ratio`× its usual level for that hour of day, and unusual for it.

    ```yaml
    rules:
      - name: spend-spike
        type: spike
        group_by: [platform]
        ratio: 2.0
        min_score: 3.5
        min_usd: 50
        baseline_days: 7
        severity: warning
    ```
    """

    default_alertname: ClassVar[str] = "SpendSpike"
    type: Literal["spike"]
    scope: Scope = Field(default_factory=dict, description="dimension → value or [values] (cost_hourly dimensions)")
    group_by: list[str] = Field(default_factory=list, description="one series per value; none: the fleet total")
    ratio: float = Field(default=2.0, gt=1, description="spend ≥ ratio × the baseline median")
    min_score: float = Field(default=3.5, ge=0, description="robust score (x − median)/(1.4826·MAD) at least this")
    min_usd: float = Field(default=50.0, ge=0, description="ignore hours spending less")
    max_ratio: float = Field(
        default=1.5, ge=0, description="and spend ≥ this × the highest baseline hour (0: off): a new high, not a repeat"
    )
    baseline_days: int = Field(default=7, ge=1, le=LOOKBACK_DAYS - 1, description="same hour on this many days")
    min_baseline_days: int = Field(default=3, ge=1, description="fewer baseline days with data: no verdict")
    cost: Literal["billed", "effective"] = "billed"
    source: Literal["billed", "live"] = Field(
        default="billed",
        description="billed: cost_hourly, the last complete hour; live: spend_live, the hour under way projected "
        "to its end at the live estimate's run-rate (docs/live.md)",
    )

    @model_validator(mode="after")
    def _check(self) -> SpikeRule:
        check_dims(list(self.scope), HOURLY_DIMS, "scope")
        check_dims(self.group_by, HOURLY_DIMS, "group_by")
        if self.min_baseline_days > self.baseline_days:
            raise ValueError("min_baseline_days cannot exceed baseline_days")
        return self

    def evaluate(self, ctx: EvalContext) -> list[Finding]:
        live = self.source == "live"
        ctx = live_view(ctx, self.source)
        day0 = dt.datetime.combine(ctx.now.astimezone(dt.UTC).date(), dt.time(), dt.UTC)
        idx = hourly_index(ctx, day0 - dt.timedelta(days=LOOKBACK_DAYS))
        mask = idx.mask(self.scope)
        keys, cube = idx.cube(mask, self.group_by, self.cost)
        if not idx.slots or not keys:
            return []
        present = [idx.sources[i] for i in np.flatnonzero(np.abs(cube).sum(axis=(0, 2)) > 0)]
        h = horizons(ctx)
        reach = [h[s] for s in present if s in h]
        if not reach:
            return []
        # Billed: the last hour every source of the scope has whole ([hour, hour + 1 h) ends by its horizon).
        # Live: the hour under way, projected to its end at the estimate's run-rate.
        hour = _floor_hour(min(reach)) - (dt.timedelta(0) if live else HOUR)
        hours = [hour - dt.timedelta(days=k) for k in range(self.baseline_days + 1)]
        first = min(idx.first[s] for s in present)  # before it there is no data, not zero spend
        known = [t for t in hours[1:] if t >= first]
        if len(known) < self.min_baseline_days:
            return []
        cols = [idx.position.get(t, -1) for t in [hour, *known]]
        per_group = cube.sum(axis=1)  # groups × hours
        series = np.where(np.array(cols) >= 0, per_group[:, np.maximum(cols, 0)], 0.0)
        estimated = np.zeros(len(keys))
        if live:
            _, projected = idx.cube(mask, self.group_by, "projected")
            series[:, 0] = projected.sum(axis=1)[:, cols[0]] if cols[0] >= 0 else 0.0
            if ESTIMATE in idx.sources and cols[0] >= 0:
                estimated = projected[:, idx.sources.index(ESTIMATE), cols[0]]
        out = []
        for key, row, est in zip(keys, series, estimated, strict=True):
            x, base = float(row[0]), [float(v) for v in row[1:]]
            finding = self._judge(ctx, key, hour, x, base, known, present, float(est))
            if finding is not None:
                out.append(finding)
        return out

    def _judge(
        self,
        ctx: EvalContext,
        key: tuple[str, ...],
        hour: dt.datetime,
        x: float,
        base: list[float],
        days: list[dt.datetime],
        sources: list[str],
        estimated: float = 0.0,
    ) -> Finding | None:
        if x < self.min_usd:
            return None
        med = float(np.median(base))
        ratio = x / med if med > 0 else math.inf
        score = robust_score(x, base)
        peak = max(base)
        # A weekly job or a nightly one that jitters across the hour boundary has been seen at this hour
        # in the last days: only a new high pages, not the median-beating repeat of a known pattern.
        if ratio < self.ratio or score < self.min_score or x < self.max_ratio * peak:
            return None
        labels = scope_labels(self.scope) | dict(zip(self.group_by, key, strict=True))
        what = ", ".join(f"{k}={v}" for k, v in labels.items()) or "all spend"
        ratio_text = f"{ratio:.1f}× the usual" if math.isfinite(ratio) else "new spend, up from a median of"
        span = f"{hour:%Y-%m-%d %H:%M}–{hour + HOUR:%H:%M} UTC"
        horizon = fmt_horizons(ctx, sources)
        summary = f"Spend spike ({what}): {fmt_usd(x)} in {span}, {ratio_text} {fmt_usd(med)}"
        data = "hour complete for every source"
        if self.source == "live":
            data = "the hour under way, projected to its end at the current run-rate (spend_live)"
        if estimated:
            summary = f"Estimated spend spike ({what}): {fmt_usd(x)} projected for {span}, {ratio_text} {fmt_usd(med)}"
            data += (
                f"; estimated: {fmt_usd(estimated)} of {fmt_usd(x)} is the live estimate from the inventory, "
                "not yet billed"
            )
        description = (
            f"{self.cost.capitalize()} usage spend {fmt_usd(x)} in the hour {span} against a median of {fmt_usd(med)} "
            f"for that hour over {len(base)} previous day(s) ({', '.join(fmt_usd(b) for b in base)}): "
            f"{_num(ratio)}× the median, robust score {_num(score)}, "
            f"{_num(x / peak if peak else math.inf)}× the highest of them "
            f"(fires at ≥ {self.ratio:g}× the median, score ≥ {self.min_score:g}, ≥ {self.max_ratio:g}× the highest, "
            f"spend ≥ {fmt_usd(self.min_usd)}).\nData: {data}; {horizon}."
        )
        evidence: dict[str, Any] = {
            "hour": hour.isoformat(),
            "spend_usd": round(x, 2),
            "baseline_hours": [d.isoformat() for d in days],
            "baseline_usd": [round(b, 2) for b in base],
            "baseline_median_usd": round(med, 2),
            "baseline_max_usd": round(peak, 2),
            "ratio": round(ratio, 3) if math.isfinite(ratio) else None,
            "score": round(score, 3) if math.isfinite(score) else None,
            "score_infinite": not math.isfinite(score),
            "thresholds": {
                "ratio": self.ratio,
                "min_score": self.min_score,
                "min_usd": self.min_usd,
                "max_ratio": self.max_ratio,
            },
            "cost": self.cost,
            **source_evidence(self.source, estimated),
            "scope": scope_values(self.scope),
            "data_until_by_source": {s: u.isoformat() for s, u in horizons(ctx).items() if s in sources},
        }
        return Finding(
            labels=labels,
            annotations={"summary": summary, "description": description},
            value=ratio if math.isfinite(ratio) else None,
            evidence=evidence,
        )


def _floor_hour(at: dt.datetime) -> dt.datetime:
    return at.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def _num(x: float) -> str:
    return f"{x:.1f}" if math.isfinite(x) else ("∞" if x > 0 else "-∞")
