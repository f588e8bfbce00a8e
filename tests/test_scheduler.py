"""The daemon: jobs on intervals, one failing job never stops the others, clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pyarrow as pa

from collectors.base import Batch, Collector, Item, RunContext
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.config import Settings
from spendscope.scheduler import Daemon


class Broken(Collector):
    """A source that is down."""

    name: ClassVar[str] = "broken"

    @classmethod
    def from_settings(cls, settings: Settings) -> Collector:
        return cls()

    def enabled(self, settings: Settings) -> bool:
        return True

    def interval_minutes(self, settings: Settings) -> float:
        return 0.01

    def collect(self, ctx: RunContext) -> Iterator[Item]:
        raise ConnectionError("source unreachable")


class Working(Broken):
    """A source that yields one quarantine-free state row per run."""

    name: ClassVar[str] = "working"
    runs = 0

    def collect(self, ctx: RunContext) -> Iterator[Item]:
        type(self).runs += 1
        row = {"source": "working", "partition": "p", "rows": 1, "_day": ctx.now().date()}
        yield Batch("ingest_state", pa.Table.from_pylist([row]), [{"source": "working"}])


def test_a_failing_job_is_marked_down_and_the_others_run(settings: Settings, lake: DuckDbLake) -> None:
    daemon = Daemon(settings, lake, collectors=[Broken(), Working()])
    assert set(daemon.jobs) == {"broken", "working", "telemetry-retention", "lake-check", "lake-maintenance", "alerts"}
    failed = daemon.run_all_once()
    assert failed == ["broken"], "the shipped rules evaluate on a warehouse with no data yet"
    assert daemon.jobs["broken"].health.up is False
    assert "source unreachable" in (daemon.jobs["broken"].health.last_error or "")
    assert daemon.jobs["working"].health.up is True
    assert lake.query("SELECT COUNT(*) AS n FROM ingest_state WHERE source = 'working'").column("n")[0].as_py() == 1


class CountingLake(DuckDbLake):
    """The real lake, counting the daemon's release_memory calls."""

    released = 0

    def release_memory(self) -> None:
        self.released += 1
        super().release_memory()


def test_every_job_failed_or_not_gives_the_readers_memory_back(settings: Settings, tmp_path: Path) -> None:
    lake = CountingLake(tmp_path / "lake")
    daemon = Daemon(settings, lake, collectors=[Broken(), Working()])
    for job, ok in (("working", True), ("broken", False)):
        lake.query("SELECT 1")  # as a job's reads would: the reader's database is open
        assert lake._reader._db is not None
        assert daemon.run_job(job) is ok
        assert lake._reader._db is None, f"{job}: no database left open after the job"
    assert lake.released == 2


def test_scheduled_jobs_keep_running_after_a_failure(settings: Settings, lake: DuckDbLake) -> None:
    Working.runs = 0
    daemon = Daemon(settings, lake, collectors=[Broken(), Working()])
    daemon.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (Working.runs < 2 or daemon.jobs["broken"].health.runs < 2):
            time.sleep(0.1)
    finally:
        daemon.stop()
    assert Working.runs >= 2, "the healthy job ran again on its interval"
    assert daemon.jobs["broken"].health.consecutive_failures >= 2
    jobs = daemon.scheduler.get_jobs() if daemon.scheduler and daemon.scheduler.running else []
    assert jobs == []  # shut down


def test_job_options_coalesce_and_never_overlap(settings: Settings, lake: DuckDbLake) -> None:
    daemon = Daemon(settings, lake, collectors=[Working()])
    scheduler = daemon.start()
    try:
        job = scheduler.get_job("working")
        assert job.coalesce is True and job.max_instances == 1 and job.misfire_grace_time == 300
    finally:
        daemon.stop()


def test_sigterm_stops_the_daemon_cleanly(tmp_path: Path) -> None:
    cfg = tmp_path / "spendscope.toml"
    # /metrics on a free port: a fixed one may be taken on the machine running the tests
    cfg.write_text(
        f'home = "{tmp_path}/home"\n[warehouse]\npath = "{tmp_path}/lake"\n[exporters.prometheus]\nport = 0\n'
    )
    exe = Path(sys.executable).with_name("spendscope")
    proc = subprocess.Popen(
        [str(exe), "--config", str(cfg), "run"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "SPENDSCOPE_LOG_LEVEL": "INFO"},
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if "daemon:started" in line:
            break
    proc.send_signal(signal.SIGTERM)
    rest = proc.communicate(timeout=30)[1]
    assert proc.returncode == 0
    assert "daemon:stopped" in rest and "Traceback" not in rest


def test_collector_jobs_take_interval_and_misfire_grace_from_their_config_section(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {"home": str(tmp_path), "warehouse": {"path": str(tmp_path / "lake")},
         "collectors": {"focus": {"enabled": True, "paths": [str(tmp_path / "*.csv")], "interval_minutes": 15,
                                  "misfire_grace_seconds": 42}}}
    )  # fmt: skip
    daemon = Daemon(settings, DuckDbLake(tmp_path / "lake"))
    job = daemon.jobs["focus"]
    assert (job.interval_minutes, job.misfire_grace_seconds) == (15, 42)
    assert "gcp-billing" not in daemon.jobs and "databricks" not in daemon.jobs  # not enabled
