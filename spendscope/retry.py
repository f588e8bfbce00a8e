"""Retrying a source that is down, slow or rate-limited: exponential backoff with jitter, within a deadline.

The daemon retries a job whose source failed transiently (`SourceError.retryable`: a connection refused or
reset, a timeout, HTTP 429 or 5xx) until the next attempt would end past the job's interval; then the run
counts as one failure (spendscope_collector_up = 0) and the next scheduled run starts afresh. The jitter
spreads the retries of many daemons hitting one recovering endpoint (AWS's "equal jitter").
"""

from __future__ import annotations

import random
import ssl
import sys

import httpx

from spendscope.tls import ssl_error

MAX_BACKOFF_SECONDS = 60.0
# What a server answers when it is overloaded or restarting, and a request may succeed a little later.
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


def backoff_delay(attempt: int, base_seconds: float, rng: random.Random, cap: float = MAX_BACKOFF_SECONDS) -> float:
    """Seconds before retry number `attempt` (0-based): half of min(cap, base × 2^attempt), plus up to as much."""
    ceiling = min(cap, base_seconds * 2 ** min(attempt, 30))  # 2**1024 would overflow a float
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def retryable_status(status: int) -> bool:
    """HTTP statuses worth another try: 429 and the overloaded/restarting 5xx (and request timeouts)."""
    return status in RETRYABLE_STATUS


def retryable_exception(exc: BaseException) -> bool:
    """Failures worth another try, from any client we use: transport errors, timeouts, 429 and 5xx answers."""
    if isinstance(ssl_error(exc), ssl.SSLCertVerificationError):
        # A certificate the client refuses stays refused until someone sets ca_file; other TLS errors (an EOF
        # from a restarting server or load balancer) are transport errors like any other.
        return False
    if isinstance(exc, httpx.TransportError):
        return not isinstance(exc, httpx.UnsupportedProtocol)  # a bad URL stays bad
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    # Only if already imported (by the client that raised): importing them here would cost a GPU-only daemon
    # ~60 MB and a second at its first failed scrape.
    requests = sys.modules.get("requests")
    if requests is not None and isinstance(exc, (requests.ConnectionError, requests.Timeout)):
        return True
    dbx = sys.modules.get("databricks.sdk.errors")
    if dbx is not None and isinstance(
        exc,
        (dbx.TooManyRequests, dbx.TemporarilyUnavailable, dbx.InternalError, dbx.DeadlineExceeded,
         dbx.RequestLimitExceeded, dbx.ResourceExhausted),
    ):  # fmt: skip
        return True
    code = getattr(exc, "code", None)  # google.api_core's GoogleAPICallError: the HTTP status
    return isinstance(code, int) and not isinstance(code, bool) and retryable_status(code)
