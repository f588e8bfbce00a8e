"""The daemon (`spendscope run`): apscheduler jobs for every enabled collector, telemetry upkeep, lake upkeep,
the Datadog push, the alert evaluation, the daily cost email; and the Prometheus exporter's /metrics while it runs.

Each job is coalesced, never overlaps itself (max_instances=1) and has a misfire grace; a failing job
is logged and marked down in `health` while every other job goes on. SIGTERM/SIGINT stop it cleanly:
no new runs start, running ones finish their current write (a Delta commit is all-or-nothing anyway).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from collectors import load_all
from collectors.base import Collector, RunContext
from exporters.warehouse import gpu_rollup
from exporters.warehouse.engine import Warehouse
from spendscope import ingest
from spendscope.clock import Clock, system_clock
from spendscope.config import Settings
from spendscope.errors import ConfigError, SourceError, SpendscopeError
from spendscope.memory import release_unused
from spendscope.memory import usage as memory_usage
from spendscope.retry import backoff_delay
from spendscope.secrets import redact

if TYPE_CHECKING:
    from alerts.engine import AlertEngine
    from exporters.prometheus import PrometheusExporter

log = logging.getLogger(__name__)

# Collectors that write gpu_samples: when one runs, the daemon also runs the gpu-rollup job.
GPU_COLLECTORS = frozenset({"dcgm", "prometheus", "nvml", "nvidia-smi"})
# First retry after ~1 s, then ~2, ~4 … (spendscope/retry.py), as long as it fits in the job's interval.
RETRY_BASE_SECONDS = 1.0
ONCE_RETRY_SECONDS = 60.0
RETRY_SHARE = 0.9


@dataclass
class JobHealth:
    """What the daemon knows of one job; later exposed as spendscope_collector_up and friends."""

    up: bool | None = None
    runs: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    retries: int = 0  # retries after a transient source failure, over every run
    last_success: dt.datetime | None = None
    last_error: str | None = None
    last_duration_s: float | None = None
    last_rows: int = 0


@dataclass
class Job:
    name: str
    func: Callable[[], int]
    interval_minutes: float
    misfire_grace_seconds: int = 300
    run_at_start: bool = True  # collectors catch up at once; upkeep waits one interval
    health: JobHealth = field(default_factory=JobHealth)
    trigger: BaseTrigger | None = None  # instead of every interval_minutes (the daily report: a time of day)


class Daemon:
    """Schedules collectors and maintenance over one warehouse; `serve_forever` blocks until a signal."""

    def __init__(
        self,
        settings: Settings,
        warehouse: Warehouse,
        clock: Clock = system_clock,
        collectors: list[Collector] | None = None,
    ) -> None:
        self.settings = settings
        self.warehouse = warehouse
        self.clock = clock
        self.stopping = threading.Event()
        # UTC hours of gpu_samples written since the last gpu-rollup run: late and backfilled ones too.
        # UTC hour → earliest sample written into it since the last gpu-rollup run (late ones too).
        self._rollup_hours: dict[dt.datetime, dt.datetime] = {}
        self._rollup_caught_up = False
        self._rollup_lock = threading.Lock()
        if collectors is None:
            registry = load_all()
            collectors = [registry.get(n).from_settings(settings) for n in registry.names()]
        self.collectors = collectors
        self.retry_base_seconds = RETRY_BASE_SECONDS
        self.retry_window_s: float | None = None  # None: the job's interval (run --once: a short one)
        self.rng = random.Random()
        self.jobs: dict[str, Job] = {}
        for c in collectors:
            if c.enabled(settings):
                self.add_job(
                    Job(c.name, self._collector_job(c), c.interval_minutes(settings), c.misfire_grace_seconds(settings))
                )
        gpu_enabled = any(c.enabled(settings) and c.name in GPU_COLLECTORS for c in collectors)
        if gpu_enabled:
            # 30 s scrapes append raw samples only; their minutes are rolled up here, a few hours at a time.
            self.add_job(Job("gpu-rollup", self._gpu_rollup, settings.telemetry.rollup_interval_minutes))
        if settings.live.enabled and any(c.enabled(settings) and c.name == "inventory" for c in collectors):
            from spendscope.live.job import LiveJob

            # Prices what runs every few minutes for spend_live and the rules that read it (docs/live.md).
            self.add_job(Job("live-estimate", LiveJob(settings, warehouse, clock), settings.live.interval_minutes))
        if settings.prices.enabled:
            from collectors.prices.sync import daemon_job

            # List prices change rarely; the price book the live estimate reads is only as fresh as this.
            self.add_job(
                Job("prices-sync", daemon_job(warehouse, settings.prices, clock), settings.prices.interval_minutes)
            )
        self.add_job(Job("telemetry-retention", self._prune_raw, interval_minutes=6 * 60, run_at_start=False))
        if warehouse.engine == "duckdb":
            # Unreadable data files set aside and their days repaired (spendscope/lake_upkeep.py): at start, so a
            # crash that left one is dealt with before the first rollups, then hourly (footers only: cheap).
            self.add_job(Job("lake-check", self._lake_check, interval_minutes=60))
            self.add_job(Job("lake-maintenance", warehouse.maintain, interval_minutes=24 * 60, run_at_start=False))
        self.scheduler: BackgroundScheduler | None = None
        self.exporter = self._prometheus_exporter()
        if settings.exporters.datadog.enabled:
            self.add_job(Job("datadog", self._datadog_push(), settings.exporters.datadog.interval_minutes))
        self.alerts: AlertEngine | None = None
        if settings.alerts.enabled:
            from alerts.engine import AlertEngine

            # Rules load (and fail, with file and line) at start; the first evaluation waits one interval so
            # the collectors' first runs have landed.
            self.alerts = AlertEngine.from_settings(settings, warehouse, clock=clock)
            self.add_job(Job("alerts", self._evaluate_alerts, settings.alerts.interval_minutes, run_at_start=False))
        if settings.report.enabled:
            from dashboards.report.schedule import RETRY_MINUTES, ReportJob

            # At send_at in its zone; also at start, which sends a report missed while the daemon was down.
            report = ReportJob(settings, warehouse, clock=clock)
            self.add_job(Job("daily-report", report.run, RETRY_MINUTES, trigger=report.trigger()))

    def add_job(self, job: Job) -> None:
        self.jobs[job.name] = job

    def _prometheus_exporter(self) -> PrometheusExporter | None:
        cfg = self.settings.exporters.prometheus
        if not (cfg.enabled or cfg.textfile):
            return None
        from exporters.prometheus import PrometheusExporter

        return PrometheusExporter(self.settings, self.warehouse, self.health, clock=self.clock)

    def health(self) -> dict[str, JobHealth]:
        """Every job's health, by name (what spendscope_collector_* metrics report)."""
        return {name: job.health for name, job in self.jobs.items()}

    def _datadog_push(self) -> Callable[[], int]:
        from exporters.datadog import DatadogExporter
        from exporters.prometheus import PrometheusExporter

        # Datadog gets the same snapshot as /metrics; without a Prometheus exporter, build one unserved.
        source = self.exporter or PrometheusExporter(self.settings, self.warehouse, self.health, clock=self.clock)
        exporter = DatadogExporter(self.settings, source.snapshot)
        return lambda: exporter.push().series

    def _evaluate_alerts(self) -> int:
        """One evaluation; a rule that failed makes the job fail (after every other rule ran and was recorded)."""
        assert self.alerts is not None
        result = self.alerts.evaluate(self.health())
        if result.rule_errors:
            failed = ", ".join(f"{name} ({error})" for name, error in sorted(result.rule_errors.items()))
            raise AlertRuleError(f"{len(result.rule_errors)} rule(s) failed: {failed}")
        return len(result.events)

    def _defer_rollup(self, marks: dict[dt.datetime, dt.datetime]) -> None:
        with self._rollup_lock:
            gpu_rollup.merge_marks(self._rollup_hours, marks)

    def _gpu_rollup(self) -> int:
        """Catch up once (the hours since the rollup's watermark), then only the minutes written since."""
        with self._rollup_lock:
            marks, self._rollup_hours = self._rollup_hours, {}
        cfg = self.settings.telemetry
        try:
            # Only the new minutes: a whole-hour recompute every few minutes would read the hour's hundreds of
            # raw files each time, and DuckDB's memory for that is what set the daemon's RSS (BENCHMARKS.md).
            n = gpu_rollup.refresh_hours(self.warehouse, marks, cfg, since=marks) if marks else 0
            if not self._rollup_caught_up:
                n += gpu_rollup.refresh_recent(self.warehouse, self.clock(), telemetry=cfg)
                self._rollup_caught_up = True
            return n
        except BaseException:
            self._defer_rollup(marks)  # not lost: the next run tries them again
            raise

    def _lake_check(self) -> int:
        from spendscope.lake_upkeep import check_and_repair

        result = check_and_repair(self.warehouse, self.settings, now=self.clock())
        for line in result.lines()[1:]:
            log.warning("job:lake-check %s", line.strip())
        return len(result.set_aside) + len(result.repaired)

    def _prune_raw(self) -> int:
        keep = self.settings.telemetry.raw_retention_days
        return sum(gpu_rollup.prune_raw(self.warehouse, self.clock().date(), keep).values())

    def _collector_job(self, collector: Collector) -> Callable[[], int]:
        def run() -> int:
            # The gpu-rollup job derives minutes; a 30 s scrape cycle only appends its samples.
            ctx = RunContext(settings=self.settings, warehouse=self.warehouse, clock=self.clock,
                             options={"defer_rollup": self._defer_rollup})  # fmt: skip
            summary = ingest.run(collector, ctx)
            for line in summary.lines():
                log.info("job:%s %s", collector.name, line.strip())
            return summary.total_rows

        return run

    def run_job(self, name: str) -> bool:
        """Run one job now, recording its health; never raises (one failing job must not stop the rest)."""
        job = self.jobs[name]
        started = time.monotonic()
        job.health.runs += 1
        before = (job.health.up, job.health.last_error)  # retries mark it down meanwhile
        try:
            rows = self._with_retries(job, started)
        except Exception as exc:  # every failure is contained here; the message says what failed
            error = _error_text(exc)
            # The same failure again (a GPU-less host, an exporter that stays down) is logged once, not
            # every 30 s; the health counters and spendscope_collector_up still say it is down.
            repeated = before == (False, error)
            job.health.failures += 1
            job.health.consecutive_failures += 1
            job.health.up = False
            job.health.last_error = error
            if repeated:
                log.debug("job:%s status:still-failing failures:%s", name, job.health.consecutive_failures)
            else:
                log.error("job:%s status:failed error:%s", name, error, exc_info=not _expected(exc))
            return False
        finally:
            job.health.last_duration_s = time.monotonic() - started
            # What the job's reads and writes freed goes back to the OS, so RSS does not keep the high-water mark
            # of every job and window size it has seen (spendscope/memory.py, DuckDbLake.release_memory).
            self.warehouse.release_memory()
            release_unused()
            if log.isEnabledFor(logging.DEBUG):
                log.debug("job:%s memory %s", name, " ".join(f"{k}:{v:.1f}" for k, v in memory_usage().items()))
        if before[0] is False:
            log.warning("job:%s status:recovered after:%s failure(s)", name, job.health.consecutive_failures)
        job.health.up = True
        job.health.consecutive_failures = 0
        job.health.last_success = self.clock()
        job.health.last_rows = rows
        log.info("job:%s status:ok rows:%s seconds:%.1f", name, rows, job.health.last_duration_s)
        return True

    def _with_retries(self, job: Job, started: float) -> int:
        """Run the job; on a transient source failure retry with backoff while the retry ends within its interval.

        The bound keeps a down source from delaying the job's next scheduled run (which would be coalesced
        away): the wait plus another attempt as long as the last one must fit in the interval. A stop signal
        ends the waiting at once.
        """
        window = job.interval_minutes * 60 if self.retry_window_s is None else self.retry_window_s
        # 90 %: a last retry ending right at the next fire time would make apscheduler skip that run.
        deadline = started + min(window, RETRY_SHARE * job.interval_minutes * 60)
        attempt = 0
        while True:
            tried = time.monotonic()
            try:
                return job.func()
            except SourceError as exc:
                if not exc.retryable:
                    raise
                delay = backoff_delay(attempt, self.retry_base_seconds, self.rng)
                took = time.monotonic() - tried
                if time.monotonic() + delay + took > deadline or self.stopping.is_set():
                    raise
                attempt += 1
                job.health.retries += 1
                # Down while it retries: /metrics and the rules see it now, not an interval later.
                job.health.up, job.health.last_error = False, _error_text(exc)
                log.warning("job:%s status:retrying attempt:%s in:%.1fs error:%s", job.name, attempt, delay, exc)
                if self.stopping.wait(delay):
                    raise

    def run_all_once(self) -> list[str]:
        """Run every job once in order; returns the names that failed (a down source retried for a minute at most:
        a cron-driven `run --once` must not wait out an hourly job's interval)."""
        if self.retry_window_s is None:
            self.retry_window_s = ONCE_RETRY_SECONDS
        return [name for name in list(self.jobs) if not self.run_job(name)]

    def start(self) -> BackgroundScheduler:
        """Start the scheduler in background threads; each job first runs right away."""
        scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max(2, len(self.jobs)))}, timezone="UTC"
        )
        now = dt.datetime.now(dt.UTC)
        for job in self.jobs.values():
            first: dict[str, Any] = {}  # a trigger of its own decides the first run unless it runs at start
            if job.run_at_start:
                first["next_run_time"] = now
            elif job.trigger is None:
                first["next_run_time"] = now + dt.timedelta(minutes=job.interval_minutes)
            scheduler.add_job(
                self.run_job,
                job.trigger or IntervalTrigger(minutes=job.interval_minutes),
                args=[job.name],
                id=job.name,
                name=job.name,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=job.misfire_grace_seconds,
                **first,
            )
        scheduler.start()
        self.scheduler = scheduler
        if self.exporter is not None:
            try:
                self.exporter.start()
            except OSError as exc:
                scheduler.shutdown(wait=False)
                cfg = self.settings.exporters.prometheus
                raise ConfigError(
                    f"exporters.prometheus: cannot listen on {cfg.host}:{cfg.port}: {exc.strerror or exc}; "
                    "set exporters.prometheus.port (0 = any free port) or enabled = false"
                ) from None
        log.info("daemon:started jobs:%s", ",".join(self.jobs) or "none")
        return scheduler

    def stop(self, wait: bool = True) -> None:
        self.stopping.set()
        if self.exporter is not None:
            self.exporter.stop()
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=wait)
        if self.alerts is not None:
            self.alerts.close()
        for collector in self.collectors:  # NVML shutdown, HTTP clients: once no job can run any more
            try:
                collector.close()
            except Exception as exc:  # one collector's cleanup must not stop the others'
                log.warning("collector:%s close failed: %s", collector.name, exc)
        log.info("daemon:stopped")

    def serve_forever(self, install_signals: bool = True) -> None:
        """Run until SIGTERM/SIGINT (or `stop()` from another thread)."""
        if install_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, self._on_signal)
        self.start()
        try:
            while not self.stopping.wait(1.0):
                pass
        finally:
            self.stop(wait=True)

    def _on_signal(self, signum: int, _frame: Any) -> None:
        log.info("daemon:signal %s, shutting down", signal.Signals(signum).name)
        self.stopping.set()


class AlertRuleError(SpendscopeError):
    """One or more alert rules raised during an evaluation (the others were evaluated and recorded)."""


def _error_text(exc: Exception) -> str:
    """A job's error as health records it: one text for a retry and the final failure (run_job compares them),
    secrets blanked (it reaches alerts, notifications and /metrics)."""
    return redact(f"{type(exc).__name__}: {exc}")


def _expected(exc: Exception) -> bool:
    return isinstance(exc, SpendscopeError)
