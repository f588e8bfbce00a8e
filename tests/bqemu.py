"""A real BigQuery API emulator (`bqemulator`) on loopback for integration tests, and a client for it.

`bqemulator` runs BigQuery SQL on DuckDB and needs DuckDB's spatial extension at start-up, which it
would download; here it comes from the PyPI package `duckdb-extension-spatial` (DESIGN §8) and is
INSTALLed from that file into DuckDB's default extension directory, which the emulator then loads.
The emulator runs as a subprocess (`bqemulator start`) on free loopback ports and is stopped after.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PROJECT = "test-project"
_READY_TIMEOUT_S = 90


@dataclass(frozen=True)
class Emulator:
    """A running emulator: its REST endpoint and the default project."""

    api_endpoint: str
    project: str = PROJECT

    def client(self) -> object:
        """A real google.cloud.bigquery.Client pointed at the emulator, anonymous."""
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import bigquery

        return bigquery.Client(
            project=self.project,
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            client_options=ClientOptions(api_endpoint=self.api_endpoint),
        )


def install_spatial_extension() -> None:
    """INSTALL the spatial extension from the `duckdb-extension-spatial` wheel (no network needed)."""
    import duckdb
    import duckdb_extension_spatial

    root = Path(duckdb_extension_spatial.__file__).parent
    found = sorted(root.rglob("spatial.duckdb_extension"))
    if not found:
        raise RuntimeError(f"no spatial.duckdb_extension under {root}")
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"INSTALL '{found[0]}'")
        con.execute("LOAD spatial")
    finally:
        con.close()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the test process dies, even by SIGKILL (Linux; no-op elsewhere)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _executable() -> str:
    beside = Path(sys.executable).with_name("bqemulator")
    return str(beside) if beside.exists() else (shutil.which("bqemulator") or "bqemulator")


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"bqemulator exited with {proc.returncode}: {log_path.read_text()[-3000:]}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url + "/readyz", timeout=2) as resp:
            if resp.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"bqemulator not ready after {_READY_TIMEOUT_S}s: {log_path.read_text()[-3000:]}")


@contextlib.contextmanager
def running_emulator() -> Iterator[Emulator]:
    """Start `bqemulator start` (ephemeral, in memory) on free loopback ports; stop it on exit."""
    install_spatial_extension()
    rest, grpc = _free_port(), _free_port()
    workdir = Path(tempfile.mkdtemp(prefix="bqemu-"))
    log_path = workdir / "bqemulator.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BQEMU_")}
    args = [
        _executable(), "start", "--rest-host", "127.0.0.1", "--rest-port", str(rest),
        "--grpc-host", "127.0.0.1", "--grpc-port", str(grpc), "--ephemeral",
        "--project", PROJECT, "--log-level", "warning", "--log-format", "json",
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        # cwd is an empty folder so no stray .bqemu.toml changes the settings.
        proc = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, cwd=workdir, env=env, preexec_fn=_die_with_parent
        )
    url = f"http://127.0.0.1:{rest}"
    try:
        _wait_ready(url, proc, log_path)
        yield Emulator(api_endpoint=url)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        shutil.rmtree(workdir, ignore_errors=True)
