"""The real daemon writing while the real CLI reads: no lock errors, every answer a committed total.

`spendscope run` watches a FOCUS drop folder every ~1 s; the test keeps re-delivering the file (same rows, new
mtime), so the daemon keeps replacing the same partitions while `spendscope query` runs in a loop.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

FOCUS = Path(__file__).parent / "fixtures" / "focus"


@pytest.mark.integration
def test_cli_reads_while_the_daemon_writes(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    shutil.copy(FOCUS / "aws_focus_1_0.csv", drop / "aws.csv")
    cfg = tmp_path / "spendscope.toml"
    cfg.write_text(
        f'home = "{tmp_path}/home"\n[warehouse]\npath = "{tmp_path}/lake"\n'
        f'[collectors.focus]\nenabled = true\ninterval_minutes = 0.015\npaths = ["{drop}/*.csv"]\n'
        "[exporters.prometheus]\nport = 0\n"
    )
    exe = str(Path(sys.executable).with_name("spendscope"))
    env = {**os.environ, "SPENDSCOPE_LOG_LEVEL": "INFO"}
    daemon = subprocess.Popen([exe, "--config", str(cfg), "run"], stderr=subprocess.PIPE, text=True, env=env)
    sql = "SELECT COUNT(*) AS n, ROUND(SUM(BilledCost), 6) AS c FROM focus_costs"
    answers = set()
    try:
        deadline = time.monotonic() + 60
        ingests = 0
        while time.monotonic() < deadline and (ingests < 3 or len(answers) < 1):
            os.utime(drop / "aws.csv")  # a re-delivery: the daemon replaces the file's partitions again
            res = subprocess.run([exe, "--config", str(cfg), "query", sql, "--format", "csv"],
                                 capture_output=True, text=True, env=env, timeout=60)  # fmt: skip
            assert res.returncode == 0, res.stderr
            answers.add(res.stdout.strip().splitlines()[-1])
            ingests = len(list((tmp_path / "lake" / "focus_import" / "_delta_log").glob("*.json")))
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 0 and "Traceback" not in err
    assert ingests >= 3, "the daemon committed several times while the CLI read"
    # Before the first commit the answer is 0 rows; after it, always the file's whole total.
    assert answers - {"0,"} and len(answers - {"0,"}) == 1, answers
