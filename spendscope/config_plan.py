"""Config of the migration plan (`[plan]`) the dashboard and the daily email measure the fleet against.

Defaults are the users' plan: ≈$62.5K/month all on GCP moving to ≈$41.5K/month hybrid, about 60% of spend
on Databricks, spot capacity at 60% of GCP GPU-hours and 70% of Databricks', and the scorecard's targets.
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field, model_validator

from spendscope.config_base import Strict


class PlanTargets(Strict):
    """The migration scorecard: Databricks measured against the GCP baseline (ratios, 1.0 = equal)."""

    training_throughput_min: float = Field(default=0.95, gt=0, description="throughput ≥ this × GCP's")
    inference_latency_max: float = Field(default=1.10, gt=0, description="latency ≤ this × GCP's")
    cost_efficiency_min: float = Field(default=1.30, gt=0, description="busy GPU-hours per $ ≥ this × GCP's")
    utilization_min: float = Field(default=0.85, ge=0, le=1, description="busy share of GPU-hours, absolute")
    total_cost_max: float = Field(default=0.70, gt=0, description="hybrid monthly cost ≤ this × the all-GCP baseline")
    cost_per_training_run_max: float = Field(default=0.75, gt=0, description="$ per training run ≤ this × GCP's")


class PlanConfig(Strict):
    """Where spend should go: the all-GCP baseline, the hybrid target and the split between platforms."""

    baseline_monthly_usd: float = Field(default=62_500.0, gt=0, description="all-GCP spend per month before")
    target_monthly_usd: float = Field(default=41_500.0, gt=0, description="hybrid spend per month after")
    target_databricks_share: float = Field(default=0.60, ge=0, le=1, description="Databricks' share of spend")
    spot_share_targets: dict[str, float] = Field(
        default_factory=lambda: {"gcp": 0.60, "databricks": 0.70},
        description="share of GPU-hours on spot/preemptible capacity, per side (gcp = GCE + GKE)",
    )
    targets: PlanTargets = PlanTargets()
    # Once work has left GCP, the page's window holds no GCP figures to compare with: pin the pre-migration days.
    baseline_since: dt.date | None = Field(
        default=None, description="first reporting day of the GCP baseline the scorecard compares with"
    )
    baseline_until: dt.date | None = Field(
        default=None, description="last reporting day (inclusive) of the GCP baseline; unset: the page's window"
    )

    @model_validator(mode="after")
    def _baseline_window(self) -> PlanConfig:
        if (self.baseline_since is None) != (self.baseline_until is None):
            raise ValueError("set both baseline_since and baseline_until, or neither")
        if self.baseline_since and self.baseline_until and self.baseline_since > self.baseline_until:
            raise ValueError("baseline_since is after baseline_until")
        return self
