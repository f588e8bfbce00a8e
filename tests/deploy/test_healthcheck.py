"""`spendscope healthcheck` (the image's HEALTHCHECK) against real servers on loopback: the real daemon
(`spendscope run`) serving /metrics, a real Streamlit serving app.py, the daemon's own MetricsServer class, and
plain HTTP stand-ins for the wrong answers (someone else's port, an error page, a hung server)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from exporters.prometheus.server import MetricsServer
from spendscope.cli import cli
from spendscope.cli_health import default_url, probe_host
from spendscope.config import parse
from tests.common.servers import QuietHandler, free_port, poll, serving, stop
from tests.deploy.files import ROOT

SPENDSCOPE = Path(sys.executable).with_name("spendscope")
EXPOSITION = b"# HELP spendscope_collector_up 1 if the job's last run succeeded\n# TYPE spendscope_collector_up gauge\n"


def healthcheck(
    *args: str, config: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The installed console script, as Docker's HEALTHCHECK runs it."""
    argv = [str(SPENDSCOPE), *(["--config", str(config)] if config else []), "healthcheck", *args]
    base = {k: v for k, v in os.environ.items() if not k.startswith("SPENDSCOPE_")}
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env={**base, **(env or {})})


def invoke(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The same command in-process (CliRunner), for the quick cases; SPENDSCOPE_* of the test run unset."""
    clean: dict[str, str | None] = {k: None for k in os.environ if k.startswith("SPENDSCOPE_")}
    res = CliRunner().invoke(cli, ["healthcheck", *args], env={**clean, **(env or {})})
    return subprocess.CompletedProcess(args, res.exit_code, res.stdout, res.stderr)


def write_config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "spendscope.toml"
    path.write_text(f'home = "{tmp_path}/home"\n[warehouse]\npath = "{tmp_path}/lake"\n{body}', encoding="utf-8")
    return path


@pytest.fixture
def metrics_server() -> Iterator[MetricsServer]:
    """The daemon's /metrics server class on a free loopback port, serving a fixed exposition."""
    server = MetricsServer(lambda: EXPOSITION, "127.0.0.1", 0)
    server.start()
    yield server
    server.stop()


def test_probe_host_turns_wildcards_into_loopback() -> None:
    assert probe_host("0.0.0.0") == "127.0.0.1"
    assert probe_host("::") == "127.0.0.1"
    assert probe_host("") == "127.0.0.1"
    assert probe_host("10.1.2.3") == "10.1.2.3"
    assert probe_host("::1") == "[::1]"


def test_default_urls_come_from_the_config() -> None:
    settings = parse('[exporters.prometheus]\nhost = "0.0.0.0"\nport = 9999\n[app]\nhost = "0.0.0.0"\nport = 8600\n')
    assert default_url(settings, "daemon") == "http://127.0.0.1:9999/metrics"
    assert default_url(settings, "dashboard") == "http://127.0.0.1:8600/_stcore/health"


def test_exporter_off_is_a_usage_error_not_unhealthy(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, "[exporters.prometheus]\nenabled = false\n")
    res = CliRunner().invoke(cli, ["--config", str(cfg), "healthcheck"])
    assert res.exit_code == 2
    assert "exporters.prometheus.enabled = false" in res.output and "--url" in res.output


def test_healthy_exporter_exits_0(metrics_server: MetricsServer) -> None:
    res = healthcheck("--url", metrics_server.url)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(f"ok: daemon {metrics_server.url}: HTTP 200")


def test_proxy_variables_do_not_route_the_probe(metrics_server: MetricsServer) -> None:
    """HTTP_PROXY set for the collectors (here: a closed port) must not break the loopback probe."""
    dead = f"http://127.0.0.1:{free_port()}"
    env = {"HTTP_PROXY": dead, "http_proxy": dead, "ALL_PROXY": dead, "NO_PROXY": ""}
    res = invoke("--url", metrics_server.url, env=env)
    assert res.returncode == 0, res.stderr


def test_nothing_listening_exits_1_and_says_so() -> None:
    url = f"http://127.0.0.1:{free_port()}/metrics"
    res = invoke("--url", url)
    assert res.returncode == 1
    assert res.stderr.startswith(f"unhealthy: daemon {url}: cannot connect")
    assert "Traceback" not in res.stderr


class Hello(QuietHandler):
    def do_GET(self) -> None:
        if self.path == "/error":
            self.send_body(500, b"render failed: disk full\n", "text/plain")
        elif self.path == "/slow":
            time.sleep(3)
            self.send_body(200, b"ok", "text/plain")
        else:
            self.send_body(200, b"# TYPE node_load1 gauge\nnode_load1 0.5\n", "text/plain")


def test_someone_elses_metrics_are_unhealthy() -> None:
    with serving(Hello) as base:
        res = invoke("--url", f"{base}/metrics")
    assert res.returncode == 1
    assert "no spendscope_ series: not the spendscope exporter" in res.stderr


def test_an_error_status_is_unhealthy_with_its_text() -> None:
    with serving(Hello) as base:
        res = invoke("--url", f"{base}/error")
    assert res.returncode == 1
    assert "HTTP 500: render failed: disk full" in res.stderr


def test_a_hung_server_is_unhealthy_after_the_timeout() -> None:
    with serving(Hello) as base:
        res = invoke("--url", f"{base}/slow", "--timeout", "0.5")
    assert res.returncode == 1
    assert "no answer within 0.5s" in res.stderr


def test_the_dashboard_target_wants_streamlits_ok(metrics_server: MetricsServer) -> None:
    res = invoke("--target", "dashboard", "--url", metrics_server.url)
    assert res.returncode == 1
    assert "instead of 'ok': not Streamlit's health endpoint" in res.stderr


def test_target_and_url_come_from_the_environment_as_in_the_image(metrics_server: MetricsServer) -> None:
    env = {"SPENDSCOPE_HEALTHCHECK_TARGET": "dashboard", "SPENDSCOPE_HEALTHCHECK_URL": metrics_server.url}
    res = invoke(env=env)
    assert res.returncode == 1 and "unhealthy: dashboard" in res.stderr
    res = invoke(env={**env, "SPENDSCOPE_HEALTHCHECK_TARGET": "daemon"})
    assert res.returncode == 0, res.stderr


@pytest.mark.integration
def test_the_real_daemon_is_healthy_while_it_runs_and_not_after(tmp_path: Path) -> None:
    """`spendscope run` listening on 0.0.0.0 as in the container; the probe goes to loopback."""
    port = free_port()
    body = f'[exporters.prometheus]\nhost = "0.0.0.0"\nport = {port}\n[alerts]\nenabled = false\n'
    cfg = write_config(tmp_path, body)
    log = (tmp_path / "daemon.log").open("wb")
    daemon = subprocess.Popen([str(SPENDSCOPE), "--config", str(cfg), "run"], stdout=log, stderr=subprocess.STDOUT)
    try:
        res = poll(lambda: (r := healthcheck(config=cfg)).returncode == 0 and r, timeout=60)
        assert res.stdout.startswith(f"ok: daemon http://127.0.0.1:{port}/metrics: HTTP 200")
    finally:
        stop(daemon)
    res = healthcheck(config=cfg)
    assert res.returncode == 1
    assert f"unhealthy: daemon http://127.0.0.1:{port}/metrics: cannot connect" in res.stderr


@pytest.mark.integration
def test_a_real_streamlit_dashboard_is_healthy_while_it_runs_and_not_after(tmp_path: Path) -> None:
    port = free_port()
    cfg = write_config(tmp_path, f'[app]\nhost = "127.0.0.1"\nport = {port}\n')
    env = {**os.environ, "SPENDSCOPE_CONFIG": str(cfg), "HOME": str(tmp_path),
           "STREAMLIT_SERVER_HEADLESS": "true", "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}  # fmt: skip
    argv = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.address=127.0.0.1",
            f"--server.port={port}", "--server.fileWatcherType=none"]  # fmt: skip
    log = (tmp_path / "streamlit.log").open("wb")
    app = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    try:
        res = poll(lambda: (r := healthcheck("--target", "dashboard", config=cfg)).returncode == 0 and r, timeout=90)
        assert res.stdout.startswith(f"ok: dashboard http://127.0.0.1:{port}/_stcore/health: HTTP 200")
    finally:
        stop(app)
    res = healthcheck("--target", "dashboard", config=cfg)
    assert res.returncode == 1 and "cannot connect" in res.stderr
