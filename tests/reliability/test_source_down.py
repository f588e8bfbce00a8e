"""A source down, slow, or answering 5xx/429: the daemon retries with backoff and jitter within the job's interval,
then marks the job down (spendscope_collector_up = 0) while every other job goes on; SourceDown after N failures.

The sources are real HTTP servers on loopback answering as dcgm-exporter does (the fixture scrape), scripted
to fail; the daemon runs its real dcgm collector against them and writes a real DuckDB lake.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from alerts.context import EvalContext
from alerts.engine import AlertEngine
from alerts.loader import parse_rules
from collectors.gpu.dcgm import DcgmCollector
from exporters.prometheus.health import collector_metrics
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.config import Settings
from spendscope.records import State
from spendscope.retry import backoff_delay, retryable_exception, retryable_status
from spendscope.scheduler import Daemon, Job
from tests.common.servers import QuietHandler, free_port, serving

SCRAPE = (Path(__file__).parent.parent / "fixtures" / "dcgm" / "h100_8gpu_exporter3.txt").read_bytes()

pytestmark = pytest.mark.integration


class Script:
    """What the next requests get: a list of status codes (then 200), or a delay before answering."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.always: int | None = None
        self.delay_s = 0.0
        self.requests = 0
        self.lock = threading.Lock()

    def next_status(self) -> int:
        with self.lock:
            self.requests += 1
            if self.always is not None:
                return self.always
            return self.statuses.pop(0) if self.statuses else 200


@pytest.fixture
def source() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            status = script.next_status()
            if script.delay_s:
                time.sleep(script.delay_s)
            if status == 200:
                self.send_body(200, SCRAPE, "text/plain; version=0.0.4")
            else:
                self.send_body(status, b"overloaded\n", "text/plain")

    with serving(Handler) as url:
        yield f"{url}/metrics", script


def _daemon(tmp_path: Path, target: str, *, interval_s: float = 6.0, timeout_s: float = 2.0) -> Daemon:
    settings = Settings.model_validate({
        "home": str(tmp_path / "home"),
        "warehouse": {"path": str(tmp_path / "lake")},
        "collectors": {"dcgm": {"enabled": True, "targets": [target],
                                "timeout_seconds": timeout_s}},
        "exporters": {"prometheus": {"enabled": False}},
        "alerts": {"enabled": False},
    })  # fmt: skip
    daemon = Daemon(settings, DuckDbLake(settings.warehouse.path), collectors=[DcgmCollector(settings.collectors.dcgm)])
    daemon.jobs["dcgm"].interval_minutes = interval_s / 60  # a short interval bounds the retries in a short test
    daemon.retry_base_seconds = 0.05
    daemon.rng = random.Random(7)
    return daemon


def _samples(daemon: Daemon) -> int:
    return int(daemon.warehouse.query("SELECT COUNT(*) AS n FROM gpu_samples").column("n")[0].as_py())


def test_backoff_doubles_with_jitter_up_to_its_cap() -> None:
    rng = random.Random(1)
    for attempt in range(10):
        ceiling = min(60.0, 2.0 * 2**attempt)
        delays = [backoff_delay(attempt, 2.0, rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len({round(d, 6) for d in delays}) > 150  # jittered, not one fixed delay
    assert retryable_status(429) and retryable_status(503) and not retryable_status(404)
    assert retryable_exception(ConnectionRefusedError()) and not retryable_exception(ValueError("bad answer"))


def test_503_then_429_then_ok_is_retried_within_the_run(tmp_path: Path, source: tuple[str, Script]) -> None:
    url, script = source
    script.statuses = [503, 429]
    daemon = _daemon(tmp_path, url)
    assert daemon.run_job("dcgm") is True
    health = daemon.jobs["dcgm"].health
    assert (health.up, health.retries, health.consecutive_failures, script.requests) == (True, 2, 0, 3)
    assert _samples(daemon) > 0
    metrics = collector_metrics_for(daemon)
    assert metrics["spendscope_collector_up"][("dcgm",)] == 1.0
    assert metrics["spendscope_collector_retries_total"][("dcgm",)] == 2.0


def test_a_source_that_stays_down_fails_within_the_interval_and_the_others_go_on(
    tmp_path: Path, source: tuple[str, Script]
) -> None:
    url, script = source
    script.always = 503
    daemon = _daemon(tmp_path, url, interval_s=3.0)
    ran = []
    daemon.add_job(Job("other", lambda: ran.append(1) or 1, interval_minutes=1))
    started = time.monotonic()
    failed = daemon.run_all_once()
    took = time.monotonic() - started
    assert failed == ["dcgm"] and ran == [1]
    health = daemon.jobs["dcgm"].health
    assert health.up is False and "HTTP 503" in (health.last_error or "")
    assert health.retries >= 3 and script.requests == health.retries + 1
    assert took < 3.0 + 1.0  # the retries stopped inside the job's interval (plus the last request)
    metrics = collector_metrics_for(daemon)
    assert metrics["spendscope_collector_up"][("dcgm",)] == 0.0
    assert metrics["spendscope_collector_up"][("other",)] == 1.0
    assert metrics["spendscope_collector_consecutive_failures"][("dcgm",)] == 1.0


def test_a_slow_source_times_out_and_is_retried(tmp_path: Path, source: tuple[str, Script]) -> None:
    url, script = source
    script.delay_s = 1.5
    daemon = _daemon(tmp_path, url, interval_s=6.0, timeout_s=0.5)
    assert daemon.run_job("dcgm") is False
    health = daemon.jobs["dcgm"].health
    assert "Timeout" in (health.last_error or "") and health.retries >= 1


def test_a_refused_connection_is_retried_but_a_wrong_answer_is_not(tmp_path: Path, source: tuple[str, Script]) -> None:
    closed = f"http://127.0.0.1:{free_port()}/metrics"
    daemon = _daemon(tmp_path, closed, interval_s=2.0)
    assert daemon.run_job("dcgm") is False
    assert daemon.jobs["dcgm"].health.retries >= 1
    url, script = source
    script.always = 404  # not an overload: the URL is wrong, and stays wrong
    daemon = _daemon(tmp_path / "b", url)
    assert daemon.run_job("dcgm") is False
    assert (daemon.jobs["dcgm"].health.retries, script.requests) == (0, 1)


def test_a_stop_signal_ends_the_backoff_at_once(tmp_path: Path, source: tuple[str, Script]) -> None:
    url, script = source
    script.always = 503
    daemon = _daemon(tmp_path, url, interval_s=120.0)
    daemon.retry_base_seconds = 30.0  # the first wait alone would be 15 s or more
    threading.Timer(0.5, daemon.stopping.set).start()
    started = time.monotonic()
    assert daemon.run_job("dcgm") is False
    assert time.monotonic() - started < 5.0
    assert script.requests == 1


def test_source_down_fires_after_three_failed_runs_and_resolves_on_success(
    tmp_path: Path, source: tuple[str, Script]
) -> None:
    url, script = source
    daemon = _daemon(tmp_path, url, interval_s=0.6)
    [rule] = parse_rules("rules:\n  - {name: source-down, type: source_down, failures: 3}\n")
    now = dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC)
    engine = AlertEngine(daemon.settings, daemon.warehouse, [rule], clock=lambda: now)
    script.always = 502
    states = []
    for _ in range(4):
        daemon.run_job("dcgm")
        findings = rule.evaluate(EvalContext(wh=daemon.warehouse, settings=daemon.settings, now=now,
                                             health=daemon.health()))  # fmt: skip
        states.append(len([f for f in findings if not f.undecided]))
        engine.evaluate(daemon.health())
    assert states == [0, 0, 1, 1]
    [alert] = [a for a in (engine.states or {}).values() if a.state == State.firing]
    assert alert.labels["alertname"] == "SourceDown" and alert.labels["collector"] == "dcgm"
    assert "HTTP 502" in alert.annotations["description"]
    # A restart: job health starts afresh, but the alert keeps firing until the job succeeds (or fails N times);
    # and the CLI (no job health at all) leaves it as it is.
    engine.close()
    restarted = _daemon(tmp_path, url, interval_s=0.6)
    engine = AlertEngine(daemon.settings, daemon.warehouse, [rule], clock=lambda: now)
    assert restarted.run_job("dcgm") is False
    assert [a.state for a in engine.evaluate(restarted.health()).alerts] == [State.firing]
    assert [a.state for a in engine.evaluate(None).alerts] == [State.firing]
    script.always = None
    assert restarted.run_job("dcgm") is True
    engine.evaluate(restarted.health())
    assert [a.state for a in (engine.states or {}).values()] == [State.resolved]
    engine.close()


def collector_metrics_for(daemon: Daemon) -> dict[str, dict[tuple[str, ...], float]]:
    class Ctx:
        def collector_names(self) -> list[str]:
            return list(daemon.jobs)

        def health(self) -> dict[str, object]:
            return dict(daemon.health())

    samples = collector_metrics(Ctx())  # type: ignore[arg-type]
    return {name: dict(rows) for name, rows in samples.items()}
