"""nvidia-smi collector: `nvidia-smi --query-gpu=… --format=csv`, live or from saved output files.

For hosts where only the driver's tool is there (Databricks GPU nodes, through an init script that runs
`nvidia-smi --query-gpu=<FIELDS> --format=csv -l 30 >> /dbfs/…/$(hostname).csv`).

Live (`spendscope collect nvidia-smi`, or the daemon without `paths`): runs `command` with a fixed field
list (the runner is injectable for tests), stamps every row with the run's time (`ctx.now()`: one sampling
instant, no guessing of the host's time zone) and appends to gpu_samples. A driver that rejects a newer
field (`memory.reserved`, `clocks_event_reasons.active`, …: "is not a valid field to query") is asked
again with the older field list, which is then kept. A missing command is a SourceError naming it.

Files (`--from-file PATH...`, or the configured `paths` globs): each file is parsed whole (gzip too) and
replaces the keys {_source: its real path, _day} for every UTC day it holds, so ingesting the same file
again — or the same file after more lines were appended — never doubles a row. Host of a file's rows:
a `# host: NAME` line in the file, else `collectors.nvidia_smi.host`, else the file name without its
extension (`gpu-node-3.csv` → `gpu-node-3`, the init-script convention). Timestamps are the host's local
time: read in the zone of a `# tz: Area/City` line, else UTC (Databricks and GCE images run in UTC). A
file without a timestamp column gets the file's modification time. With `--from-file`, a file missing
`index` or `uuid` stops the command before anything is written; the daemon instead sets such a file aside
(quarantined) and ingests the rest, and only re-reads a configured file when its mtime changed.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import subprocess
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa

from collectors import registry
from collectors.base import Batch, Collector, Item, Quarantined, RunContext
from collectors.common import files
from collectors.gpu import smi_csv
from exporters.warehouse.schema.telemetry import GPU_SAMPLES
from spendscope.config import Settings
from spendscope.config_telemetry import NvidiaSmiConfig
from spendscope.errors import InputError, MissingColumnsError, SourceError

log = logging.getLogger(__name__)

TABLE = "gpu_samples"
_BASE = ("index", "uuid", "name", "pci.bus_id", "driver_version", "utilization.gpu", "utilization.memory",
         "memory.total", "memory.used", "memory.free", "power.draw", "temperature.gpu", "temperature.memory",
         "clocks.sm", "clocks.mem", "ecc.errors.corrected.volatile.total", "ecc.errors.uncorrected.volatile.total",
         "retired_pages.single_bit_ecc.count", "retired_pages.double_bit.count", "mig.mode.current")  # fmt: skip
# What R450+ drivers all know; the full list adds fields of newer drivers (R535+ names the reasons "event").
QUERY_BASE = (*_BASE, "clocks_throttle_reasons.active")
QUERY = (*_BASE, "memory.reserved", "clocks_event_reasons.active", "remapped_rows.correctable",
         "remapped_rows.uncorrectable", "remapped_rows.failure")  # fmt: skip
_REJECTED_FIELD = "is not a valid field to query"


@dataclass(frozen=True)
class RunResult:
    """What running a command gave: exit status, stdout, stderr."""

    returncode: int
    stdout: str
    stderr: str


Runner = Callable[[Sequence[str], float], RunResult]


def run_command(argv: Sequence[str], timeout: float) -> RunResult:
    """Run `argv` with a timeout; a missing or hanging command is a SourceError that names it."""
    try:
        p = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise SourceError(
            f"nvidia-smi not found: {argv[0]!r} is not installed or not on PATH "
            "(set collectors.nvidia_smi.command, or use --from-file with saved output)"
        ) from None
    except subprocess.TimeoutExpired:
        raise SourceError(f"nvidia-smi did not answer within {timeout:g}s: {' '.join(argv[:1])}") from None
    except OSError as exc:
        raise SourceError(f"cannot run {argv[0]!r}: {exc.strerror or exc}") from None
    return RunResult(p.returncode, p.stdout, p.stderr)


@registry.register("nvidia-smi")
class NvidiaSmiCollector(Collector):
    """GPU samples from nvidia-smi's CSV query output (live, or saved files), into gpu_samples."""

    name = "nvidia-smi"
    section = "nvidia_smi"

    def __init__(
        self, config: NvidiaSmiConfig | None = None, runner: Runner = run_command, timeout_seconds: float = 20.0
    ) -> None:
        self.config = config or NvidiaSmiConfig()
        self.runner = runner
        self.timeout_seconds = timeout_seconds
        self.fields: tuple[str, ...] = QUERY
        self._ingested: dict[str, int] = {}  # real path → mtime_ns already ingested (daemon polling `paths`)

    @classmethod
    def from_settings(cls, settings: Settings) -> NvidiaSmiCollector:
        return cls(settings.collectors.nvidia_smi)

    def collect(self, ctx: RunContext) -> Iterator[Item]:
        """The configured `paths` (changed files only) if any, else one live query."""
        if self.config.paths:
            todo = []
            for path in files.expand(self.config.paths, strict=False):
                real, mtime = os.path.realpath(path), _mtime_ns(path)
                if self._ingested.get(real) != mtime:
                    todo.append((path, real, mtime))
            for path, real, mtime in todo:
                try:
                    yield from _ingest(self._read(path))
                except InputError as exc:
                    yield Quarantined(TABLE, str(path), None, f"file skipped: {exc}")
                self._ingested[real] = mtime
            return
        yield from self._live(ctx)

    def collect_files(self, ctx: RunContext, paths: Sequence[str]) -> Iterator[Item]:
        """Ingest saved outputs; every file is read and checked before anything is written."""
        parsed = [self._read(p) for p in files.expand(paths)]
        for f in parsed:
            if f.result.missing:
                raise MissingColumnsError(f.path, f.result.missing)
        for f in parsed:
            yield from _ingest(f)

    # -- live -------------------------------------------------------------------------------------

    def _live(self, ctx: RunContext) -> Iterator[Item]:
        now = ctx.now()
        text = self._query()
        result = smi_csv.parse(text, default_ts=now)
        if result.missing:
            raise SourceError(f"nvidia-smi output lacks {', '.join(result.missing)}: {text[:200]!r}")
        host = self.config.host or socket.gethostname()
        target = " ".join(self.config.command)
        rows = [_complete(r, host, target, f"nvidia-smi:{host}") for r in result.rows]
        log.info("nvidia-smi live rows:%s bad:%s", len(rows), len(result.bad))
        if rows:
            yield Batch(TABLE, pa.Table.from_pylist(rows, schema=GPU_SAMPLES), keys=[])
        for line, reason, raw in result.bad:
            yield Quarantined(TABLE, target, line, reason, raw)

    def _query(self) -> str:
        res = self._run(self.fields)
        if _rejected(res) and self.fields != QUERY_BASE:
            log.info("nvidia-smi:older-driver %s; using the base field list", _first_line(res))
            self.fields = QUERY_BASE
            res = self._run(self.fields)
        if res.returncode != 0 or _rejected(res):
            raise SourceError(f"nvidia-smi failed (exit {res.returncode}): {_first_line(res)}")
        return res.stdout

    def _run(self, fields: Sequence[str]) -> RunResult:
        argv = [*self.config.command, f"--query-gpu={','.join(fields)}", "--format=csv"]
        return self.runner(argv, self.timeout_seconds)

    # -- files ------------------------------------------------------------------------------------

    def _read(self, path: str | os.PathLike[str]) -> _File:
        text = files.read_text(path)
        mtime = dt.datetime.fromtimestamp(_mtime_ns(path) / 1e9, dt.UTC)
        head = smi_csv.parse(_comments(text))  # the `# tz:` line must be known before timestamps are read
        tz = _zone(head.meta.get("tz"), str(path))
        result = smi_csv.parse(text, tz=tz, default_ts=mtime)
        host = result.meta.get("host") or self.config.host or _stem(path)
        return _File(str(path), os.path.realpath(path), host, result)


@dataclass
class _File:
    path: str
    real: str
    host: str
    result: smi_csv.SmiParse


def _ingest(f: _File) -> Iterator[Item]:
    if f.result.missing:
        raise MissingColumnsError(f.path, f.result.missing)
    rows = [_complete(r, f.host, f.path, f.real) for r in f.result.rows]
    days = sorted({r["_day"] for r in rows})
    log.info("nvidia-smi file:%s host:%s rows:%s bad:%s", f.path, f.host, len(rows), len(f.result.bad))
    if rows:
        keys = [{"_source": f.real, "_day": d} for d in days]
        yield Batch(TABLE, pa.Table.from_pylist(rows, schema=GPU_SAMPLES), keys=keys)
    for line, reason, raw in f.result.bad:
        yield Quarantined(TABLE, f.path, line, reason, raw)


def _complete(row: dict[str, Any], host: str, target: str, source: str) -> dict[str, Any]:
    ts: dt.datetime = row["ts"]
    return {**row, "host": host, "source": "nvidia-smi", "target": target, "_source": source,
            "_day": ts.astimezone(dt.UTC).date()}  # fmt: skip


def _stem(path: str | os.PathLike[str]) -> str:
    """`gpu-node-3.csv.gz` → `gpu-node-3`; dots inside a host name are kept (`node.example.com.csv`)."""
    name = Path(path).name.removesuffix(".gz")
    return os.path.splitext(name)[0] or name


def _comments(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if line.lstrip().startswith("#"))


def _zone(name: str | None, path: str) -> dt.tzinfo:
    if not name:
        return dt.UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InputError(f"{path}: unknown time zone in '# tz: {name}' (use an IANA name like Europe/Berlin)") from None


def _mtime_ns(path: str | os.PathLike[str]) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _rejected(res: RunResult) -> bool:
    return _REJECTED_FIELD in res.stdout or _REJECTED_FIELD in res.stderr


def _first_line(res: RunResult) -> str:
    text = (res.stderr.strip() or res.stdout.strip() or "no output").splitlines()
    return text[0][:300] if text else "no output"
