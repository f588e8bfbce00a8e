"""Config of the live spend estimate (`[live]`): how often to price what runs, when billing counts as complete,
Databricks DBU rates, and the bounds of the learned correction factors (docs/live.md).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from spendscope.config_base import Duration, Prices, Strict

_REGION = re.compile(r"^[a-z]+(-[a-z0-9]+)+$")


class LiveConfig(Strict):
    """`[live]`: the daemon's live-estimate job and `spend_live`."""

    enabled: bool = Field(default=True, description="run the live-estimate job in the daemon (when inventory runs)")
    interval_minutes: float = Field(default=5, gt=0, description="price the latest inventory this often")
    stale_after: Duration = Field(
        default=dt.timedelta(minutes=30),
        description="an inventory snapshot counts for at most this long when its source sends no later one",
    )
    settle: Duration = Field(
        default=dt.timedelta(hours=6),
        description="an hour's billing counts as complete this long before the latest hour the source has sent",
    )
    settle_by_source: dict[str, Duration] = Field(
        default_factory=dict, description="per cost source table (gcp_billing_export, databricks_usage, …)"
    )
    dbu_per_hour: Prices = Field(
        default_factory=dict,
        description="Databricks node type → DBU per node-hour (from Databricks' pricing calculator); "
        "wins over rates learned from billing",
    )
    databricks_tier: Literal["STANDARD", "PREMIUM", "ENTERPRISE"] = Field(
        default="PREMIUM", description="the account's plan: the DBU SKU of a cluster billing has not named yet"
    )
    databricks_cloud: Literal["GCP", "AWS", "AZURE"] = "GCP"
    databricks_region: str | None = Field(
        default=None,
        description="region of Databricks VMs whose zone is AUTO/HA (default: the first of prices.regions)",
    )
    learn_days: int = Field(default=14, ge=1, le=90, description="DBU rates and SKUs learned from this much billing")
    correction_days: int = Field(default=7, ge=1, le=90, description="hourly errors a correction factor learns from")
    correction_min_samples: int = Field(default=12, ge=1, description="hours needed before a factor applies")
    correction_min: float = Field(default=0.8, gt=0, le=1, description="lowest factor ever applied")
    correction_max: float = Field(default=1.25, ge=1, description="highest factor ever applied")
    min_hour_usd: float = Field(default=1.0, ge=0, description="hours estimated below this teach no factor")

    @field_validator("databricks_region")
    @classmethod
    def _region(cls, v: str | None) -> str | None:
        if v is not None and not _REGION.match(v):
            raise ValueError(f"not a region name (like us-central1): {v}")
        return v

    @model_validator(mode="after")
    def _window(self) -> LiveConfig:
        if self.stale_after <= dt.timedelta(0):
            raise ValueError("stale_after must be positive")
        return self

    def settle_for(self, source: str) -> dt.timedelta:
        """The settle time of one cost source table."""
        return self.settle_by_source.get(source, self.settle)
