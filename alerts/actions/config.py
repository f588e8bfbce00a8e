"""`[alerts.actions]`: the safety settings the action engine enforces for every auto-shutdown."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from spendscope.config_base import Duration, Strict


class ActionsConfig(Strict):
    """Auto-shutdown of idle clusters. Dry-run unless `dry_run = false`; idle rules opt in with `shutdown: true`."""

    dry_run: bool = Field(default=True, description="record planned steps only; no API call is made")
    grace: Duration = Field(default=dt.timedelta(minutes=30), description="time between the warning and the action")
    max_per_run: int = Field(default=2, ge=0, description="blast radius: actions per evaluation")
    max_per_hour: int = Field(default=5, ge=0, description="blast radius: actions per rolling hour")
    protect_label: str = Field(default="spendscope-protect", description="label/tag that exempts a resource")
    protect_value: str = Field(default="true")
    exempt: list[str] = Field(
        default_factory=list, description="resource ids or names (globs) never acted on, e.g. 'prod-*'"
    )
    max_data_age: Duration = Field(
        default=dt.timedelta(minutes=10), description="no action when the newest GPU sample is older than this"
    )
    databricks_host: str | None = Field(default=None, description="default: collectors.databricks.host")
    databricks_token_env: str | None = Field(default=None, description="default: collectors.databricks.token_env")
    compute_endpoint: str | None = Field(default=None, description="override the Compute API endpoint (tests)")
    container_endpoint: str | None = Field(default=None, description="override the GKE API endpoint (tests)")
