"""Google Managed Prometheus auth: refreshed Google access tokens on every query, against a local server.

GMP itself cannot be reached here. A loopback http.server (random port) plays both its Prometheus-compatible
query API (`/v1/projects/PROJECT/location/global/prometheus/api/v1/query_range`, answering the documented
`matrix` JSON) and Google's OAuth token endpoint (`POST /token`, `grant_type=refresh_token`, answering
`{"access_token", "expires_in", "token_type"}`). It records the `Authorization` header of every query. The
credentials are a stand-in whose token changes on each refresh, or real `google.oauth2.credentials.Credentials`
whose `token_uri` points at the local server.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import google.oauth2.credentials
import httpx
import pytest

from collectors.base import RunContext
from collectors.common.prom_api import PromApi
from collectors.gpu import prom_auth
from collectors.gpu.prometheus import PrometheusGpuCollector, make_api
from spendscope import ingest
from spendscope.clock import fixed_clock
from spendscope.config_telemetry import PrometheusGpuConfig
from spendscope.errors import ConfigError
from tests.common.servers import QuietHandler, serving

pytestmark = pytest.mark.integration

GMP = "https://monitoring.googleapis.com/v1/projects/ml-prod/location/global/prometheus"
API_PATH = "/v1/projects/ml-prod/location/global/prometheus/api/v1/query_range"
NOW = dt.datetime(2026, 11, 20, 12, 7, 30, tzinfo=dt.UTC)
T0 = dt.datetime(2026, 11, 20, 11, tzinfo=dt.UTC)


class FakeCredentials:
    """Stands in for google.auth credentials: no token until refreshed, a new token on every refresh."""

    def __init__(self) -> None:
        self.token: str | None = None
        self.expired = False
        self.refreshes = 0

    @property
    def valid(self) -> bool:
        return self.token is not None and not self.expired

    def refresh(self, request: Any) -> None:
        self.refreshes += 1
        self.token, self.expired = f"ya29.fake-{self.refreshes}", False


@dataclass
class Server:
    url: str
    auth: list[str | None] = field(default_factory=list)  # Authorization header of each query
    paths: list[str] = field(default_factory=list)
    reject: set[str] = field(default_factory=set)  # tokens answered with 401
    token_requests: list[dict[str, str]] = field(default_factory=list)


@pytest.fixture
def server() -> Iterator[Server]:
    holder: list[Server] = []

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            srv = holder[0]
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            form = {k: v[0] for k, v in parse_qs(body).items()}
            if self.path == "/token":
                srv.token_requests.append(form)
                if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != "1//refresh":
                    return self.send_json(400, {"error": "invalid_grant"})
                return self.send_json(
                    200, {"access_token": "ya29.real-new", "expires_in": 3599, "token_type": "Bearer"}
                )
            auth = self.headers.get("Authorization")
            srv.auth.append(auth)
            srv.paths.append(self.path)
            if self.path != API_PATH or set(form) != {"query", "start", "end", "step"}:
                return self.send_json(400, {"status": "error", "errorType": "bad_data", "error": "bad request"})
            if auth is None or auth.removeprefix("Bearer ") in srv.reject:
                return self.send_json(401, {"status": "error", "errorType": "unauthorized", "error": "bad token"})
            self.send_json(200, {"status": "success", "data": {"resultType": "matrix", "result": []}})

    with serving(Handler, poll_interval=0.05) as url:
        holder.append(Server(url))
        yield holder[0]


def local_api(srv: Server, got: list[httpx.Auth | None]) -> Any:
    """An api_factory that sends the GMP URL's path to the local server, keeping the auth the collector chose."""

    def factory(url: str, timeout: float, auth: httpx.Auth | None) -> PromApi:
        got.append(auth)
        return make_api(srv.url + urlsplit(url).path, timeout, auth)

    return factory


def test_every_query_carries_a_token_refreshed_when_it_expired(server: Server) -> None:
    creds = FakeCredentials()
    api = make_api(server.url + urlsplit(GMP).path, 5.0, prom_auth.GoogleAuth(creds))
    api.query_range("DCGM_FI_DEV_GPU_UTIL", T0, NOW, 60)
    api.query_range("DCGM_FI_DEV_FB_USED", T0, NOW, 60)
    creds.expired = True  # an hour later
    api.query_range("DCGM_FI_DEV_GPU_UTIL", T0, NOW, 60)
    api.close()
    assert server.auth == ["Bearer ya29.fake-1", "Bearer ya29.fake-1", "Bearer ya29.fake-2"]
    assert creds.refreshes == 2


def test_a_refused_token_is_refreshed_once_and_the_query_sent_again(server: Server) -> None:
    creds = FakeCredentials()
    api = make_api(server.url + urlsplit(GMP).path, 5.0, prom_auth.GoogleAuth(creds))
    server.reject.add("ya29.fake-1")  # revoked before its expiry
    assert api.query_range("DCGM_FI_DEV_GPU_UTIL", T0, NOW, 60).series == []
    assert server.auth == ["Bearer ya29.fake-1", "Bearer ya29.fake-2"]


def test_the_collector_uses_google_credentials_for_a_gmp_url_across_cycles(ctx: RunContext, server: Server) -> None:
    creds = FakeCredentials()
    got: list[httpx.Auth | None] = []
    cfg = PrometheusGpuConfig(url=GMP, initial_minutes=15)
    c = PrometheusGpuCollector(cfg, api_factory=local_api(server, got), credentials=creds)
    ingest.run(c, RunContext(ctx.settings, ctx.warehouse, fixed_clock(NOW)))
    creds.expired = True
    ingest.run(c, RunContext(ctx.settings, ctx.warehouse, fixed_clock(NOW + dt.timedelta(hours=1))))
    assert all(isinstance(a, prom_auth.GoogleAuth) for a in got) and len(got) == 2
    assert set(server.paths) == {API_PATH}
    assert set(server.auth) == {"Bearer ya29.fake-1", "Bearer ya29.fake-2"} and creds.refreshes == 2
    assert server.auth.index("Bearer ya29.fake-2") > server.auth.index("Bearer ya29.fake-1")


def test_real_google_credentials_refresh_against_the_token_endpoint(server: Server) -> None:
    creds = google.oauth2.credentials.Credentials(
        token="ya29.real-old",
        refresh_token="1//refresh",
        token_uri=server.url + "/token",
        client_id="spendscope-test.apps.googleusercontent.com",
        client_secret="not-a-secret",
        expiry=dt.datetime(2020, 1, 1),  # google-auth compares naive UTC expiries: long expired
    )
    api = make_api(server.url + urlsplit(GMP).path, 5.0, prom_auth.GoogleAuth(creds))
    api.query_range("DCGM_FI_DEV_GPU_UTIL", T0, NOW, 60)
    api.query_range("DCGM_FI_DEV_GPU_UTIL", T0, NOW, 60)
    assert server.auth == ["Bearer ya29.real-new", "Bearer ya29.real-new"]  # refreshed once, then valid
    (form,) = server.token_requests
    assert form["grant_type"] == "refresh_token" and form["client_id"].startswith("spendscope-test")


def test_a_token_env_or_a_non_gmp_url_uses_no_google_credentials(
    ctx: RunContext, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds = FakeCredentials()
    monkeypatch.setenv("GMP_TOKEN", "static-token")
    got: list[httpx.Auth | None] = []
    cfg = PrometheusGpuConfig(url=GMP, initial_minutes=15, token_env="GMP_TOKEN")
    ingest.run(PrometheusGpuCollector(cfg, local_api(server, got), creds), RunContext(
        ctx.settings, ctx.warehouse, fixed_clock(NOW)))  # fmt: skip
    assert set(server.auth) == {"Bearer static-token"} and creds.refreshes == 0
    assert prom_auth.is_gmp(GMP) and not prom_auth.is_gmp("http://prometheus:9090")
    assert PrometheusGpuCollector(PrometheusGpuConfig(url="http://prometheus:9090"))._auth("http://p:9090") is None


def test_no_google_credentials_is_a_config_error_saying_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))  # fails before any network
    with pytest.raises(ConfigError, match="is Google Managed Prometheus and no Google credentials were found"):
        PrometheusGpuCollector(PrometheusGpuConfig(url=GMP))._auth(GMP)
