"""Who may change things from the dashboard (ack alerts, add and expire silences): one check, one place.

There is no login yet: every viewer may write unless the deployment sets SPENDSCOPE_DASHBOARD_READONLY=1. The
security issue replaces the body of `can_write` (e.g. with the signed-in user's role); pages only call it.
"""

from __future__ import annotations

import os

READONLY_ENV = "SPENDSCOPE_DASHBOARD_READONLY"


def can_write() -> bool:
    """May this viewer ack and silence? True unless SPENDSCOPE_DASHBOARD_READONLY=1; the auth issue swaps this body."""
    return os.environ.get(READONLY_ENV, "").strip() != "1"
