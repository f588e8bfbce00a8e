"""Auto-shutdown of idle clusters: Databricks terminate, GCE stop, GKE node-pool resize to zero.

`ActionEngine` enforces every safety rule (dry-run default, mark → warn → grace → act, protection labels and
exemptions, blast radius, stale data, idempotency) and logs each step to `action_log`; the actions only know
their API.
"""

from __future__ import annotations

from alerts.actions.base import Action, LiveState
from alerts.actions.engine import ActionEngine, ActionRun
from alerts.actions.log import recent_actions

__all__ = ["Action", "ActionEngine", "ActionRun", "LiveState", "recent_actions"]
