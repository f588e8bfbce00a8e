"""Config of the GCP budgets sync (`[gcp_budgets]`): which billing account, how often the daemon snapshots its budgets.

The daemon only reads (a snapshot of the account's budgets into the `gcp_budgets` table every `interval_minutes`);
creating or updating GCP budgets from our rules is always a manual `spendscope budgets sync --apply`.
Credentials are Application Default Credentials; an `http://` api_endpoint (a local test server) uses none.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from spendscope.config_base import CollectorBase

_ACCOUNT = re.compile(r"[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}")


class GcpBudgetsConfig(CollectorBase):
    """The Cloud Billing Budget API: list the billing account's budgets, and create/update ours on request."""

    billing_account: str | None = Field(
        default=None, description="billing account ID, e.g. 012345-6789AB-CDEF01 (billingAccounts/ prefix optional)"
    )
    api_endpoint: str | None = Field(
        default=None, description="override billingbudgets.googleapis.com (http://… = a local test server, no auth)"
    )
    interval_minutes: float = Field(default=360, gt=0, description="how often the daemon snapshots the budgets")
    timeout_seconds: float = Field(default=60, gt=0, description="per API call")

    @field_validator("billing_account")
    @classmethod
    def _account_id(cls, v: str | None) -> str | None:
        if v is None:
            return v
        ident = v.strip().removeprefix("billingAccounts/").upper()
        if not _ACCOUNT.fullmatch(ident):
            raise ValueError(f"{v!r} is not a billing account ID (XXXXXX-XXXXXX-XXXXXX, hex digits)")
        return ident

    @field_validator("api_endpoint")
    @classmethod
    def _endpoint(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("api_endpoint is empty; leave it out for the real API")
        return v.rstrip("/") if v else v

    @model_validator(mode="after")
    def _runnable(self) -> GcpBudgetsConfig:
        if self.enabled and not self.billing_account:
            raise ValueError("enabled = true needs billing_account (the Cloud Billing account ID)")
        return self

    @property
    def parent(self) -> str:
        """`billingAccounts/<id>`, the budgets' parent; call only when billing_account is set."""
        assert self.billing_account is not None
        return f"billingAccounts/{self.billing_account}"
