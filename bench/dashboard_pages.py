"""Dashboard page render benchmark (issue 5): every page on the demo data; target < 1 s per page.

Builds the demo (`spendscope demo`, default 90 days ending yesterday, with its telemetry days and an
alert evaluation so the alert pages have rows) in a temporary home, then for each page of app.py:

* **cold**: Streamlit's AppTest runs the page in this process right after the data caches were cleared —
  every query function really runs against the lake;
* **warm**: the same page again (what a user switching pages or changing nothing sees until the TTL);
* **browser**: a running `streamlit run app.py` loaded in headless Chromium, from navigation until the app
  reports its script finished (warm server caches; includes the websocket round trips and drawing).

Baseline named by the issue: 1 s per page. Printed per page: cold, warm (median of `--repeat`), browser.

    .venv/bin/python -m bench.dashboard_pages [--days 90] [--repeat 5] [--no-browser]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

from alerts.engine import AlertEngine
from app import PAGES
from exporters.warehouse import open_warehouse
from spendscope import config
from spendscope.demo import run_demo

ROOT = Path(__file__).parents[1]
TARGET_S = 1.0


def build(home: Path, days: int) -> Path:
    cfg = home / "spendscope.toml"
    cfg.write_text(f'home = "{home}/home"\n[warehouse]\npath = "{home}/lake"\n')
    settings = config.load(str(cfg))
    t0 = time.perf_counter()
    run_demo(settings, days=days, end=dt.date.today() - dt.timedelta(days=1))
    wh = open_warehouse(settings)
    AlertEngine.from_settings(settings, wh, notify=False).evaluate()
    print(f"demo: {days} days built and alerts evaluated in {time.perf_counter() - t0:.1f} s")
    return cfg


def run_page(path: str) -> float:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    if path != PAGES[0][0]:
        at.switch_page(path)
    t0 = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - t0
    if at.exception:
        raise SystemExit(f"{path}: {at.exception}")
    return elapsed


def browser_times(cfg: Path) -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    from tests.common.browser import Chromium, streamlit_app
    from tests.common.servers import free_port

    out: dict[str, float] = {}
    with streamlit_app(cfg, free_port(), cfg.parent / "streamlit.log", timeout=120) as base, Chromium() as b:
        for _path, _title, url in PAGES:
            page = f"{base}/{'' if url == 'overview' else url}"
            b.open_streamlit(page, timeout=120, settle=0)  # warms the server's caches
            t0 = time.perf_counter()
            b.open_streamlit(page, timeout=120, settle=0)
            out[url] = time.perf_counter() - t0
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="spendscope-bench-pages-") as tmp:
        cfg = build(Path(tmp), args.days)
        os.environ["SPENDSCOPE_CONFIG"] = str(cfg)
        browser = {} if args.no_browser else browser_times(cfg)
        print(f"{'page':<22} {'cold s':>8} {'warm s':>8} {'browser s':>10}   target < {TARGET_S:.1f} s")
        worst = 0.0
        for path, title, url in PAGES:
            st.cache_data.clear()
            cold = run_page(path)
            warm = statistics.median(run_page(path) for _ in range(args.repeat))
            shown = f"{browser[url]:>10.2f}" if url in browser else f"{'—':>10}"
            worst = max(worst, cold, browser.get(url, 0.0))
            print(f"{title:<22} {cold:>8.2f} {warm:>8.2f} {shown}")
        print(f"slowest page, cold or in the browser: {worst:.2f} s ({worst / TARGET_S:.2f}× the 1 s target)")


if __name__ == "__main__":
    main()
