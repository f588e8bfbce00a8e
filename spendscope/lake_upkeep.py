"""The lake check, for the daemon's `lake-check` job and `spendscope lake check`: set aside unreadable data
files (exporters/warehouse/lake_check.py) and repair what depended on their days (lake_repair.py).

Repairs are driven by the set-aside log, not by this run's findings: a file set aside by a failing query (the
reader does that at once, to keep answering) or by a run that stopped half-way is repaired by the next check.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from exporters.warehouse.duckdb import DuckDbLake
from exporters.warehouse.engine import Warehouse
from exporters.warehouse.lake_check import mark_repaired, read_log
from exporters.warehouse.lake_repair import repair
from spendscope.config import Settings


@dataclass
class LakeCheck:
    """What one check found and did."""

    set_aside: list[dict[str, Any]] = field(default_factory=list)  # files this check set aside
    repaired: list[dict[str, Any]] = field(default_factory=list)  # log records repaired by it (earlier ones too)
    actions: list[str] = field(default_factory=list)  # one line per table: what the repair did

    def lines(self) -> list[str]:
        out = [f"lake check: {len(self.set_aside)} unreadable file(s) set aside, {len(self.repaired)} repaired"]
        for r in self.set_aside:
            where = r["moved_to"] or "(already missing)"
            out.append(f"  {r['table']}/{r['path']}: {r['reason']} → {where}")
        out += [f"  repair: {line}" for line in self.actions]
        return out


def check_and_repair(
    wh: Warehouse, settings: Settings, deep: bool = False, now: dt.datetime | None = None
) -> LakeCheck:
    """Set aside unreadable files (every column decoded with `deep`), then repair every pending record."""
    result = LakeCheck(set_aside=wh.check_files(deep))
    if not isinstance(wh, DuckDbLake):
        return result
    pending = [r for r in read_log(wh.root) if not r.get("repaired")]
    if pending:
        result.actions = repair(wh, pending, settings.reporting.timezone, settings.telemetry)
        mark_repaired(wh.root, pending, now or dt.datetime.now(dt.UTC))
        result.repaired = pending
    return result
