"""The live-estimate job over a real lake: it replaces exactly the previous and current hour, idempotently, and
the daemon schedules it when the inventory collector runs."""

from __future__ import annotations

import datetime as dt

import pytest

from exporters.warehouse.duckdb import DuckDbLake
from spendscope.config import Settings
from spendscope.live.job import LiveJob, run_once
from spendscope.scheduler import Daemon
from tests.live.conftest import HOUR, MIN, T0
from tests.live.seed import A3_OD, gce, seed_inventory
from tests.live.test_estimate import every

HOURS_SQL = (
    "SELECT hour, SUM(run_hours) AS run_hours, COUNT(*) AS n, MAX(computed_at) AS at FROM cost_estimates GROUP BY 1"
)


def stored(lake: DuckDbLake) -> dict[dt.datetime, dict[str, object]]:
    return {r["hour"]: r for r in lake.query(HOURS_SQL).to_pylist()}


def test_a_run_replaces_the_previous_and_current_hour_and_leaves_older_ones(
    priced: DuckDbLake, settings: Settings
) -> None:
    start = T0 - HOUR
    seed_inventory(priced, [gce(t, "a3-train-01") for t in every(5, start, T0 + HOUR + 30 * MIN)])

    run_once(priced, settings, T0 + 30 * MIN)
    run_once(priced, settings, T0 + 30 * MIN)  # the same run again: the same rows, nothing doubled
    first = stored(priced)
    assert set(first) == {start, T0}
    assert first[T0]["n"] == 1 and first[T0]["run_hours"] == pytest.approx(0.5)

    job = LiveJob(settings, priced, lambda: T0 + HOUR + 20 * MIN)
    assert job() == 2
    later = stored(priced)
    assert later[start] == first[start]  # two hours back: untouched
    assert later[T0]["run_hours"] == pytest.approx(1.0)  # the previous hour, now whole
    assert later[T0 + HOUR]["run_hours"] == pytest.approx(20 / 60)
    total = priced.query("SELECT SUM(usd) AS usd FROM cost_estimates WHERE hour = @h", {"h": T0}).to_pylist()
    assert total[0]["usd"] == pytest.approx(A3_OD)


def test_the_job_keeps_what_it_learned_within_the_hour(priced: DuckDbLake, settings: Settings) -> None:
    seed_inventory(priced, [gce(t, "a3-train-01") for t in every(5, T0, T0 + 50 * MIN)])
    job = LiveJob(settings, priced, lambda: T0)

    first = job.run(T0 + 10 * MIN)
    second = job.run(T0 + 15 * MIN)
    next_hour = job.run(T0 + HOUR + 1 * MIN)

    assert "learn" in first.seconds and "learn" not in second.seconds and "learn" in next_hour.seconds
    assert job.learned is not None and job.learned.at == T0 + HOUR + 1 * MIN


def test_the_daemon_runs_the_live_job_only_with_the_inventory_collector(settings: Settings) -> None:
    base = settings.model_dump(exclude={"source"})
    with_inventory = Settings.model_validate(
        {**base, "collectors": {"inventory": {"enabled": True, "gce_projects": ["acme"]}}}
    )
    without = Settings.model_validate(base)
    off = Settings.model_validate({**base, "collectors": {"inventory": {"enabled": True, "gce_projects": ["acme"]}},
                                   "live": {**base["live"], "enabled": False}})  # fmt: skip
    wh = DuckDbLake(settings.warehouse.path)

    daemon = Daemon(with_inventory, wh)
    assert "live-estimate" in daemon.jobs and daemon.jobs["live-estimate"].interval_minutes == 5
    assert list(daemon.jobs).index("inventory") < list(daemon.jobs).index("live-estimate")
    assert "live-estimate" not in Daemon(without, wh).jobs
    assert "live-estimate" not in Daemon(off, wh).jobs


def test_live_config_is_validated_with_its_key_named() -> None:
    from spendscope.config import parse
    from spendscope.errors import ConfigError

    ok = parse('[live]\nsettle = "12h"\n[live.settle_by_source]\ndatabricks_usage = "3h"\n')
    assert ok.live.settle_for("databricks_usage") == dt.timedelta(hours=3)
    assert ok.live.settle_for("gcp_billing_export") == dt.timedelta(hours=12)
    with pytest.raises(ConfigError, match=r"live\.dbu_per_hour.*negative"):
        parse('[live.dbu_per_hour]\n"a3-highgpu-8g" = -1\n')
    with pytest.raises(ConfigError, match=r"live\.interval"):
        parse("[live]\ninterval = 5\n")
