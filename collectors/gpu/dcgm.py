"""The `dcgm` collector: scrape dcgm-exporter endpoints concurrently and append one gpu_samples row per GPU.

`spendscope collect dcgm [--target URL ...]` and the daemon (every 30 s by default) run the same code. Rows
are appended (a scrape is a new observation, never a replace) with `ts` = the cycle's clock time, so every
target's rows of one cycle line up. A target that is down is logged when it goes down and when it comes
back, not every cycle; a target answering 200 with no GPU sample (an HTML page, the wrong port) counts
as failed with that reason. Only when every target fails is the run an error (the daemon marks the
collector down). Per-run figures are kept in `last_stats` for the metrics exporter. https targets are verified,
against `collectors.dcgm.ca_file` when set.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pyarrow as pa

from collectors import registry
from collectors.base import Batch, Collector, Item, RunContext
from collectors.common.http import Scrape, fetch_all
from collectors.gpu.dcgm_text import ParseStats, parse_scrape
from collectors.gpu.fields import Meta
from collectors.gpu.rows import Value, to_table
from spendscope.config import Settings
from spendscope.config_telemetry import DcgmConfig
from spendscope.errors import ConfigError, SourceError
from spendscope.tls import httpx_verify

log = logging.getLogger(__name__)

TABLE = "gpu_samples"
SOURCE = "dcgm"

Fetch = Callable[[Sequence[str], float, int], list[Scrape]]


@dataclass
class DcgmRunStats:
    """One collect cycle: targets answered or not, rows and samples stored, samples skipped."""

    targets_ok: int = 0
    targets_failed: int = 0
    rows: int = 0
    samples: int = 0
    skipped_non_numeric: int = 0
    garbage_lines: int = 0
    non_finite: int = 0
    unmapped_families: int = 0
    seconds: float = 0.0
    failures: dict[str, str] = field(default_factory=dict)  # target → why it gave no rows


@functools.lru_cache(maxsize=4096)
def _host_of(target: str) -> str | None:
    return urlsplit(target).hostname


@registry.register("dcgm")
class DcgmCollector(Collector):
    """dcgm-exporter `/metrics` endpoints → gpu_samples (append)."""

    name = "dcgm"
    section = "dcgm"

    def __init__(self, config: DcgmConfig | None = None, fetch: Fetch | None = None) -> None:
        self.config = config or DcgmConfig()
        self.fetch: Fetch = fetch or self._fetch_all
        self.last_stats: DcgmRunStats | None = None
        self._down: dict[str, str] = {}  # target → reason, while it is down (log on change only)
        self._warned_skips: set[str] = set()

    @classmethod
    def from_settings(cls, settings: Settings) -> DcgmCollector:
        return cls(settings.collectors.dcgm)

    def _fetch_all(self, targets: Sequence[str], timeout: float, concurrency: int) -> list[Scrape]:
        return fetch_all(targets, timeout, concurrency, verify=self._verify)

    @functools.cached_property
    def _verify(self) -> ssl.SSLContext | bool:
        # Once per collector, not every 30 s: with a ca_file it loads and parses a PEM bundle.
        return httpx_verify(self.config.ca_file, "collectors.dcgm.ca_file")

    def _targets(self, ctx: RunContext) -> list[str]:
        targets = list(dict.fromkeys(ctx.options.get("targets") or self.config.targets))
        if not targets:
            raise ConfigError("dcgm: no targets; set collectors.dcgm.targets or pass --target URL")
        bad = [t for t in targets if not t.startswith(("http://", "https://")) or not _host_of(t)]
        if bad:
            raise ConfigError(f"dcgm: not an http(s) URL: {', '.join(bad)}")
        return targets

    def collect(self, ctx: RunContext) -> Iterator[Item]:
        """Scrape every target once; yield their rows as one appended batch."""
        started = time.monotonic()
        targets = self._targets(ctx)
        ts = ctx.now()
        scrapes = self.fetch(targets, self.config.timeout_seconds, self.config.concurrency)
        run = DcgmRunStats()
        total = ParseStats()
        metas: list[Meta] = []
        values: list[list[Value]] = []
        sources: list[str] = []
        for scrape in scrapes:
            reason = scrape.error
            if scrape.text is not None and reason is None:
                rows, stats = parse_scrape(scrape.text, _host_of(scrape.target))
                total.add(stats)
                self._report_skips(scrape.target, stats)
                if len(rows):
                    metas += rows.metas
                    values += rows.values
                    sources += [scrape.target] * len(rows)
                else:
                    lines = len(scrape.text.splitlines())
                    reason = f"answered 200 but held no GPU sample ({lines} line(s)); is it a dcgm-exporter /metrics?"
            self._note_state(scrape.target, reason)
            if reason is None:
                run.targets_ok += 1
            else:
                run.targets_failed += 1
                run.failures[scrape.target] = reason
        run.rows, run.samples = len(values), total.samples
        run.skipped_non_numeric, run.garbage_lines = total.non_numeric, total.garbage_lines
        run.non_finite, run.unmapped_families = total.non_finite, len(total.unmapped)
        run.seconds = time.monotonic() - started
        self.last_stats = run
        if not run.targets_ok:
            detail = "; ".join(f"{t}: {why}" for t, why in list(run.failures.items())[:5])
            # Worth a retry only when every target failed transiently (down, timed out, 5xx), not on bad answers.
            transient = all(s.retryable for s in scrapes)
            raise SourceError(f"dcgm: all {len(targets)} target(s) failed: {detail}", retryable=transient)
        # Per cycle (every 30 s): debug only; state changes of targets are logged above at warning.
        log.debug(
            "dcgm targets_ok:%s targets_failed:%s rows:%s samples:%s skipped:%s",
            run.targets_ok, run.targets_failed, run.rows, run.samples, total.skipped,
        )  # fmt: skip
        yield Batch(TABLE, self.table(metas, values, ts, sources), keys=[])

    @staticmethod
    def table(
        metas: Sequence[Meta], values: Sequence[Sequence[Value]], ts: dt.datetime, targets: Sequence[str]
    ) -> pa.Table:
        """The cycle's gpu_samples rows (`_day` = the scrape's UTC date)."""
        return to_table(metas, values, ts, SOURCE, targets, SOURCE)

    def _note_state(self, target: str, reason: str | None) -> None:
        """Log a target going down or coming back once, not on every cycle it stays so."""
        was = self._down.get(target)
        if reason is None:
            if was is not None:
                del self._down[target]
                log.warning("dcgm target:%s status:recovered", target)
        elif was is None:
            self._down[target] = reason
            log.warning("dcgm target:%s status:down error:%s", target, reason)
        elif was != reason:
            self._down[target] = reason
            log.info("dcgm target:%s status:still-down error:%s", target, reason)

    def _report_skips(self, target: str, stats: ParseStats) -> None:
        """Non-numeric samples and garbage lines: once at info per target, then at debug each cycle."""
        if not stats.skipped:
            return
        level = logging.DEBUG if target in self._warned_skips else logging.INFO
        self._warned_skips.add(target)
        log.log(
            level,
            "dcgm target:%s skipped non_numeric:%s garbage_lines:%s",
            target, stats.non_numeric, stats.garbage_lines,
        )  # fmt: skip
