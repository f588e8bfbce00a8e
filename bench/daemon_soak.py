"""Daemon soak (issues 3 and 7): `spendscope run` scraping 1,536 simulated GPUs every 30 s, for 10 or 30 minutes.

This process serves 192 dcgm-exporter answers (8 H100s each, the default counters: bench/dcgm_scrape.py) on
loopback and starts the real daemon as a child process with a config scraping them, the gpu-rollup job and
the Prometheus exporter on. It samples the child's RSS and open file descriptors every few seconds and
logs when each scrape cycle reached the exporters, then prints:
  * RSS after warm-up (the first `--warmup` cycles), the peak, the last, and growth after warm-up, read between
    jobs (15-25 s into a 30 s cycle) at both ends, and read from any sample;
  * open file descriptors (min / max after warm-up);
  * cycles seen and the spread of their start times (every cycle on time: ~interval apart, none missed).
Targets: RSS < 400 MB, no growth after the first cycles (issue 3); with the demo billing in the lake (every
cost rule, the budget/spend exporter parts and the live job read it) for 30 minutes: RSS growth < 10 % after
warm-up, no file-descriptor growth, every cycle on time (issue 7).

    .venv/bin/python -m bench.daemon_soak --minutes 10
    .venv/bin/python -m bench.daemon_soak --minutes 30 --demo-days 30 --prefill-minutes 60 --warmup 12

`--prefill-minutes 60` first writes the last hour of scrapes of the same fleet (through the real dcgm collector
and the gpu-rollup, timestamps of the past hour) so the daemon starts as it restarts in production, on a lake
whose telemetry windows (the rules' last hour, the exporter's 30 minutes) are already full; without it the first
hour of a fresh lake is those windows filling, which a 30-minute run cannot tell from growth.

`--keep DIR` writes the daemon's DEBUG log (a `job:NAME memory …` line after every job: anonymous and file RSS,
malloc's live blocks, Arrow's, DuckDB's jemalloc), every RSS sample split into anonymous / file pages, and
/proc/<pid>/smaps between jobs every 5 minutes, to tell which allocator's memory grows.
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
from spendscope.memory import rss_parts


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
    """Group request times into scrape cycles (a request `gap` or more after its cycle's first starts a new one)."""
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


def prefill(cfg: Path, fleet: Fleet, minutes: float, interval_s: float) -> int:
    """Ingest `minutes` of the fleet's scrapes, dated over the past `minutes`, and roll them up; returns cycles."""
    import datetime as dt

    from collectors.base import RunContext
    from collectors.common.http import Scrape
    from collectors.gpu.dcgm import DcgmCollector
    from exporters.warehouse import gpu_rollup
    from exporters.warehouse.duckdb import DuckDbLake
    from spendscope import ingest
    from spendscope.clock import fixed_clock
    from spendscope.config import load

    settings = load(cfg)
    wh = DuckDbLake(settings.warehouse.path, reporting_tz=settings.reporting.timezone)

    def fetch(targets: object, timeout: float, concurrency: int) -> list[Scrape]:
        return [Scrape(t, fleet.answers["/" + t.split("/", 3)[3]].decode(), None, 0.0) for t in targets]  # type: ignore[attr-defined]

    collector = DcgmCollector(settings.collectors.dcgm, fetch=fetch)
    marks: dict[dt.datetime, dt.datetime] = {}
    now = dt.datetime.now(dt.UTC)
    cycles = int(minutes * 60 / interval_s)
    for k in range(cycles):
        at = now - dt.timedelta(seconds=(cycles - k) * interval_s)
        options = {"defer_rollup": lambda m: gpu_rollup.merge_marks(marks, m)}
        ingest.run(collector, RunContext(settings=settings, warehouse=wh, clock=fixed_clock(at), options=options))
    gpu_rollup.refresh_hours(wh, marks, settings.telemetry)
    wh.close()
    return cycles


def private_dirty(pid: int) -> int:
    """Bytes of the process's own modified pages (heap, anonymous maps), from /proc/<pid>/smaps_rollup."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Private_Dirty:"):
            return int(line.split()[1]) * 1024
    return 0


def _parts(pid: int) -> str:
    """`RssAnon=… RssFile=… RssShmem=…` (MB) of the daemon, for the kept RSS series."""
    names = {"rssanon": "RssAnon", "rssfile": "RssFile", "rssshmem": "RssShmem"}
    return " ".join(f"{names[k]}={v:.0f}" for k, v in rss_parts(pid).items())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--nodes", type=int, default=192)
    ap.add_argument("--gpus", type=int, default=8)
    ap.add_argument("--interval-seconds", type=float, default=30)
    ap.add_argument("--warmup", type=int, default=3, help="cycles before the RSS baseline is taken")
    ap.add_argument("--demo-days", type=int, default=0, help="load `spendscope demo --days N` into the lake first")
    ap.add_argument("--prefill-minutes", type=float, default=0, help="write this much scrape history first")
    ap.add_argument(
        "--without", action="append", default=[], choices=["alerts", "exporter", "rollup"],
        help="turn a part of the daemon off (to tell apart what each one holds)",
    )  # fmt: skip
    ap.add_argument(
        "--keep",
        type=Path,
        help="write the daemon's DEBUG log and every RSS sample (anonymous / file) into this folder",
    )
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
    # (t, rss, fds, cycles so far, private dirty, between jobs: 15 s or more after the last cycle began, 5 s or
    # more before the next; the cycle's jobs end within ~8 s here (the --keep log's job lines show it: dcgm ~0.5-1.5 s,
    # alerts ~1-2 s, gpu-rollup ~0.5 s), so the sample sees what the daemon keeps)
    samples: list[tuple[float, int, int, int, int, bool]] = []
    with tempfile.TemporaryDirectory() as tmp:
        cfg = config(Path(tmp), server.server_address[1], args.nodes, args.interval_seconds, frozenset(args.without))
        if args.demo_days:
            # The demo billing (GCP export, Databricks usage, prices, inventory) in the same lake: the alert rules,
            # the exporter's cost parts and the live estimate all read it every cycle.
            subprocess.run(
                [sys.executable, "-m", "spendscope.cli", "--config", str(cfg), "--log-level", "WARNING", "demo",
                 "--days", str(args.demo_days)],
                check=True, cwd=tmp, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            print(f"demo billing: {args.demo_days} days loaded into the lake")
        if args.prefill_minutes:
            n = prefill(cfg, fleet, args.prefill_minutes, args.interval_seconds)
            print(f"telemetry history: {n} scrape cycles of the past {args.prefill_minutes:g} min, rolled up")
        level = "DEBUG" if args.keep else "WARNING"
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
        series = open(args.keep / "rss.txt", "w") if args.keep else None  # noqa: SIM115 - closed below
        child = subprocess.Popen(
            [sys.executable, "-m", "spendscope.cli", "--config", str(cfg), "--log-level", level, "run"],
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
                    found = cycles(fleet.hits, args.interval_seconds / 2)
                rss, fds = proc.memory_info().rss, proc.num_fds()
                since = time.monotonic() - found[-1][0] if found else -1.0
                quiet = 15 <= since < args.interval_seconds - 5
                samples.append((time.monotonic() - started, rss, fds, len(found), private_dirty(child.pid), quiet))
                if series:
                    wall = time.strftime("%H:%M:%S")
                    print(
                        f"{wall} t={samples[-1][0]:.0f}s rss={rss // 2**20} {_parts(child.pid)}",
                        file=series,
                        flush=True,
                    )
                    minute = int(samples[-1][0] // 60)
                    if minute % 5 == 0 and quiet and not (args.keep / f"smaps-{minute:02d}.txt").exists():
                        # Every mapping's resident pages, to tell which allocator's regions grow (glibc arenas,
                        # mimalloc segments, Python's arenas).
                        text = Path(f"/proc/{child.pid}/smaps").read_text()
                        (args.keep / f"smaps-{minute:02d}.txt").write_text(text)
        finally:
            child.send_signal(signal.SIGTERM)
            child.wait(timeout=120)
            server.shutdown()
        log_tail = (Path(tmp) / "daemon.log").read_text().strip().splitlines()[-5:]
        if series:
            series.close()
            (args.keep / "daemon.log").write_text((Path(tmp) / "daemon.log").read_text())

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
    print(f"  RSS after {args.warmup} warm-up cycles (any sample): {base / mb:.0f} MB; peak after: {peak / mb:.0f} "
          f"MB; last: {last / mb:.0f} MB; growth last vs warm-up: {100 * (last - base) / base:+.1f}%")  # fmt: skip
    # The growth target is read between jobs at both ends: a 5 s sample that lands inside a job (the alert
    # evaluation or the hourly rollup holds 50-200 MB for a second or two) says when the sample was taken, not
    # what the daemon kept. The highest between-jobs sample guards against a lucky last one.
    between = [s for s in after if s[5]]
    if between:
        q0, qn, qmax = between[0][1], between[-1][1], max(s[1] for s in between)
        print(
            f"  RSS between jobs after warm-up ({len(between)} samples): first {q0 / mb:.0f} MB, last {qn / mb:.0f} "
            f"MB, highest {qmax / mb:.0f} MB; growth last vs first {100 * (qn - q0) / q0:+.1f}%, "
            f"highest vs first {100 * (qmax - q0) / q0:+.1f}%; open fds first {between[0][2]}, "
            f"last {between[-1][2]}, max {max(s[2] for s in between)}"
        )
    else:  # e.g. --interval-seconds under 20 s leaves no window, or the warm-up took the whole run
        print(
            "  RSS between jobs after warm-up: no sample fell 15 s or more after a cycle began and 5 s before the next"
        )
    fds = [s[2] for s in after or samples]
    print(f"  open fds after warm-up: first {fds[0]}, min {min(fds)}, max {max(fds)}, last {fds[-1]}")
    late = [g - args.interval_seconds for g in gaps]
    print(f"  cycles late by more than 5 s: {sum(1 for x in late if x > 5)} of {len(gaps)}; missed: "
          f"{sum(1 for g in gaps if g > 1.5 * args.interval_seconds)}")  # fmt: skip
    print("  RSS over time (MB): " + ", ".join(f"{s[0] / 60:.1f}m={s[1] / mb:.0f}" for s in samples[::12]))
    # A single 5 s sample may land inside a job (the alert evaluation holds ~100 MB for a second); each minute's
    # lowest sample is what the daemon keeps between jobs.
    floor: dict[int, int] = {}
    for t, rss, *_ in after or samples:
        floor[int(t // 60)] = min(rss, floor.get(int(t // 60), rss))
    minutes = sorted(floor)
    first, last_full = minutes[0], minutes[-2] if len(minutes) > 2 else minutes[-1]  # the last minute is cut short
    print(
        f"  RSS between jobs (each minute's lowest sample): minute {first} {floor[first] / mb:.0f} MB, minute "
        f"{last_full} {floor[last_full] / mb:.0f} MB ({100 * (floor[last_full] - floor[first]) / floor[first]:+.1f}%); "
        + ", ".join(f"{m}m={floor[m] / mb:.0f}" for m in minutes)
    )
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
