"""Dashboard page render benchmark (issue 5): every page on the demo data; target < 1 s per page.

Builds the demo (`spendscope demo`, default 90 days ending yesterday, with its telemetry days and an
alert evaluation so the alert pages have rows) in a temporary home, then for each page of app.py:

* **cold**: Streamlit's AppTest runs the page in this process right after the data caches were cleared —
  every query function really runs against the lake (median of `--repeat`);
* **warm**: the same page with its cached results (what a user sees until the TTL or a write);
* **switch**: a running `streamlit run app.py` in headless Chromium: click the page's sidebar link on another
  page and wait until its heading shows and the app reports its script finished (warm server caches);
* **load**: the page's URL loaded as a new page view (the Streamlit frontend boots, opens its websocket, runs).

Baseline named by the issue: 1 s per page.

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


def run_page(path: str, cold: bool) -> float:
    """One AppTest run of the page (the app's first run, on the default page, is not timed)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    if path != PAGES[0][0]:
        at.switch_page(path)
    if cold:
        st.cache_data.clear()
    t0 = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - t0
    if at.exception:
        raise SystemExit(f"{path}: {at.exception}")
    return elapsed


def browser_times(cfg: Path) -> dict[str, tuple[float, float]]:
    """Per page: (switching to it from another page via the sidebar, loading its URL in a new page view)."""
    sys.path.insert(0, str(ROOT))
    from tests.common.browser import Chromium, streamlit_app
    from tests.common.servers import free_port

    out: dict[str, tuple[float, float]] = {}
    with streamlit_app(cfg, free_port(), cfg.parent / "streamlit.log", timeout=120) as base, Chromium() as b:
        for _path, _title, url in PAGES:  # warm the server's caches once, as a user's first visit would
            b.open_streamlit(f"{base}/{'' if url == 'overview' else url}", timeout=120, settle=0)
        for i, (_path, title, url) in enumerate(PAGES):
            other = PAGES[(i + 1) % len(PAGES)]
            b.open_streamlit(f"{base}/{'' if other[2] == 'overview' else other[2]}", timeout=120, settle=0)
            t0 = time.perf_counter()
            b.switch_page("/" if url == "overview" else f"/{url}", title, timeout=120)
            switch = time.perf_counter() - t0
            t0 = time.perf_counter()
            b.open_streamlit(f"{base}/{'' if url == 'overview' else url}", timeout=120, settle=0)
            out[url] = (switch, time.perf_counter() - t0)
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
        print(f"{'page':<22} {'cold s':>7} {'warm s':>7} {'switch s':>9} {'load s':>7}   target < {TARGET_S:.1f} s")
        worst = 0.0
        for path, title, url in PAGES:
            cold = statistics.median(run_page(path, cold=True) for _ in range(args.repeat))
            warm = statistics.median(run_page(path, cold=False) for _ in range(args.repeat))
            switch, load = browser.get(url, (float("nan"), float("nan")))
            worst = max(worst, cold, 0.0 if switch != switch else switch)
            print(f"{title:<22} {cold:>7.2f} {warm:>7.2f} {switch:>9.2f} {load:>7.2f}")
        print(
            f"slowest page, cold or switched to in the browser: {worst:.2f} s ({worst / TARGET_S:.2f}× the 1 s target)"
        )


if __name__ == "__main__":
    main()
