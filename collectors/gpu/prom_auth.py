"""Authorization for the `prometheus` collector's API: a fixed bearer token, or Google credentials for GMP.

Google Managed Prometheus' Prometheus-compatible API
(`https://monitoring.googleapis.com/v1/projects/PROJECT/location/global/prometheus`) takes an OAuth access
token, which expires after about an hour: a token copied into an env var stops working mid-day. For a URL on
monitoring.googleapis.com with no `token_env`, the collector uses application-default credentials
(`google.auth.default`, scope monitoring.read: GKE Workload Identity, a VM's service account,
GOOGLE_APPLICATION_CREDENTIALS or `gcloud auth application-default login`) and `GoogleAuth` refreshes the
token before any request that would carry an expired one, and once more when the API answers 401 anyway.
"""

from __future__ import annotations

import threading
from collections.abc import Generator
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from spendscope.errors import ConfigError, SourceError

GMP_HOST = "monitoring.googleapis.com"
SCOPES = ["https://www.googleapis.com/auth/monitoring.read"]


class Credentials(Protocol):
    """What GoogleAuth uses of a `google.auth.credentials.Credentials` (tests pass a stand-in)."""

    token: str | None

    @property
    def valid(self) -> bool: ...

    def refresh(self, request: Any) -> None: ...


def is_gmp(url: str) -> bool:
    """Whether `url` is Google Managed Prometheus' query API."""
    return (urlsplit(url).hostname or "").lower() == GMP_HOST


def default_credentials(url: str) -> Credentials:
    """Application-default credentials scoped to monitoring.read; a ConfigError that says how to get some."""
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        credentials, _project = google.auth.default(scopes=SCOPES)
    except DefaultCredentialsError as exc:
        raise ConfigError(
            f"prometheus: {url} is Google Managed Prometheus and no Google credentials were found ({exc}); "
            "run on GKE/GCE with a service account, set GOOGLE_APPLICATION_CREDENTIALS, run "
            "`gcloud auth application-default login`, or set collectors.prometheus.token_env"
        ) from None
    creds: Credentials = credentials
    return creds


class BearerToken(httpx.Auth):
    """A fixed `Authorization: Bearer` token (collectors.prometheus.token_env)."""

    def __init__(self, token: str) -> None:
        self.header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self.header
        yield request


class GoogleAuth(httpx.Auth):
    """`Authorization: Bearer <access token>` from Google credentials, refreshed when expired or refused."""

    requires_request_body = True  # a request refused with 401 is sent again, form body included

    def __init__(self, credentials: Credentials, transport: Any = None) -> None:
        self.credentials = credentials
        self._transport = transport  # google.auth.transport.requests.Request, made on first refresh
        self._lock = threading.Lock()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header(force=False)
        response = yield request
        if response.status_code == 401:  # revoked or expired early (clock skew): one fresh token, one retry
            request.headers["Authorization"] = self._header(force=True)
            yield request

    def _header(self, force: bool) -> str:
        with self._lock:
            if force or not self.credentials.valid:
                self._refresh()
            return f"Bearer {self.credentials.token}"

    def _refresh(self) -> None:
        from google.auth.exceptions import GoogleAuthError

        if self._transport is None:
            import google.auth.transport.requests

            self._transport = google.auth.transport.requests.Request()
        try:
            self.credentials.refresh(self._transport)
        except GoogleAuthError as exc:
            raise SourceError(f"prometheus: cannot refresh the Google access token: {exc}") from None
