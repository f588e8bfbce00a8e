"""The `credit` rule: a prepaid credit's burn-down — used, remaining, daily burn, projected exhaustion.

A credit (such as the $10,000 Databricks trial) covers the spend in `scope` from `start` until `expires`,
optionally split into buckets, each with its own amount and a scope within the credit's. Each bucket and the
total alert on their used ratio (highest threshold crossed) and, separately, when the trailing daily burn
would exhaust them before `expires` or within `warn_days`. The burn is measured over complete days only
(days the scope's sources have delivered whole), so an incomplete billing day does not read as a slowdown.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from alerts.rules.base import RuleBase
from alerts.rules.costdata import (
    DAILY_DIMS,
    CostIndex,
    CostKind,
    Mask,
    Scope,
    check_dims,
    daily_index,
    fmt_horizons,
    fmt_time,
    fmt_usd,
    horizon_of,
    scope_labels,
    scope_values,
)
from alerts.rules.livedata import ESTIMATE, check_live_dims, estimated_note, live_view, source_evidence
from alerts.rules.registry import RULES
from spendscope.clock import local_day, local_midnight
from spendscope.config_base import Strict
from spendscope.records import Finding, Severity

if TYPE_CHECKING:
    from alerts.context import EvalContext

log = logging.getLogger(__name__)
DAY = dt.timedelta(days=1)


class CreditBucket(Strict):
    """A part of a credit: its amount and which spend draws on it (within the credit's scope)."""

    amount_usd: float = Field(gt=0)
    scope: Scope = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> CreditBucket:
        check_dims(list(self.scope), DAILY_DIMS, "bucket scope")
        return self


@dataclass(frozen=True)
class Burn:
    """One bucket (or the total) of a credit now."""

    bucket: str
    amount_usd: float
    used_usd: float
    daily_burn_usd: float | None  # mean over the last complete days
    burn_days: int  # how many complete days that mean covers
    exhausts_at: dt.datetime | None  # when it runs out (or ran out) at that burn; None: no burn
    data_until: dt.datetime | None
    sources: list[str]
    estimated_usd: float = 0.0  # of used_usd: the live estimate, not yet billed (source: live)

    @property
    def remaining_usd(self) -> float:
        return self.amount_usd - self.used_usd

    @property
    def used_ratio(self) -> float:
        return self.used_usd / self.amount_usd


@RULES.register("credit")
class CreditRule(RuleBase):
    """A prepaid credit's burn-down, per bucket and in total: used-ratio thresholds and projected exhaustion.

    Databricks trial buckets by the `service` values focus_databricks.sql gives (billing_origin_product):
    compute = All-Purpose Compute, Jobs Compute, Databricks SQL, Lakeflow Pipelines (DLT), LAKEFLOW_CONNECT;
    mlops = category 'AI and Machine Learning' (Model Serving, Vector Search, FOUNDATION_MODEL_TRAINING,
    AI_GATEWAY; MLflow tracking is not billed on its own); storage = DEFAULT_STORAGE (serverless storage).
    The scope is provider Databricks: the GCE VMs under classic clusters are billed by Google, not from
    the credit.

    ```yaml
    rules:
      - name: databricks-trial
        type: credit
        total_usd: 10000
        start: 2026-11-01
        expires: 2026-12-15
        scope: {provider: Databricks}
        buckets:
          compute:
            amount_usd: 6000
            scope: {service: [All-Purpose Compute, Jobs Compute, Databricks SQL, Lakeflow Pipelines, LAKEFLOW_CONNECT]}
          storage: {amount_usd: 2000, scope: {service: DEFAULT_STORAGE}}
          mlops: {amount_usd: 2000, scope: {category: AI and Machine Learning}}
        thresholds: {warning: 0.7, critical: 0.9}
        warn_days: 14
    ```
    """

    default_alertname: ClassVar[str] = "CreditBurn"
    type: Literal["credit"]
    total_usd: float = Field(gt=0, description="the credit's amount")
    start: dt.date = Field(description="first reporting day the credit covers")
    expires: dt.date | None = Field(default=None, description="last reporting day it covers")
    scope: Scope = Field(default_factory=dict, description="the spend the credit covers (cost_daily dimensions)")
    buckets: dict[str, CreditBucket] = Field(default_factory=dict, description="name → amount and scope")
    thresholds: dict[Severity, float] = Field(default_factory=lambda: {Severity.warning: 0.7, Severity.critical: 0.9})
    burn_days: int = Field(default=7, ge=1, le=62, description="trailing complete days the daily burn averages")
    warn_days: float = Field(default=14, ge=0, description="alert when projected exhaustion is this near")
    cost: CostKind = "billed"
    source: Literal["billed", "live"] = Field(
        default="billed", description="billed: cost_daily; live: spend_live, the live estimate beyond the bill"
    )

    @model_validator(mode="after")
    def _check(self) -> CreditRule:
        check_dims(list(self.scope), DAILY_DIMS, "scope")
        scopes = [*self.scope, *(d for b in self.buckets.values() for d in b.scope)]
        check_live_dims(self.source, scopes, "scope and bucket scopes")
        if self.expires is not None and self.expires < self.start:
            raise ValueError("expires is before start")
        if sum(b.amount_usd for b in self.buckets.values()) > self.total_usd + 0.005:
            raise ValueError("the buckets add up to more than total_usd")
        if "total" in self.buckets:
            raise ValueError("'total' names the whole credit; call the bucket something else")
        if not self.thresholds or any(v <= 0 for v in self.thresholds.values()):
            raise ValueError("thresholds: give at least one severity with a positive ratio")
        return self

    def burns(self, ctx: EvalContext) -> list[Burn]:
        """The total and every bucket now (empty before `start` and after `expires`)."""
        ctx = live_view(ctx, self.source)
        last = ctx.today if self.expires is None else min(ctx.today, self.expires)
        if ctx.today < self.start or (self.expires is not None and ctx.today > self.expires):
            log.debug("credit:%s outside start:%s expires:%s", self.name, self.start, self.expires)
            return []
        idx = daily_index(ctx, self.start, last)
        base = idx.mask(self.scope)
        parts = [("total", self.total_usd, base)]
        parts += [(n, b.amount_usd, base & idx.mask(b.scope)) for n, b in self.buckets.items()]
        return [self._burn(ctx, idx, name, amount, mask, last) for name, amount, mask in parts]

    def _burn(self, ctx: EvalContext, idx: CostIndex, name: str, amount: float, mask: Mask, last: dt.date) -> Burn:
        _, cube = idx.cube(mask, [], self.cost)
        by_source = cube[0]
        present = [idx.sources[i] for i in np.flatnonzero(np.abs(by_source).sum(axis=1) > 0)]
        horizon = horizon_of(ctx, present)
        days = [self.start + dt.timedelta(days=i) for i in range((last - self.start).days + 1)]
        daily = np.array([by_source[:, idx.position[d]].sum() if d in idx.position else 0.0 for d in days])
        used = float(daily.sum())
        # Complete days: those ending at or before the horizon (the horizon's own day is still arriving).
        done = 0 if horizon is None else sum(1 for d in days if d + DAY <= local_day(horizon, ctx.tz))
        window = daily[max(0, done - self.burn_days) : done]
        burn = float(window.mean()) if len(window) else None
        exhausts = None
        if used >= amount:
            over = int(np.argmax(np.cumsum(daily) >= amount))
            exhausts = local_midnight(days[over] + DAY, ctx.tz)
        elif burn and burn > 0 and horizon is not None:
            exhausts = horizon + dt.timedelta(days=(amount - used) / burn)
        estimated = 0.0
        if ESTIMATE in idx.sources:
            row = by_source[idx.sources.index(ESTIMATE)]
            estimated = float(sum(row[idx.position[d]] for d in days if d in idx.position))
        return Burn(name, amount, used, burn, len(window), exhausts, horizon, present, estimated)

    def _level(self, ratio: float) -> Severity | None:
        crossed = [(thr, sev.rank, sev) for sev, thr in self.thresholds.items() if ratio >= thr]
        return max(crossed)[2] if crossed else None

    def evaluate(self, ctx: EvalContext) -> list[Finding]:
        out = []
        ctx = live_view(ctx, self.source)
        burns = self.burns(ctx)
        for b in burns:
            labels = {"credit": self.name, "bucket": b.bucket} | scope_labels(self.scope)
            text = self._text(ctx, b)
            evidence = self._evidence(ctx, b, burns)
            sev = self._level(b.used_ratio)
            if sev is not None:
                summary = f"Credit {self.name}/{b.bucket}: {fmt_usd(b.used_usd)} of {fmt_usd(b.amount_usd)} used"
                summary += f" ({b.used_ratio:.0%}), {fmt_usd(b.remaining_usd)} left"
                if b.estimated_usd:
                    summary = f"Estimated: {summary}{estimated_note(b.estimated_usd, b.used_usd)}"
                ann = {"summary": summary, "description": text}
                out.append(
                    Finding(
                        labels | {"kind": "used"}, annotations=ann, value=b.used_ratio, severity=sev, evidence=evidence
                    )
                )
            early = self._early(ctx, b)
            if early:
                head = "Estimated: credit" if b.estimated_usd else "Credit"
                ann = {"summary": f"{head} {self.name}/{b.bucket} {early}", "description": text}
                out.append(
                    Finding(labels | {"kind": "exhaustion"}, annotations=ann, value=b.remaining_usd, evidence=evidence)
                )
        return out

    def _early(self, ctx: EvalContext, b: Burn) -> str | None:
        """Why the projected exhaustion is news ('runs out … before it expires'), or None."""
        if b.exhausts_at is None or b.remaining_usd <= 0:
            return None  # no burn, or already used up (the used alert says so)
        on = local_day(b.exhausts_at, ctx.tz)
        left = (b.exhausts_at - ctx.now) / DAY
        if self.expires is not None:
            ends = local_midnight(self.expires + DAY, ctx.tz)  # the end of its last day
            if b.exhausts_at < ends:
                before = (ends - b.exhausts_at) / DAY
                return f"runs out around {on}, {before:.1f} day(s) before it expires (end of {self.expires})"
        if left <= self.warn_days:
            return f"runs out around {on}, in {max(left, 0):.1f} day(s)"
        return None

    def _text(self, ctx: EvalContext, b: Burn) -> str:
        burn = "no complete day yet" if b.daily_burn_usd is None else f"{fmt_usd(b.daily_burn_usd)}/day"
        if b.remaining_usd <= 0 and b.exhausts_at is not None:
            when = f"used up on {local_day(b.exhausts_at - DAY, ctx.tz)}"
        elif b.exhausts_at is not None:
            when = f"projected to run out around {local_day(b.exhausts_at, ctx.tz)}"
        else:
            when = "no projected exhaustion (no burn)"
        expiry = f"expires {self.expires}" if self.expires else "no expiry"
        estimated = ""
        if b.estimated_usd:
            estimated = (
                f" Estimated: {fmt_usd(b.estimated_usd)} of the used amount is the live estimate, not yet billed."
            )
        return (
            f"{self.cost.capitalize()} spend since {self.start} on {b.bucket}: {fmt_usd(b.used_usd)} of "
            f"{fmt_usd(b.amount_usd)} ({b.used_ratio:.0%}), {fmt_usd(b.remaining_usd)} left; burning {burn} over "
            f"the last {b.burn_days} complete day(s), {when}; {expiry}.{estimated}\n"
            f"Data through {fmt_time(b.data_until, ctx.tz)}: {fmt_horizons(ctx, b.sources)}."
        )

    def _evidence(self, ctx: EvalContext, b: Burn, burns: list[Burn]) -> dict[str, Any]:
        ev: dict[str, Any] = {
            "credit": self.name,
            "bucket": b.bucket,
            "amount_usd": b.amount_usd,
            "used_usd": round(b.used_usd, 2),
            "remaining_usd": round(b.remaining_usd, 2),
            "used_ratio": round(b.used_ratio, 4),
            "daily_burn_usd": None if b.daily_burn_usd is None else round(b.daily_burn_usd, 2),
            "burn_days": b.burn_days,
            "projected_exhaustion": None if b.exhausts_at is None else b.exhausts_at.isoformat(),
            "start": self.start.isoformat(),
            "expires": None if self.expires is None else self.expires.isoformat(),
            "data_until": None if b.data_until is None else b.data_until.isoformat(),
            "cost": self.cost,
            "scope": scope_values(self.scope),
            **source_evidence(self.source, b.estimated_usd),
        }
        if b.bucket == "total" and self.buckets:
            ev["unbucketed_usd"] = round(b.used_usd - sum(x.used_usd for x in burns if x.bucket != "total"), 2)
        else:
            ev["bucket_scope"] = scope_values(self.buckets[b.bucket].scope) if b.bucket != "total" else {}
        return ev
