"""Thin I/O: the real `google-cloud-billing` CloudCatalogClient (REST transport) listing services and SKUs.

Every failure (unreachable endpoint, HTTP error, missing credentials) becomes a SourceError (CLI exit 4). With
`api_endpoint` set (a local stand-in in tests) the client uses anonymous credentials, as the BigQuery engine
does for its emulator; otherwise Application Default Credentials.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from spendscope.config_prices import PricesConfig
from spendscope.errors import ConfigError, SourceError

log = logging.getLogger(__name__)
T = TypeVar("T")


def catalog_client(api_endpoint: str | None = None) -> Any:
    """A CloudCatalogClient over REST; anonymous when pointed at `api_endpoint`."""
    from google.cloud.billing_v1 import CloudCatalogClient

    try:
        if api_endpoint:
            from google.auth.credentials import AnonymousCredentials

            return CloudCatalogClient(
                transport="rest",
                client_options={"api_endpoint": api_endpoint},
                credentials=AnonymousCredentials(),
            )
        return CloudCatalogClient(transport="rest")
    except Exception as exc:  # google.auth raises several unrelated types for missing credentials
        raise SourceError(f"cannot create a Cloud Billing Catalog client: {exc}") from None


class CatalogFetcher:
    """Lists Catalog services and SKUs through an injected CloudCatalogClient."""

    def __init__(self, client: Any, timeout: float = 60.0, where: str = "cloudbilling.googleapis.com") -> None:
        self.client = client
        self.timeout = timeout
        self.where = where

    @classmethod
    def from_config(cls, cfg: PricesConfig) -> CatalogFetcher:
        """The real client for `[prices]` (its endpoint override, if any)."""
        return cls(
            catalog_client(cfg.api_endpoint), cfg.timeout_seconds, cfg.api_endpoint or "cloudbilling.googleapis.com"
        )

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except Exception as exc:  # requests, google.api_core and google.auth errors alike: the source is down
            raise SourceError(f"Cloud Billing Catalog API ({self.where}): {what} failed: {exc}") from None

    def services(self) -> dict[str, str]:
        """service id → display name, every page."""
        pages = self._call("list services", lambda: list(self.client.list_services(timeout=self.timeout)))
        return {s.service_id: s.display_name for s in pages}

    def check_services(self, wanted: list[str]) -> dict[str, str]:
        """The wanted services' display names; ConfigError naming any id the Catalog does not know."""
        known = self.services()
        unknown = [s for s in wanted if s not in known]
        if unknown:
            raise ConfigError(f"prices.services: not a Cloud Billing Catalog service: {', '.join(unknown)}")
        return {s: known[s] for s in wanted}

    def skus(self, service_id: str, currency: str, page_size: int) -> list[Any]:
        """Every SKU of a service (all pages), priced in `currency`."""
        request = {"parent": f"services/{service_id}", "currency_code": currency, "page_size": page_size}

        def fetch() -> list[Any]:
            return list(self.client.list_skus(request=request, timeout=self.timeout))

        skus = self._call(f"list SKUs of services/{service_id}", fetch)
        log.info("catalog service:%s skus:%s", service_id, len(skus))
        return skus
