"""The real Budget API client, thinly: build it, list (every page), create, update; API errors → SourceError.

Always the REST transport (`BudgetServiceClient(transport="rest")`), so tests drive the very client we ship
against a local HTTP server. Credentials are Application Default Credentials; an `http://` api_endpoint (a
loopback test server, never Google) gets anonymous ones. Error messages name the call, the HTTP status and
Google's message — never a token or a header.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from spendscope.errors import ConfigError, SourceError

if TYPE_CHECKING:
    from google.cloud.billing.budgets_v1 import Budget, BudgetServiceClient

    from spendscope.config_budgets import GcpBudgetsConfig

log = logging.getLogger(__name__)
API = "the Cloud Billing Budget API"


def make_client(cfg: GcpBudgetsConfig) -> BudgetServiceClient:
    """A BudgetServiceClient over REST, at `cfg.api_endpoint` when set."""
    import google.auth.exceptions
    from google.cloud.billing import budgets_v1

    endpoint = cfg.api_endpoint
    options = {"api_endpoint": endpoint} if endpoint else None
    credentials: Any = None
    if endpoint and endpoint.startswith("http://"):
        from google.auth.credentials import AnonymousCredentials

        credentials = AnonymousCredentials()
    try:
        return budgets_v1.BudgetServiceClient(transport="rest", credentials=credentials, client_options=options)
    except google.auth.exceptions.DefaultCredentialsError:
        raise ConfigError(
            "gcp_budgets: no Google credentials found; run `gcloud auth application-default login` "
            "or set GOOGLE_APPLICATION_CREDENTIALS to a service account key file"
        ) from None


@contextlib.contextmanager
def api_call(what: str) -> Iterator[None]:
    """Turn whatever the client raises into one SourceError line: the call, the status, Google's message."""
    import google.api_core.exceptions as gexc
    import google.auth.exceptions
    import requests

    try:
        yield
    except gexc.GoogleAPICallError as exc:
        status, message = _google_error(exc)
        raise SourceError(f"{API}: {what} failed: HTTP {exc.code} {status}: {message}") from None
    except google.auth.exceptions.GoogleAuthError as exc:
        # Only the exception's first argument (what went wrong), not the token endpoint's whole answer.
        first = exc.args[0] if exc.args else type(exc).__name__
        raise SourceError(f"{API}: {what} failed: credentials refused: {first}") from None
    except (requests.RequestException, gexc.GoogleAPIError) as exc:
        raise SourceError(f"{API}: {what} failed: {type(exc).__name__}: {str(exc).splitlines()[0]}") from None


def _google_error(exc: Any) -> tuple[str, str]:
    """(status, message) of Google's error body (`{"error": {"status", "message"}}`), else of the exception."""
    try:
        error = exc.response.json()["error"]
        return str(error["status"]), str(error["message"])
    except Exception:  # no response (gRPC-style error) or not Google's JSON: what the exception itself says
        status = getattr(exc.grpc_status_code, "name", None) or type(exc).__name__
        return status, str(exc.message)


def list_budgets(client: BudgetServiceClient, parent: str, timeout: float) -> list[Budget]:
    """Every budget of `parent` (billingAccounts/<id>), following nextPageToken through all pages."""
    with api_call(f"listing the budgets of {parent}"):
        budgets = list(client.list_budgets(parent=parent, timeout=timeout))
    log.info("gcp-budgets listed parent:%s budgets:%s", parent, len(budgets))
    return budgets


def create_budget(client: BudgetServiceClient, parent: str, budget: Budget, timeout: float) -> Budget:
    with api_call(f"creating budget {budget.display_name!r}"):
        created = client.create_budget(parent=parent, budget=budget, timeout=timeout)
    log.info("gcp-budgets created name:%s display_name:%s", created.name, created.display_name)
    return created


def update_budget(client: BudgetServiceClient, budget: Budget, paths: Sequence[str], timeout: float) -> Budget:
    """PATCH the `paths` fields of `budget` (name and etag set: a budget changed since it was read is refused)."""
    from google.protobuf import field_mask_pb2

    mask = field_mask_pb2.FieldMask(paths=list(paths))
    with api_call(f"updating budget {budget.name}"):
        updated = client.update_budget(budget=budget, update_mask=mask, timeout=timeout)
    log.info("gcp-budgets updated name:%s fields:%s", updated.name, ",".join(paths))
    return updated
