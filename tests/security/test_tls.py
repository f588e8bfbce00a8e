"""Every outbound HTTPS client verifies the server: a certificate from a private CA is refused by default, and
accepted once `ca_file` names that CA — a real Alertmanager (Debian package) and loopback stand-ins over HTTPS.

The certificates are made for the test (tests/common/tls.py): a test CA signs the servers' certificate; a second
CA signs nothing. For each client: the default (public CAs) and `ca_file` = the other CA fail with a clear TLS
error, as a SourceError or a failed delivery — never a traceback — and nothing arrives; `ca_file` = the test CA
succeeds and the request arrives. Datadog cannot be reached from tests: its stand-in checks the exact requests.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from alerts.config import AlertsConfig
from alerts.routing import Router
from alerts.routing.webhook import verify
from collectors.base import RunContext
from collectors.gpu.dcgm import DcgmCollector
from collectors.gpu.prometheus import PrometheusGpuCollector
from collectors.network.collector import NetworkCollector
from collectors.workload.collector import WorkloadCollector
from exporters.datadog.client import DatadogExporter, Event
from spendscope.config import Settings
from spendscope.config_telemetry import DcgmConfig, NetworkConfig, PrometheusGpuConfig, WorkloadConfig, WorkloadQuery
from spendscope.errors import ConfigError, SourceError
from tests.alerts.routing.helpers import T0, HttpRecorder, make_alert
from tests.common.servers import QuietHandler, free_port, poll, serving, stop
from tests.common.tls import Pki, make_pki
from tests.exporters.datadog_stub import API_KEY, DatadogStub

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).parent.parent / "fixtures"
REFUSED = "TLS certificate verification failed"
SECRET = "whsec-tls-test"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def refused_then_accepted(pki: Pki) -> list[tuple[dict[str, Any], bool]]:
    """(extra config, should succeed): the default CAs, a CA that did not sign the server's, the one that did."""
    return [({}, False), ({"ca_file": str(pki.other_ca)}, False), ({"ca_file": str(pki.ca)}, True)]


def notify(notifier: dict[str, Any], alertname: str) -> tuple[bool, str | None]:
    router = Router(AlertsConfig.model_validate({"notifiers": {"n": notifier}, "external_url": "https://cost.example"}))
    try:
        [d] = router.notify([make_alert(alertname=alertname, labels={"team": "ml"})], T0)
    finally:
        router.close()
    return d.ok, d.error


# -- notifiers --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def alertmanager(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Alertmanager serving its API over HTTPS (exporter-toolkit's --web.config.file)."""
    exe = shutil.which("prometheus-alertmanager")
    assert exe, "the Debian package prometheus-alertmanager must be installed (.ci/run installs it)"
    d, port = tmp_path_factory.mktemp("alertmanager"), free_port()
    (d / "am.yml").write_text("route:\n  receiver: none\nreceivers:\n  - name: none\n")
    (d / "web.yml").write_text(f"tls_server_config:\n  cert_file: {pki.cert}\n  key_file: {pki.key}\n")
    argv = [exe, f"--config.file={d / 'am.yml'}", f"--web.config.file={d / 'web.yml'}", f"--storage.path={d / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", "--log.level=warn"]  # fmt: skip
    base = f"https://127.0.0.1:{port}"
    with (d / "alertmanager.log").open("wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        try:
            poll(lambda: httpx.get(f"{base}/-/ready", verify=pki.client_context(), timeout=2).status_code == 200)
            yield base
        finally:
            stop(proc)


def test_alertmanager_over_https(alertmanager: str, pki: Pki) -> None:
    def held() -> list[str]:
        got = httpx.get(f"{alertmanager}/api/v2/alerts", verify=pki.client_context(), timeout=5).json()
        return [a["labels"]["alertname"] for a in got if a["labels"]["alertname"] == "TlsCheck"]

    for extra, succeeds in refused_then_accepted(pki):
        ok, error = notify({"type": "alertmanager", "url": alertmanager, **extra}, "TlsCheck")
        assert ok is succeeds, error
        if not succeeds:
            assert error is not None and REFUSED in error and "/api/v2/alerts" in error
            assert held() == []
    assert held() == ["TlsCheck"]


def test_webhook_over_https_reaches_only_a_verified_receiver_and_is_signed(
    pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    receiver = HttpRecorder(tls=pki.server_context()).start()
    try:
        for extra, succeeds in refused_then_accepted(pki):
            hook = {"type": "webhook", "url": receiver.url + "/hook", "secret_env": "HOOK_SECRET", **extra}
            ok, error = notify(hook, "TlsCheck")
            assert ok is succeeds and (succeeds or (error is not None and REFUSED in error)), error
    finally:
        receiver.stop()
    [seen] = receiver.seen  # the refused attempts never got past the handshake
    assert (seen.method, seen.path) == ("POST", "/hook")
    signed = seen.headers["x-spendscope-timestamp"], seen.headers["x-spendscope-signature"]
    assert verify(SECRET, seen.body, *signed, now=time.time())
    assert not verify(SECRET, seen.body.replace(b"TlsCheck", b"TlsCheq"), *signed, now=time.time())
    assert json.loads(seen.body)["alerts"][0]["labels"]["alertname"] == "TlsCheck"


def test_an_unreadable_ca_file_is_a_failed_delivery_naming_the_key(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.pem")
    for notifier in ({"type": "webhook", "url": "https://127.0.0.1:9/hook"},
                     {"type": "alertmanager", "url": "https://127.0.0.1:9"}):  # fmt: skip
        ok, error = notify({**notifier, "ca_file": missing}, "TlsCheck")
        assert not ok and error is not None and "alerts.notifiers.n.ca_file: cannot load the CA bundle" in error


@pytest.fixture
def dd_stub(pki: Pki) -> Iterator[DatadogStub]:
    stub = DatadogStub().start(tls=pki.server_context())
    yield stub
    stub.stop()


def test_datadog_notifier_over_https(dd_stub: DatadogStub, pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERTS_DD_KEY", API_KEY)
    for extra, succeeds in refused_then_accepted(pki):
        ok, error = notify({"type": "datadog", "api_key_env": "ALERTS_DD_KEY", "api_url": dd_stub.url, **extra}, "Tls")
        assert ok is succeeds and (succeeds or (error is not None and REFUSED in error)), error
    assert [(r.path, r.status, "Tls" in r.json["title"]) for r in dd_stub.requests] == [("/api/v1/events", 202, True)]


def test_datadog_exporter_over_https_is_refused_at_once_and_sends_with_ca_file(
    dd_stub: DatadogStub, pki: Pki, settings: Settings
) -> None:
    for extra, succeeds in refused_then_accepted(pki):
        sleeps: list[float] = []
        dd = {"enabled": True, "api_url": dd_stub.url, **extra}
        s = Settings.model_validate({**settings.model_dump(exclude_unset=True), "exporters": {"datadog": dd}})
        exporter = DatadogExporter(s, lambda: None, environ={"DD_API_KEY": API_KEY}, sleep=sleeps.append)  # type: ignore[arg-type,return-value]
        try:
            if succeeds:
                assert exporter.send_events([Event("spendscope: tls", "verified")]) == 1
            else:
                with pytest.raises(SourceError, match=REFUSED) as err:
                    exporter.send_events([Event("spendscope: tls", "refused")])
                assert not err.value.retryable and sleeps == []  # a bad certificate is not retried
        finally:
            exporter.close()
    assert [(r.path, r.json["text"]) for r in dd_stub.requests] == [("/api/v1/events", "verified")]


# -- scrapes ----------------------------------------------------------------------------------------------


def answering(body: bytes, content_type: str, seen: list[str]) -> type[QuietHandler]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:
            seen.append(f"GET {self.path}")
            self.send_body(200, body, content_type)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            seen.append(f"POST {self.path}")
            self.send_body(200, body, content_type)

    return Handler


EMPTY_MATRIX = json.dumps({"status": "success", "data": {"resultType": "matrix", "result": []}}).encode()
SCRAPES: dict[str, tuple[bytes, str, str]] = {
    "dcgm": ((FIXTURES / "dcgm" / "h100_8gpu_exporter3.txt").read_bytes(), "text/plain", "/metrics"),
    "network": ((FIXTURES / "node_exporter" / "scrape_1.txt").read_bytes(), "text/plain", "/metrics"),
    "prometheus": (EMPTY_MATRIX, "application/json", ""),
    "workload": (EMPTY_MATRIX, "application/json", ""),
}


def collector(name: str, url: str, extra: dict[str, Any]) -> Any:
    if name == "dcgm":
        return DcgmCollector(DcgmConfig(enabled=True, targets=[url], **extra))
    if name == "network":
        return NetworkCollector(NetworkConfig(enabled=True, local=False, targets=[url], **extra))
    if name == "prometheus":
        return PrometheusGpuCollector(PrometheusGpuConfig(enabled=True, url=url, **extra))
    query = WorkloadQuery(metric="training_throughput", query="rate(samples_total[5m])")
    return WorkloadCollector(WorkloadConfig(enabled=True, prometheus_url=url, queries=[query], **extra))


@pytest.mark.parametrize("name", list(SCRAPES))
def test_https_scrapes_verify_the_endpoint(name: str, pki: Pki, ctx: RunContext) -> None:
    body, content_type, path = SCRAPES[name]
    seen: list[str] = []
    with serving(answering(body, content_type, seen), tls=pki.server_context()) as base:
        for extra, succeeds in refused_then_accepted(pki):
            c = collector(name, base + path, extra)
            with contextlib.ExitStack() as stack:
                if hasattr(c, "close"):
                    stack.callback(c.close)
                if succeeds:
                    items = list(c.collect(ctx))
                    assert name in ("prometheus", "workload") or sum(i.data.num_rows for i in items) > 0
                else:
                    with pytest.raises(SourceError, match=REFUSED) as err:
                        list(c.collect(ctx))
                    assert not err.value.retryable, err.value
                    assert seen == []  # the refused client sent nothing
    assert seen and all(s.startswith(("GET /metrics", "POST /api/v1/query_range")) for s in seen), seen


def test_an_unreadable_ca_file_names_the_collector_key(tmp_path: Path, ctx: RunContext) -> None:
    c = DcgmCollector(DcgmConfig(enabled=True, targets=["https://127.0.0.1:9/metrics"], ca_file=str(tmp_path / "no")))
    with pytest.raises(ConfigError, match=r"collectors\.dcgm\.ca_file: cannot load the CA bundle"):
        list(c.collect(ctx))
