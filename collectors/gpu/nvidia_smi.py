"""nvidia-smi collector: `nvidia-smi --query-gpu=… --format=csv`, live or from saved output files.

For hosts where only the driver's tool is there (Databricks GPU nodes, through an init script that runs
`nvidia-smi --query-gpu=<FIELDS> --format=csv -l 30 >> /dbfs/…/$(hostname).csv`).

Live (`spendscope collect nvidia-smi`, or the daemon without `paths`): runs `command` with a fixed field
list (the runner is injectable for tests), stamps every row with the run's time (`ctx.now()`: one sampling
instant, no guessing of the host's time zone) and appends to gpu_samples. A driver that rejects a newer
field (`memory.reserved`, `clocks_event_reasons.active`, …: "is not a valid field to query") is asked
again with the older field list, which is then kept. A missing command is a SourceError naming it.

Files (smi_files.py): `--from-file PATH...` parses each file whole (gzip too) and replaces the keys
{_source: its real path, _day} for every UTC day it holds, so ingesting the same file again — or after more
lines were appended — never doubles a row. The daemon's `paths` globs are followed instead: each file is
read whole once, then only its appended lines are parsed and appended, and days before the raw-retention cut
are never written. Host of a file's rows: a `# host: NAME` line in the file, else
`collectors.nvidia_smi.host`, else the file name without its extension (`gpu-node-3.csv` → `gpu-node-3`,
the init-script convention). Timestamps are the host's local time: read in the zone of a `# tz: Area/City`
line, else UTC (Databricks and GCE images run in UTC). A file without a timestamp column gets the file's
modification time. A `noheader` file is read with `collectors.nvidia_smi.fields`. With `--from-file`, a
file that cannot be ingested (no `index`/`uuid`, header-less without `fields`) stops the command before
anything is written; the daemon instead sets such a file aside (quarantined) and ingests the rest.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import subprocess
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import pyarrow as pa

from collectors import registry
from collectors.base import Batch, Collector, Item, Quarantined, RunContext
from collectors.common import files
from collectors.gpu import smi_csv, smi_files
from exporters.warehouse.schema.telemetry import GPU_SAMPLES
from spendscope.config import Settings
from spendscope.config_telemetry import NvidiaSmiConfig
from spendscope.errors import SourceError

log = logging.getLogger(__name__)

TABLE = "gpu_samples"
# ECC: the aggregate (lifetime) counts, the meaning ecc_*_total has for every source (smi_csv.py).
_BASE = ("index", "uuid", "name", "pci.bus_id", "driver_version", "utilization.gpu", "utilization.memory",
         "memory.total", "memory.used", "memory.free", "power.draw", "temperature.gpu", "temperature.memory",
         "clocks.sm", "clocks.mem", "ecc.errors.corrected.aggregate.total", "ecc.errors.uncorrected.aggregate.total",
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
        self.follower = smi_files.Follower(self.config)  # what of each `paths` file was read (daemon)

    @classmethod
    def from_settings(cls, settings: Settings) -> NvidiaSmiCollector:
        return cls(settings.collectors.nvidia_smi)

    def collect(self, ctx: RunContext) -> Iterator[Item]:
        """What the configured `paths` gained since the last cycle if any are set, else one live query."""
        if self.config.paths:
            keep = ctx.settings.telemetry.raw_retention_days
            cut = ctx.now().astimezone(dt.UTC).date() - dt.timedelta(days=keep - 1)  # as gpu_rollup.prune_raw
            found = files.expand(self.config.paths, strict=False)
            self.follower.forget_except({os.path.realpath(p) for p in found})
            for path in found:
                yield from self.follower.poll(path, cut)
            return
        yield from self._live(ctx)

    def collect_files(self, ctx: RunContext, paths: Sequence[str]) -> Iterator[Item]:
        """Ingest saved outputs whole (keyed by file and day); every file is checked before anything is written."""
        parsed = [smi_files.read_whole(p, self.config) for p in files.expand(paths)]
        for f in parsed:
            f.check()
        for f in parsed:
            yield from smi_files.items(f, replace=True)

    # -- live -------------------------------------------------------------------------------------

    def _live(self, ctx: RunContext) -> Iterator[Item]:
        now = ctx.now()
        text = self._query()
        result = smi_csv.parse(text, default_ts=now)
        if result.missing:
            raise SourceError(f"nvidia-smi output lacks {', '.join(result.missing)}: {text[:200]!r}")
        host = self.config.host or socket.gethostname()
        target = " ".join(self.config.command)
        rows = [smi_files.complete_row(r, host, target, f"nvidia-smi:{host}") for r in result.rows]
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


def _rejected(res: RunResult) -> bool:
    return _REJECTED_FIELD in res.stdout or _REJECTED_FIELD in res.stderr


def _first_line(res: RunResult) -> str:
    text = (res.stderr.strip() or res.stdout.strip() or "no output").splitlines()
    return text[0][:300] if text else "no output"
