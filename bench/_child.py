"""Run one `spendscope` CLI call in this process and report its wall time and peak RSS as a JSON line."""

from __future__ import annotations

import json
import resource
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
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps({"seconds": time.perf_counter() - started, "peak_rss_mb": peak_kb / 1024, "exit": code}),
        file=sys.stderr,
    )
    sys.exit(code)
