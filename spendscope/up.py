"""`spendscope up`: the whole stack on one machine — demo data if empty, the daemon, the Streamlit app."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from exporters.warehouse.engine import Warehouse
from spendscope.config import Settings
from spendscope.errors import ConfigError
from spendscope.scheduler import Daemon

log = logging.getLogger(__name__)

APP = Path(__file__).resolve().parent.parent / "app.py"


def warehouse_is_empty(wh: Warehouse) -> bool:
    return int(wh.query("SELECT COUNT(*) AS n FROM cost_daily").column("n")[0].as_py()) == 0


def streamlit_command(settings: Settings, port: int | None) -> list[str]:
    if not APP.is_file():
        raise ConfigError(f"app.py not found at {APP}; run from a spendscope checkout")
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.headless",
        "true",
        "--server.address",
        settings.app.host,
        "--server.port",
        str(port or settings.app.port),
        "--browser.gatherUsageStats",
        "false",
    ]


def run_stack(settings: Settings, wh: Warehouse, port: int | None = None, demo: bool = True) -> None:
    """Block until SIGTERM/SIGINT or the app exits; both processes are stopped together."""
    if demo and warehouse_is_empty(wh):
        from spendscope.demo import run_demo

        log.info("up: empty warehouse, loading demo data (spendscope demo)")
        print(run_demo(settings, warehouse=wh), flush=True)
    daemon = Daemon(settings, wh)
    daemon.start()
    env = dict(os.environ)
    if settings.source:
        env["SPENDSCOPE_CONFIG"] = str(Path(settings.source).resolve())
    app = subprocess.Popen(streamlit_command(settings, port), env=env)
    url = f"http://{settings.app.host}:{port or settings.app.port}"
    print(f"spendscope is up: dashboard {url}  (Ctrl-C to stop)", flush=True)

    def stop(signum: int, _frame: Any) -> None:
        daemon.stopping.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    try:
        while not daemon.stopping.wait(1.0):
            if app.poll() is not None:
                log.error("up: the dashboard exited with code %s", app.returncode)
                break
    finally:
        if app.poll() is None:
            app.terminate()
            try:
                app.wait(timeout=10)
            except subprocess.TimeoutExpired:
                app.kill()
        daemon.stop(wait=True)
