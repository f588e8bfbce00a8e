"""Run one `spendscope` CLI call in this process and report its wall time and peak RSS as a JSON line."""

from __future__ import annotations

import json
import sys
import time

from spendscope.cli import main

if __name__ == "__main__":
    started = time.perf_counter()
    code = 0
    try:
        main(sys.argv[1:])
    except SystemExit as exc:
        code = int(exc.code or 0)
    # VmHWM is this image's own high-water mark. ru_maxrss is not: Linux carries it across fork+exec,
    # so a child of a parent that held the 5M-row table in memory would report the parent's peak.
    with open("/proc/self/status") as status:
        peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    print(
        json.dumps({"seconds": time.perf_counter() - started, "peak_rss_mb": peak_kb / 1024, "exit": code}),
        file=sys.stderr,
    )
    sys.exit(code)
