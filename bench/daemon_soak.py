"""Daemon soak (issue 3): `spendscope run` scraping 1,536 simulated GPUs every 30 s for 10 minutes.

This process serves 192 dcgm-exporter answers (8 H100s each, the default counters: bench/dcgm_scrape.py) on
loopback and starts the real daemon as a child process with a config scraping them, the gpu-rollup job and
the Prometheus exporter on. It samples the child's RSS and open file descriptors every few seconds and
logs when each scrape cycle reached the exporters, then prints:
  * RSS after warm-up (the first `--warmup` cycles), the peak, the last, and growth after warm-up;
  * open file descriptors (min / max after warm-up);
  * cycles seen and the spread of their start times (every cycle on time: ~interval apart, none missed).
Targets: RSS < 400 MB, no growth after the first cycles.

    .venv/bin/python -m bench.daemon_soak --minutes 10
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil

from bench.dcgm_scrape import node_scrape


class Fleet:
    """The simulated exporters: /node<i>/metrics → that node's answer; records when each request came."""

    def __init__(self, nodes: int, gpus: int) -> None:
        self.answers = {f"/node{i}/metrics": node_scrape(i, gpus).encode() for i in range(nodes)}
        self.hits: list[float] = []
        self.lock = threading.Lock()

    def serve(self) -> ThreadingHTTPServer:
        fleet = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = fleet.answers.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                with fleet.lock:
                    fleet.hits.append(time.monotonic())
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server


def cycles(hits: list[float], gap: float) -> list[tuple[float, int]]:
    """Group request times into scrape cycles (a pause longer than `gap` starts a new one): (start, requests)."""
    out: list[tuple[float, int]] = []
    for t in sorted(hits):
        if out and t - out[-1][0] < gap:
            out[-1] = (out[-1][0], out[-1][1] + 1)
        else:
            out.append((t, 1))
    return out


def config(tmp: Path, port: int, nodes: int, interval_s: float, without: frozenset[str] = frozenset()) -> Path:
    """The daemon's config; `without` turns parts off (alerts, exporter, rollup) to tell their memory apart."""
    targets = ",\n  ".join(f'"http://127.0.0.1:{port}/node{i}/metrics"' for i in range(nodes))
    path = tmp / "spendscope.toml"
    path.write_text(
        f'home = "{tmp}/home"\n[warehouse]\npath = "{tmp}/lake"\n'
        f"[collectors.dcgm]\nenabled = true\ninterval_minutes = {interval_s / 60}\nconcurrency = 32\n"
        f"targets = [\n  {targets}\n]\n"
        f"[exporters.prometheus]\nport = 0\nenabled = {str('exporter' not in without).lower()}\n"
        f"[alerts]\nenabled = {str('alerts' not in without).lower()}\n"
        + ("[telemetry]\nrollup_interval_minutes = 100000\n" if "rollup" in without else "")
    )
    return path


def private_dirty(pid: int) -> int:
    """Bytes of the process's own modified pages (heap, anonymous maps), from /proc/<pid>/smaps_rollup."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Private_Dirty:"):
            return int(line.split()[1]) * 1024
    return 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--nodes", type=int, default=192)
    ap.add_argument("--gpus", type=int, default=8)
    ap.add_argument("--interval-seconds", type=float, default=30)
    ap.add_argument("--warmup", type=int, default=3, help="cycles before the RSS baseline is taken")
    ap.add_argument(
        "--without", action="append", default=[], choices=["alerts", "exporter", "rollup"],
        help="turn a part of the daemon off (to tell apart what each one holds)",
    )  # fmt: skip
    args = ap.parse_args()

    fleet = Fleet(args.nodes, args.gpus)
    server = fleet.serve()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB RAM, "
        f"Python {platform.python_version()}"
    )
    print(
        f"soak: {args.nodes} x {args.gpus} GPUs every {args.interval_seconds:.0f} s for {args.minutes:g} min"
        + (f", without {', '.join(args.without)}" if args.without else "")
    )
    samples: list[tuple[float, int, int, int, int]] = []  # (t, rss, fds, cycles so far, private dirty)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = config(Path(tmp), server.server_address[1], args.nodes, args.interval_seconds, frozenset(args.without))
        child = subprocess.Popen(
            [sys.executable, "-m", "spendscope.cli", "--config", str(cfg), "--log-level", "WARNING", "run"],
            stdout=subprocess.DEVNULL,
            stderr=open(Path(tmp) / "daemon.log", "w"),  # noqa: SIM115 - closed with the folder
        )
        proc = psutil.Process(child.pid)
        started = time.monotonic()
        try:
            while time.monotonic() - started < args.minutes * 60:
                time.sleep(5)
                if child.poll() is not None:
                    sys.exit(f"daemon exited early ({child.returncode}):\n{(Path(tmp) / 'daemon.log').read_text()}")
                with fleet.lock:
                    seen = len(cycles(fleet.hits, args.interval_seconds / 2))
                rss, fds = proc.memory_info().rss, proc.num_fds()
                samples.append((time.monotonic() - started, rss, fds, seen, private_dirty(child.pid)))
        finally:
            child.send_signal(signal.SIGTERM)
            child.wait(timeout=120)
            server.shutdown()
        log_tail = (Path(tmp) / "daemon.log").read_text().strip().splitlines()[-5:]

    found = cycles(fleet.hits, args.interval_seconds / 2)
    starts = [t for t, _ in found]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    after = [s for s in samples if s[3] > args.warmup]
    base = after[0][1] if after else samples[-1][1]
    peak = max(s[1] for s in after or samples)
    last = samples[-1][1]
    mb = 2**20
    per_cycle = [n for _, n in found]
    print(f"\n  cycles: {len(found)}; requests per cycle: min {min(per_cycle)}, max {max(per_cycle)}")
    print(f"  cycle start spacing: min {min(gaps):.1f} s, max {max(gaps):.1f} s (every {args.interval_seconds:.0f} s)")
    print(f"  RSS after {args.warmup} warm-up cycles: {base / mb:.0f} MB; peak after: {peak / mb:.0f} MB; "
          f"last: {last / mb:.0f} MB; growth last vs warm-up: {100 * (last - base) / base:+.1f}%")  # fmt: skip
    fds = [s[2] for s in after or samples]
    print(f"  open fds after warm-up: min {min(fds)}, max {max(fds)}")
    print("  RSS over time (MB): " + ", ".join(f"{s[0] / 60:.1f}m={s[1] / mb:.0f}" for s in samples[::12]))
    # RSS also counts the shared libraries' code pages (DuckDB, delta-rs, Arrow), paged in as more code runs and
    # reclaimable; private dirty memory is what the process itself holds.
    dirty = [s[4] for s in after or samples]
    print(
        f"  private dirty (anonymous) memory after warm-up: first {dirty[0] / mb:.0f} MB, peak {max(dirty) / mb:.0f} "
        f"MB, last {dirty[-1] / mb:.0f} MB ({100 * (dirty[-1] - dirty[0]) / dirty[0]:+.1f}%)"
    )
    print("  private dirty over time (MB): " + ", ".join(f"{s[0] / 60:.1f}m={s[4] / mb:.0f}" for s in samples[::12]))
    if log_tail:
        print("  daemon log (last lines):\n    " + "\n    ".join(log_tail))
    print("\ntargets: RSS < 400 MB, no growth after the first cycles, every cycle on time")


if __name__ == "__main__":
    main()
