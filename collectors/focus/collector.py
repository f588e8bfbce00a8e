"""FOCUS collector: `spendscope collect focus --from-file PATH...` and the configured `paths` globs.

Takes FOCUS 1.0–1.2 files (1.3/1.4 tolerated) as CSV, gzip CSV or Parquet from any provider (AWS
CUR 2.0 FOCUS export, Azure Cost Management FOCUS export, GCP FOCUS export/view, OCI) into
`focus_import`; the runner then derives `focus_costs` for the days touched.

Replace semantics (why this key). A provider re-delivers its monthly export with updates under the same
file name (AWS overwrites `…/BILLING_PERIOD=2025-01/<export>-00001.snappy.parquet`, Azure writes
`part_0_0001.csv.gz` again in a new run folder), while different files covering the same days (parts of
one export, several accounts or providers) are all real costs. So a file's identity is its base name,
stored as `x_SourceFile`, and each file replaces the keys {x_SourceFile, _day} for every UTC day of
ChargePeriodStart it holds: re-ingesting a file, or a newer delivery of it, gives the same totals, and
files with other names are never touched. Keying by day too keeps a replace to the partitions a file
covers (AWS part 00001 of January does not erase part 00001 of February). Files passed in one run
that share a base name (two accounts' exports with the same export name) are written as one batch,
so both are kept; a later run re-reads every configured file of that name together for the same reason.
Limits: a re-delivery with fewer parts leaves the vanished part's rows until it is deleted by hand; a
file renamed between deliveries is counted twice; same-named files must be passed together (one of them
alone replaces both on the days they share), so for Azure keep only the latest run folder (or use the
export's overwrite option) rather than globbing every run. Quarantined rows carry the CSV's physical
line (found by a second read, only for files with bad rows) or the Parquet row number.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from collectors import registry
from collectors.base import Batch, Collector, Item, Quarantined, RunContext
from collectors.focus.files import FocusFile, expand, iter_columns, locate_csv_rows, open_header
from collectors.focus.parse import KNOWN_COLUMNS, charge_days, missing_required, parse_batch, raw_row
from spendscope.config import FocusConfig, Settings
from spendscope.errors import MissingColumnsError, SpendscopeError

log = logging.getLogger(__name__)

TABLE = "focus_import"
STATE_SOURCE = "focus:file"


@registry.register("focus")
class FocusCollector(Collector):
    """FOCUS cost-and-usage files from any provider, into `focus_import`."""

    name = "focus"
    section = "focus"

    def __init__(self, config: FocusConfig | None = None) -> None:
        self.config = config or FocusConfig()

    @classmethod
    def from_settings(cls, settings: Settings) -> FocusCollector:
        return cls(settings.collectors.focus)

    def enabled(self, settings: Settings) -> bool:
        cfg = settings.collectors.focus
        return cfg.enabled and bool(cfg.paths)

    def collect(self, ctx: RunContext) -> Iterator[Item]:
        """Ingest the configured globs: only file names with a file changed since it was last ingested."""
        files = expand(self.config.paths, strict=False)
        seen = _ingested_mtimes(ctx)
        changed = {os.path.basename(f) for f in files if seen.get(os.path.abspath(f), _EPOCH) < _mtime(f)}
        todo = [f for f in files if os.path.basename(f) in changed]
        log.info("focus files:%s changed-names:%s", len(files), len(changed))
        # Unattended runs set a broken file aside (quarantined with the reason) and ingest the rest;
        # `--from-file` instead refuses the whole command, so a person sees the problem first.
        usable = []
        for path in todo:
            try:
                header = open_header(path)
                missing = missing_required(header.columns) if header.kind != "empty" else []
                if missing:
                    raise MissingColumnsError(path, missing)
                usable.append(path)
            except SpendscopeError as exc:
                yield Quarantined(TABLE, path, None, f"file skipped: {exc}")
        if usable:
            yield from ingest(usable)

    def collect_files(self, ctx: RunContext, paths: Sequence[str]) -> Iterator[Item]:
        """Ingest `paths` (files, directories or globs) whatever was ingested before."""
        yield from ingest(expand(paths))


def ingest(paths: Sequence[str]) -> Iterator[Item]:
    """Batches (one per base name) and quarantined rows for `paths`; every header is checked first."""
    files = [open_header(p) for p in paths]
    bad = {f.path: missing_required(f.columns) for f in files if f.kind != "empty"}
    bad = {p: m for p, m in bad.items() if m}
    if bad:
        raise MissingColumnsError(", ".join(bad), sorted({c for m in bad.values() for c in m}))
    groups: dict[str, list[FocusFile]] = {}
    for f in files:
        if f.kind != "empty":
            groups.setdefault(f.name, []).append(f)
    for name, group in groups.items():
        yield from _ingest_group(name, group)


def _ingest_group(name: str, group: list[FocusFile]) -> Iterator[Item]:
    days: set[dt.date] = set()
    for f in group:
        for cols in iter_columns(f, ["ChargePeriodStart"]):
            days |= charge_days(cols["ChargePeriodStart"])
    quarantined: list[Quarantined] = []
    state: list[dict[str, Any]] = []  # filled while the runner streams `data`; read after it commits
    data = _rows(group, quarantined, state)
    if days:
        keys = [{"x_SourceFile": name, "_day": d} for d in sorted(days)]
        yield Batch(table=TABLE, data=data, keys=keys, state=state)
    else:
        for _ in data:  # no row has a usable day: nothing to write, but its rows must be quarantined
            pass
    yield from quarantined


def _rows(
    group: list[FocusFile], quarantined: list[Quarantined], state: list[dict[str, Any]]
) -> Iterator[pa.RecordBatch]:
    for f in group:
        bad: dict[int, tuple[str, str]] = {}
        skipped: list[str] = []
        offset = rows = 0
        cost = 0.0
        end: dt.datetime | None = None
        for cols in iter_columns(f, KNOWN_COLUMNS, skipped):
            parsed = parse_batch(cols, f.name, f.path)
            for i, reason in parsed.bad:
                bad[offset + i] = (reason, raw_row(cols, i))
            offset += len(next(iter(cols.values())))
            t = parsed.table
            if t.num_rows:
                rows += t.num_rows
                cost += pc.sum(t.column("BilledCost")).as_py() or 0.0
                batch_end = pc.max(t.column("ChargePeriodEnd")).as_py()
                end = batch_end if end is None or (batch_end and batch_end > end) else end
                yield from t.to_batches()
        quarantined.extend(_quarantine(f, bad, skipped))
        state.append(
            {
                "source": STATE_SOURCE,
                "partition": os.path.abspath(f.path),
                "watermark": _mtime(f.path),
                "max_usage_end": end,
                "rows": rows,
                "cost": cost,
                "_source": f.path,
            }
        )
        log.info("focus file:%s rows:%s quarantined:%s", f.path, rows, len(bad) + len(skipped))


def _quarantine(f: FocusFile, bad: dict[int, tuple[str, str]], skipped: list[str]) -> list[Quarantined]:
    """Quarantined rows with file and line: a CSV's physical line (found by a second read), a Parquet row number."""
    if f.kind != "csv" or not (bad or skipped):
        return [Quarantined(TABLE, f.path, i + 1, reason, raw) for i, (reason, raw) in sorted(bad.items())]
    located, malformed = locate_csv_rows(f, set(bad))
    out = [
        Quarantined(TABLE, f.path, line, f"expected {len(f.names)} fields, found {width}", text)
        for line, width, text in malformed
    ]
    # Rows pyarrow skipped that the second read could not place (it stopped early) are still reported.
    out += [Quarantined(TABLE, f.path, None, "wrong number of fields", t) for t in skipped[len(malformed) :]]
    for i, (reason, raw) in sorted(bad.items()):
        line, text = located.get(i, (None, raw))
        out.append(Quarantined(TABLE, f.path, line, reason, text))
    return sorted(out, key=lambda q: q.line or 0)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _mtime(path: str) -> dt.datetime:
    # Exact microseconds, as the watermark column stores them, so an unchanged file compares equal.
    return _EPOCH + dt.timedelta(microseconds=os.stat(path).st_mtime_ns // 1000)


def _ingested_mtimes(ctx: RunContext) -> dict[str, dt.datetime]:
    rows = ctx.warehouse.query(
        "SELECT `partition` AS p, MAX(watermark) AS w FROM ingest_state WHERE source = @source GROUP BY 1",
        {"source": STATE_SOURCE},
    ).to_pylist()
    return {r["p"]: r["w"] for r in rows if r["w"] is not None}
