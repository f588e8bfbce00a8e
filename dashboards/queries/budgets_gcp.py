"""The Budgets page's GCP section: the billing account's budgets (the last `gcp_budgets` snapshot) beside ours.

Never calls the Budget API: the snapshot is written by the `gcp-budgets` collector (the daemon, `spendscope
collect gcp-budgets`) and by `spendscope budgets sync --apply`. Ours are the month budget rules' planned GCP
budgets (collectors/gcp_budgets/plan.py), with the budgets that map to none and why.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from collectors.gcp_budgets.diff import BESIDE, beside
from collectors.gcp_budgets.sync import desired_plan, read_snapshot
from exporters.warehouse.engine import Warehouse
from spendscope.config import Settings


def gcp_budgets_status(wh: Warehouse, s: Settings) -> dict[str, Any]:
    """Whether [gcp_budgets] is configured, its account, when its budgets were last synced and how many there were."""
    account = s.gcp_budgets.billing_account
    if not account:
        return {"configured": False, "billing_account": None, "synced_at": None, "budgets": 0, "daemon": False}
    snap = read_snapshot(wh, account)
    return {"configured": True, "billing_account": account, "synced_at": snap.synced_at,
            "budgets": len(snap.budgets), "daemon": s.gcp_budgets.enabled}  # fmt: skip


def gcp_budgets_beside_ours(wh: Warehouse, s: Settings, now: dt.datetime | None = None) -> pa.Table:
    """Our month budgets and the account's budgets side by side (diff.BESIDE); empty when not configured."""
    account = s.gcp_budgets.billing_account
    if not account:
        return BESIDE.empty_table()
    return beside(desired_plan(wh, s, now), read_snapshot(wh, account).budgets)
