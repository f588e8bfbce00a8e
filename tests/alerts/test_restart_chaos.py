"""Restart at any point: the alert loop is SIGKILLed at random moments (mid-evaluation, right after a webhook
arrived) and restarted over the same lake; alert states, notifications, marks and grace periods resume where
they were — one firing notification per alert, one warning and one (dry-run) action per idle resource.

The process is tests/alerts/restart_driver.py (the daemon's alert job in a loop, on a simulated clock from
the demo's idle weekend); the webhook receiver is a real HTTP server on loopback; the lake is a copy of the
demo's (synthetic data in the real upstream formats).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from exporters.warehouse.duckdb import DuckDbLake
from spendscope.config import Settings
from tests.alerts.conftest import settings_for
from tests.alerts.routing.helpers import HttpRecorder
from tests.common.servers import poll

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
IDLE = dt.datetime(2026, 11, 14, 12, 0, tzinfo=dt.UTC)  # a3-train-02 idle since Friday 15:00 (the demo)
EVALUATIONS = 20  # simulated minutes: past the 10-minute grace, so every idle resource is acted on


def _start(settings_file: Path, clock_file: Path, evaluations: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.alerts.restart_driver", str(settings_file), str(clock_file), str(evaluations)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=open(settings_file.parent / "driver.log", "a"), text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def _kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def test_sigkill_at_any_moment_never_notifies_or_acts_twice(
    demo_settings: Settings, lake_copy: DuckDbLake, receiver: HttpRecorder, tmp_path: Path
) -> None:
    rules = (ROOT / "rules" / "default.yaml").read_text().replace("shutdown: false", "shutdown: true")
    (tmp_path / "rules.yaml").write_text(rules)
    settings = settings_for(demo_settings, lake_copy, {
        "rule_files": [str(tmp_path / "rules.yaml")],
        "notifiers": {"hook": {"type": "webhook", "url": f"{receiver.url}/hook", "repeat_interval": "4h"}},
        "actions": {"grace": "10m"},
    })  # fmt: skip
    settings_file, clock_file = tmp_path / "settings.json", tmp_path / "clock.txt"
    settings_file.write_text(settings.model_dump_json(by_alias=True, exclude={"source"}))
    clock_file.write_text(IDLE.isoformat())
    rng = random.Random(11)

    # 1. Killed just after the first webhook was answered: sent, and not yet committed to alert_events (a Delta
    #    commit after every notifier has answered). 50 ms: the daemon has the 200 by then (loopback); killed
    #    before it has the answer, resending would be right — it cannot know the webhook was delivered.
    proc = _start(settings_file, clock_file, EVALUATIONS)
    poll(lambda: receiver.seen or proc.poll() is not None, timeout=120, every=0.005)
    assert receiver.seen, (tmp_path / "driver.log").read_text()[-3000:]
    time.sleep(0.05)
    _kill(proc)
    # 2.–5. Killed at random moments of later evaluations, each after the restart has gone on a little.
    for _ in range(4):
        proc = _start(settings_file, clock_file, EVALUATIONS)
        assert proc.stdout is not None
        for _ in range(rng.randint(1, 3)):
            proc.stdout.readline()
        time.sleep(rng.uniform(0.0, 0.8))
        _kill(proc)
    # 6. The rest runs to the end undisturbed.
    proc = _start(settings_file, clock_file, EVALUATIONS)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "done" in out

    lake = DuckDbLake(lake_copy.root, reporting_tz="UTC")
    firing = Counter(
        (a["fingerprint"], a["kind"])
        for seen in receiver.seen
        for a in json.loads(seen.body)["alerts"]
        if a["kind"] in ("firing", "repeat")
    )
    assert firing, "the demo's idle weekend should fire alerts"
    assert all(kind == "firing" for _, kind in firing), "no repeat within the 4 h repeat interval"
    assert max(firing.values()) == 1, f"an alert was notified twice: {firing.most_common(3)}"
    recorded = lake.query(
        "SELECT fingerprint, COUNT(*) AS n FROM alert_events WHERE event = 'notified' GROUP BY fingerprint"
    ).to_pylist()
    assert {r["fingerprint"] for r in recorded} == {fp for fp, _ in firing}
    assert all(r["n"] == 1 for r in recorded)

    steps = lake.query(
        "SELECT resource_name, step, COUNT(*) AS n FROM action_log GROUP BY resource_name, step "
        "ORDER BY resource_name, step"
    ).to_pylist()
    assert "a3-train-02" in {r["resource_name"] for r in steps if r["step"] == "planned"}, steps
    assert all(r["n"] == 1 for r in steps if r["step"] in ("marked", "warned", "planned")), steps
