"""Starting a real server binary (Prometheus, Alertmanager: Debian packages) on loopback for a test."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def poll(fn: Callable[[], Any], timeout: float = 30.0, every: float = 0.1) -> Any:
    """fn() until it returns something truthy (exceptions count as not yet); AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            out = fn()
            if out:
                return out
        except Exception as exc:
            last = exc
        time.sleep(every)
    raise AssertionError(f"timed out waiting (last error: {last!r})")


@contextlib.contextmanager
def real_server(argv: Sequence[str], log_path: Path, base_url: str) -> Iterator[str]:
    """Run `argv` (output to `log_path`) until its `/-/ready` answers 200; yield `base_url`; terminate after."""
    assert shutil.which(argv[0]), f"{argv[0]} must be installed (Debian packages prometheus, prometheus-alertmanager)"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(list(argv), stdout=log, stderr=subprocess.STDOUT)
        try:
            poll(lambda: httpx.get(f"{base_url}/-/ready", timeout=2).status_code == 200)
            yield base_url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
