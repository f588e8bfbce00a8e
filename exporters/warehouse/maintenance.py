"""Lake upkeep for the Delta engine: compact the small files hourly ingests leave, vacuum old ones.

Compaction and vacuum are delta-rs operations that are safe while readers read (DESIGN §4); vacuum keeps
a week of history so a reader holding an older snapshot and time travel for audits keep working.
"""

from __future__ import annotations

import logging

from exporters.warehouse.engine import Warehouse
from exporters.warehouse.schema import TABLES

log = logging.getLogger(__name__)

RETENTION_HOURS = 168


def compact_all(wh: Warehouse) -> int:
    """Compact and vacuum every table of a DuckDbLake; returns files removed. Other engines: nothing to do."""
    from exporters.warehouse.duckdb import DuckDbLake

    if not isinstance(wh, DuckDbLake):
        return 0
    removed = 0
    for name in TABLES:
        dt = wh._delta(name)
        if dt is None:
            continue
        with wh._write_locks[name]:
            metrics = dt.optimize.compact()
            removed += int(metrics.get("numFilesRemoved", 0))
            dt.vacuum(retention_hours=RETENTION_HOURS, dry_run=False, enforce_retention_duration=True)
        log.info("maintenance table:%s files_removed:%s", name, metrics.get("numFilesRemoved", 0))
    return removed
