"""Daemon replay (issues 3 and 7): the daemon's jobs back to back in this process, on a lake with N minutes of history.

Tells apart what the soak (bench/daemon_soak.py) cannot: whether RSS between jobs grows with the telemetry window
the jobs read (up to the longest window, then flat) or with time and files (growth that goes on). For each
`--prefill` (minutes of the simulated fleet's scrapes written first, in a child process so its own memory does
not count here) it builds the real `Daemon` over that lake and runs `--cycles` cycles of: the dcgm scrape job,
the Prometheus exporter's snapshot refresh, the alert engine every other cycle and the gpu-rollup every sixth,
then prints RSS one second after each cycle and the median.

    .venv/bin/python -m bench.daemon_replay --prefill 5 30 60 120
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from bench.daemon_soak import Fleet, config


def replay(prefill_minutes: float, cycles: int, nodes: int, gpus: int) -> list[int]:
    """RSS (MB) of this process after each replayed cycle, over a lake holding `prefill_minutes` of history."""
    from exporters.warehouse.duckdb import DuckDbLake
    from spendscope.config import load
    from spendscope.memory import release_unused, use_pool
    from spendscope.scheduler import Daemon

    use_pool("daemon")
    fleet = Fleet(nodes, gpus)
    server = fleet.serve()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = config(Path(tmp), server.server_address[1], nodes, 30)
        if prefill_minutes:
            code = (
                "from pathlib import Path; from bench.daemon_soak import Fleet, prefill; "
                f"prefill(Path({str(cfg)!r}), Fleet({nodes}, {gpus}), {prefill_minutes}, 30)"
            )
            subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])
        settings = load(cfg)
        wh = DuckDbLake(settings.warehouse.path, reporting_tz=settings.reporting.timezone)
        daemon = Daemon(settings, wh)
        exporter = daemon.exporter
        assert exporter is not None
        proc = psutil.Process()
        for job in ("lake-check", "gpu-rollup"):
            daemon.run_job(job)
        rss: list[int] = []
        try:
            for k in range(cycles):
                daemon.run_job("dcgm")
                exporter.refresh()  # the exporter's own thread in the daemon: not a job, so released here
                wh.release_memory()
                release_unused()
                if k % 2:
                    daemon.run_job("alerts")
                if k % 6 == 5:
                    daemon.run_job("gpu-rollup")
                time.sleep(1)
                rss.append(proc.memory_info().rss >> 20)
        finally:
            wh.close()
            server.shutdown()
    return rss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prefill", type=float, nargs="+", default=[5, 30, 60, 120], help="minutes of history, per run")
    ap.add_argument("--cycles", type=int, default=12)
    ap.add_argument("--nodes", type=int, default=192)
    ap.add_argument("--gpus", type=int, default=8)
    args = ap.parse_args()
    for minutes in args.prefill:
        # Each run in a fresh interpreter: what one replay leaves behind must not count in the next.
        code = (
            "from bench.daemon_replay import replay; "
            f"print(replay({minutes}, {args.cycles}, {args.nodes}, {args.gpus}))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True,
            cwd=Path(__file__).resolve().parents[1],
        )  # fmt: skip
        rss = [int(v) for v in out.stdout.strip().splitlines()[-1].strip("[]").split(",")]
        print(f"history {minutes:g} min: RSS between jobs (MB) {rss}, median {statistics.median(rss):.0f}", flush=True)


if __name__ == "__main__":
    main()
