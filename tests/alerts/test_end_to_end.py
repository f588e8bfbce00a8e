"""The shipped rules over the demo warehouse, through the engine, to a real Alertmanager (and dry-run actions).

The demo (synthetic data in the real upstream formats) has an idle GCE VM weekend (a3-train-02, from
2026-11-13 15:00 UTC), a spend spike (2026-11-16 13:00–19:00 UTC on the GKE spot pool) and ordinary days.
The engine runs at those moments with the shipped rules/default.yaml; a real Alertmanager (Debian package,
started on loopback by the conftest fixture) receives the alerts and the resolution.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from alerts.engine import AlertEngine
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.config import Settings
from spendscope.records import State
from tests.alerts.conftest import Clock, settings_for
from tests.common.servers import poll

IDLE = dt.datetime(2026, 11, 14, 12, 0, tzinfo=dt.UTC)  # Saturday: a3-train-02 idle since Friday 15:00
BUSY_AGAIN = dt.datetime(2026, 11, 16, 12, 0, tzinfo=dt.UTC)
SPIKE = dt.datetime(2026, 11, 16, 15, 30, tzinfo=dt.UTC)  # 14:00–15:00 is a complete spike hour
ORDINARY = dt.datetime(2026, 11, 19, 10, 30, tzinfo=dt.UTC)


def by_rule(alerts: list[Any], state: State = State.firing) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for a in alerts:
        if a.state == state:
            out.setdefault(a.rule, []).append(a)
    return out


@pytest.mark.integration
def test_shipped_rules_page_for_what_happened_and_alertmanager_gets_it(
    demo_settings: Settings, lake_copy: DuckDbLake, alertmanager: str
) -> None:
    settings = settings_for(demo_settings, lake_copy, {
        "notifiers": {"am": {"type": "alertmanager", "url": alertmanager}},
    })  # fmt: skip
    clock = Clock(IDLE)
    engine = AlertEngine.from_settings(settings, lake_copy, clock=clock)
    result = engine.evaluate()
    assert result.rule_errors == {}
    firing = by_rule(result.alerts)
    idle = {a.labels.get("cluster") for a in firing.get("gpu-idle", [])}
    assert "a3-train-02" in idle
    assert "spend-spike" not in firing

    def in_am() -> list[dict[str, Any]]:
        got = httpx.get(f"{alertmanager}/api/v2/alerts", params={"filter": 'rule="gpu-idle"'}, timeout=5).json()
        return [a for a in got if a["labels"].get("cluster") == "a3-train-02"]

    [am] = poll(in_am)
    assert am["labels"]["alertname"] == "GpuIdle" and am["labels"]["severity"] == "warning"
    assert "a3-train-02" in am["annotations"]["summary"]
    assert am["startsAt"].startswith("2026-11-14T12:00")

    clock.at = BUSY_AGAIN
    result = engine.evaluate()
    assert result.rule_errors == {}
    resolved = [a for a in by_rule(result.alerts, State.resolved).get("gpu-idle", [])
                if a.labels.get("cluster") == "a3-train-02"]  # fmt: skip
    assert resolved and resolved[0].resolved_at == BUSY_AGAIN
    poll(lambda: not in_am())  # the resolution (endsAt in the past) took it out of Alertmanager's active alerts


def test_spike_pages_during_the_spike_and_not_on_an_ordinary_day(
    demo_settings: Settings, lake_copy: DuckDbLake
) -> None:
    settings = settings_for(demo_settings, lake_copy, {})
    clock = Clock(SPIKE)
    engine = AlertEngine.from_settings(settings, lake_copy, clock=clock, notify=False)
    result = engine.evaluate()
    assert result.rule_errors == {}
    spike = by_rule(result.alerts).get("spend-spike")
    assert spike and "data" in spike[0].annotations.get("description", "").lower()
    clock.at = ORDINARY
    result = engine.evaluate()
    assert result.rule_errors == {}
    assert "spend-spike" not in by_rule(result.alerts)
    assert "a3-train-02" not in {a.labels.get("cluster") for a in by_rule(result.alerts).get("gpu-idle", [])}


def test_idle_vm_is_marked_warned_then_planned_in_dry_run(demo_settings: Settings, lake_copy: DuckDbLake) -> None:
    idle_rule = {"name": "idle-shutdown", "type": "idle", "window": "30m", "windows": {"gce": "15m"},
                 "shutdown": True}  # fmt: skip
    settings = settings_for(demo_settings, lake_copy, {"rule_files": [], "rules": [idle_rule],
                                                        "actions": {"grace": "30m"}})  # fmt: skip
    clock = Clock(IDLE)
    engine = AlertEngine.from_settings(settings, lake_copy, clock=clock)
    first = engine.evaluate()
    steps = [(r["step"], r["resource_name"]) for r in first.actions]
    assert ("marked", "a3-train-02") in steps and ("warned", "a3-train-02") in steps
    clock.at = IDLE + dt.timedelta(minutes=31)
    later = engine.evaluate()
    [planned] = [r for r in later.actions if r["step"] == "planned"]
    assert planned["resource_name"] == "a3-train-02" and planned["dry_run"] is True
    assert "stop" in planned["request"] and planned["saving_usd_per_hour"] > 0
    logged = lake_copy.query("SELECT step FROM action_log WHERE resource_name = 'a3-train-02' ORDER BY `at`")
    assert logged.column("step").to_pylist()[-1] == "planned"
