"""The collector contract: `collect(ctx)` yields `Batch`es and `Quarantined` rows; the runner writes them.

A collector does I/O in a thin `fetch` and parses in pure functions; its clients are injected through
the constructor (tests pass a real SDK client pointed at a local server), never patched globals.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import pyarrow as pa

from spendscope.clock import Clock, system_clock
from spendscope.errors import InputError

if TYPE_CHECKING:
    from exporters.warehouse import Key, Warehouse
    from spendscope.config import CollectorBase, Settings


@dataclass
class Batch:
    """Rows for one table that replace, whole and atomically, every partition named in `keys`."""

    table: str
    data: pa.Table | Iterable[pa.RecordBatch]
    keys: Sequence[Key] = ()
    # Ingest-state rows to record once the data is committed: (source, partition, watermark, ...).
    state: Sequence[dict[str, Any]] = ()
    # The rows already live in the warehouse (a BigQuery view over the billing export): write nothing,
    # but record `state` and refresh the derived tables for the days in `keys`.
    in_place: bool = False


@dataclass(frozen=True)
class Quarantined:
    """A row an ingest could not take: where it was and why. Written to the `quarantine` table."""

    table: str
    file: str
    line: int | None
    reason: str
    raw: str = ""


@dataclass
class RunContext:
    """What a collector run may use: settings, the warehouse (to read watermarks), the clock."""

    settings: Settings
    warehouse: Warehouse
    clock: Clock = system_clock
    options: dict[str, Any] = field(default_factory=dict)

    def now(self) -> dt.datetime:
        return self.clock()


Item = Batch | Quarantined
_FILE_COLLECTORS = "gcp-billing, databricks, focus, nvidia-smi"


class Collector(abc.ABC):
    """One source. Subclasses set `name` and implement `collect`; file ingest is `collect_files`."""

    name: ClassVar[str]
    # Its `[collectors.<section>]` table; the scheduling keys (enabled, interval, misfire grace) are read there.
    section: ClassVar[str | None] = None

    @classmethod
    @abc.abstractmethod
    def from_settings(cls, settings: Settings) -> Collector:
        """Build the collector from its config section, creating real clients lazily (not at import)."""

    def schedule(self, settings: Settings) -> CollectorBase | None:
        """The config section with this collector's scheduling keys; None for one that has no section."""
        return getattr(settings.collectors, self.section) if self.section else None

    def enabled(self, settings: Settings) -> bool:
        """Whether the daemon schedules this collector (one without a section never is)."""
        cfg = self.schedule(settings)
        return bool(cfg and cfg.enabled)

    def interval_minutes(self, settings: Settings) -> float:
        cfg = self.schedule(settings)
        return cfg.interval_minutes if cfg else 60.0

    def misfire_grace_seconds(self, settings: Settings) -> int:
        cfg = self.schedule(settings)
        return cfg.misfire_grace_seconds if cfg else 300

    @abc.abstractmethod
    def collect(self, ctx: RunContext) -> Iterator[Item]:
        """Pull what is new from the configured source (incremental, idempotent)."""

    def collect_files(self, ctx: RunContext, paths: Sequence[str]) -> Iterator[Item]:
        """Ingest exported files instead of the live source."""
        raise InputError(f"{self.name} does not ingest files; --from-file works with {_FILE_COLLECTORS}")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the collector holds between runs (NVML, HTTP clients); the daemon calls it on stop."""
