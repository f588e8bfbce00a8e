"""A daemon's alert loop in its own process, for tests/alerts/test_restart_chaos.py to SIGKILL at any moment.

argv: settings JSON file, clock file, evaluations. The simulated clock (one minute per evaluation) is the test
harness's, kept in the clock file so a restarted process goes on from where the killed one was; everything
else — alert states, notifications, marks and grace periods — is whatever spendscope itself persisted.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

from alerts.engine import AlertEngine
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.config import Settings


def main() -> None:
    settings = Settings.model_validate(json.loads(Path(sys.argv[1]).read_text()))
    clock_file, evaluations = Path(sys.argv[2]), int(sys.argv[3])
    now = [dt.datetime.fromisoformat(clock_file.read_text().strip())]
    lake = DuckDbLake(settings.warehouse.path, reporting_tz=settings.reporting.timezone)
    engine = AlertEngine.from_settings(settings, lake, clock=lambda: now[0])
    for _ in range(evaluations):
        print(f"eval {now[0].isoformat()}", flush=True)
        engine.evaluate()
        now[0] += dt.timedelta(minutes=1)
        clock_file.write_text(now[0].isoformat())
    engine.close()
    print("done", flush=True)


if __name__ == "__main__":
    main()
