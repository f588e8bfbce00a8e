"""`action_log` reads and writes: every auto-shutdown step, and the engine's state rebuilt from them.

The engine keeps nothing in memory between runs: a resource's state is its latest step (per action and
resource id), so a restarted daemon, or the CLI, continues exactly where the last run stopped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from exporters.warehouse.engine import Warehouse
from exporters.warehouse.schema.alerts import ACTION_LOG

TABLE = "action_log"
SOURCE = "alerts.actions"
# How far back open marks are looked for: a mark older than this is forgotten (a new one warns again).
LOOKBACK = dt.timedelta(days=35)
# Steps that count against the blast radius: attempts (a failed one may have half-acted) and dry-run plans.
ATTEMPTS = ("planned", "executed", "failed")

# `at` is quoted: DuckDB reserves the word. marked and warned are written at the same instant: the rank keeps
# "warned" the latest of the two.
LATEST_SQL = f"""
SELECT * FROM {TABLE}
WHERE _day >= @since
QUALIFY ROW_NUMBER() OVER (
  PARTITION BY action, resource_id
  ORDER BY `at` DESC, CASE step WHEN 'marked' THEN 0 WHEN 'warned' THEN 1 ELSE 2 END DESC
) = 1
"""

ATTEMPTS_SQL = f"""
SELECT COUNT(*) AS n FROM {TABLE}
WHERE _day >= @day AND `at` > @since AND step IN UNNEST(@steps)
"""

RECENT_SQL = f"""
SELECT `at`, step, action, platform, resource_id, resource_name, project, location, dry_run, reason,
  act_after, saving_usd_per_hour, request, evidence, fingerprint, run_id
FROM {TABLE}
WHERE _day >= @day AND `at` >= @since
ORDER BY `at` DESC, CASE step WHEN 'marked' THEN 0 WHEN 'warned' THEN 1 ELSE 2 END DESC
"""


@dataclass(frozen=True)
class LastStep:
    """The latest action_log row of one (action, resource_id)."""

    row: Mapping[str, Any]

    @property
    def step(self) -> str:
        return str(self.row["step"])

    @property
    def at(self) -> dt.datetime:
        at: dt.datetime = self.row["at"]
        return at

    @property
    def act_after(self) -> dt.datetime | None:
        value: dt.datetime | None = self.row["act_after"]
        return value

    @property
    def reason_code(self) -> str:
        """The reason up to its first ':' ("blast radius", "stale data", …): what dedups skipped records."""
        return str(self.row["reason"] or "").split(":", 1)[0]

    @property
    def open_mark(self) -> bool:
        """A warning went out and no final step followed (waiting out the grace, or retrying a blocked act)."""
        return self.step in ("marked", "warned", "skipped") and self.act_after is not None


def latest_steps(wh: Warehouse, now: dt.datetime) -> dict[tuple[str, str], LastStep]:
    """(action, resource_id) → its latest step within LOOKBACK of `now`."""
    rows = wh.query(LATEST_SQL, {"since": (now - LOOKBACK).astimezone(dt.UTC).date()}).to_pylist()
    return {(r["action"], r["resource_id"]): LastStep(r) for r in rows}


def attempts_since(wh: Warehouse, since: dt.datetime) -> int:
    """Planned, executed and failed steps after `since` (the rolling-hour blast radius)."""
    got = wh.query(
        ATTEMPTS_SQL, {"day": since.astimezone(dt.UTC).date(), "since": since, "steps": list(ATTEMPTS)}
    ).to_pylist()
    return int(got[0]["n"] or 0) if got else 0


def write(wh: Warehouse, rows: Sequence[Mapping[str, Any]]) -> int:
    """Append action_log rows (each already carries `_day`, the UTC day of `at`)."""
    if not rows:
        return 0
    return wh.append(TABLE, pa.Table.from_pylist([dict(r) for r in rows], schema=ACTION_LOG))


def recent_actions(wh: Warehouse, since: dt.datetime) -> pa.Table:
    """Every action_log step at or after `since`, latest first (`spendscope actions list`)."""
    return wh.query(RECENT_SQL, {"day": since.astimezone(dt.UTC).date(), "since": since})
