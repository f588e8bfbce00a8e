"""A real headless Chromium driven over the DevTools protocol (CDP), for the dashboard's browser tests.

Just enough of CDP for "load this page of a running Streamlit app, wait until its script has finished, read
the DOM, save a screenshot": Page.navigate, Runtime.evaluate, Page.captureScreenshot over the page target's
websocket (the `websockets` package's sync client). No WebDriver, no downloaded browser: Debian's `chromium`.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

from tests.common.servers import poll, stop

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).parents[2]
# Streamlit marks its root element with the script's run state; "notRunning" once a run has finished.
_READY = """(() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app) return 'no-app';
  return app.getAttribute('data-test-connection-state') + '/' + app.getAttribute('data-test-script-state');
})()"""
ERRORS = """Array.from(document.querySelectorAll(
  '[data-testid="stException"], [data-testid^="stAlertContentError"], [data-testid="stErrorElementStack"]'
)).map(e => e.innerText)"""


class Chromium:
    """One headless browser process with one page; use as a context manager."""

    def __init__(self, width: int = 1400, height: int = 2000, binary: str = CHROMIUM) -> None:
        self.binary, self.width, self.height = binary, width, height
        self._ids = itertools.count(1)
        self._proc: subprocess.Popen[str] | None = None
        self._ws: ClientConnection | None = None
        self._profile = tempfile.mkdtemp(prefix="spendscope-chromium-")

    def __enter__(self) -> Chromium:
        self._proc = subprocess.Popen(
            [self.binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--remote-debugging-port=0", f"--user-data-dir={self._profile}",
             f"--window-size={self.width},{self.height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        port = self._devtools_port()
        targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10).read())
        page = next(t for t in targets if t["type"] == "page")
        self._ws = connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=10)
        self.call("Page.enable")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._ws is not None:
            self._ws.close()
        if self._proc is not None:
            stop(self._proc, timeout=10)
        shutil.rmtree(self._profile, ignore_errors=True)

    def _devtools_port(self) -> int:
        assert self._proc is not None and self._proc.stderr is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self._proc.stderr.readline()
            if not line and self._proc.poll() is not None:
                break
            if m := re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line):
                return int(m.group(1))
        raise RuntimeError(f"chromium did not start (exit {self._proc.poll()})")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one CDP command and return its result (events arriving meanwhile are skipped)."""
        assert self._ws is not None
        msg_id = next(self._ids)
        self._ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self._ws.recv(timeout=60))
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        res = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return res.get("result", {}).get("value")

    def open_streamlit(self, url: str, timeout: float = 60.0, settle: float = 1.0) -> str:
        """Navigate and wait until the app is connected and its script has finished; returns the page's text."""
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            state = self.evaluate(_READY)
            if state == "CONNECTED/notRunning":
                time.sleep(settle)  # charts draw after the script ends (vega embeds render asynchronously)
                if self.evaluate(_READY) == "CONNECTED/notRunning":
                    return str(self.evaluate("document.body.innerText"))
            time.sleep(0.25)
        raise TimeoutError(f"{url}: the app did not finish rendering in {timeout:.0f} s (state {state})")

    def switch_page(self, href_end: str, title: str, timeout: float = 60.0) -> None:
        """Click the sidebar link whose href ends with `href_end` (in-app navigation, as a user switches pages) and
        wait until that page's heading shows and its script has finished."""
        link = f'[data-testid="stSidebarNavLink"][href$="{href_end}"]'
        if not self.evaluate(
            f"(() => {{ const a = document.querySelector('{link}'); a && a.click(); return !!a; }})()"
        ):
            raise RuntimeError(f"no sidebar link to {href_end!r}")
        heading = "document.querySelector('[data-testid=\"stMain\"] h1')?.innerText || ''"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.evaluate(_READY) == "CONNECTED/notRunning" and title in self.evaluate(heading):
                return
            time.sleep(0.02)
        raise TimeoutError(f"{href_end}: page {title!r} did not finish rendering in {timeout:.0f} s")

    def errors(self) -> list[str]:
        """Texts of Streamlit exception and error elements on the page."""
        return list(self.evaluate(ERRORS) or [])

    def screenshot(self, path: Path) -> Path:
        """Save a PNG of the whole page."""
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        path.write_bytes(base64.b64decode(data))
        return path


@contextlib.contextmanager
def streamlit_app(config: Path, port: int, log: Path, timeout: float = 60.0) -> Iterator[str]:
    """`streamlit run app.py` over `config` on 127.0.0.1:`port`; yields its base URL once it answers health."""
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port),
           "--browser.gatherUsageStats", "false"]  # fmt: skip
    env = {**os.environ, "SPENDSCOPE_CONFIG": str(config)}
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def up_or_gone() -> bool:
        # True once it answers health, or once it has exited (polling on would only wait for the timeout).
        return proc.poll() is not None or urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200

    try:
        try:
            poll(up_or_gone, timeout, every=0.25)
        except AssertionError:
            raise RuntimeError(f"streamlit did not start in {timeout:.0f} s: {log.read_text()[-2000:]}") from None
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited ({proc.returncode}): {log.read_text()[-2000:]}")
        yield url
    finally:
        stop(proc)
