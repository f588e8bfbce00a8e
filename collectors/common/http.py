"""Scraping HTTP endpoints concurrently (dcgm-exporter, node_exporter): bounded threads, per-target results.

A target that is down, slow or answers non-2xx becomes a `Scrape` with `error` set; it never raises, so
one dead exporter does not stop the other 191. The collector decides what an all-failed scrape means.
https targets are verified (`verify`: httpx's default CAs, or a context over the collector's `ca_file`); a
certificate that fails is an error saying so, and not worth a retry.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from spendscope.retry import retryable_exception, retryable_status
from spendscope.tls import tls_failure

# What Prometheus itself sends; dcgm-exporter and node_exporter answer text 0.0.4 to it.
ACCEPT = "text/plain;version=0.0.4;q=0.9,*/*;q=0.1"
USER_AGENT = "spendscope"


@dataclass(frozen=True)
class Scrape:
    """One target's answer: the body text, or why there is none."""

    target: str
    text: str | None
    error: str | None
    seconds: float
    retryable: bool = False  # the error is transient (unreachable, timed out, 429/5xx): a retry may succeed

    @property
    def ok(self) -> bool:
        return self.error is None


def fetch_one(client: httpx.Client, target: str) -> Scrape:
    started = time.monotonic()
    try:
        resp = client.get(target)
    except httpx.HTTPError as exc:
        tls = tls_failure(exc)
        error = tls or f"{type(exc).__name__}: {exc}"
        return Scrape(target, None, error, time.monotonic() - started, tls is None and retryable_exception(exc))
    if resp.status_code // 100 != 2:
        status = resp.status_code
        return Scrape(target, None, f"HTTP {status}", time.monotonic() - started, retryable_status(status))
    return Scrape(target, resp.text, None, time.monotonic() - started)


def fetch_all(
    targets: Sequence[str],
    timeout: float,
    concurrency: int,
    client: httpx.Client | None = None,
    verify: ssl.SSLContext | bool = True,
) -> list[Scrape]:
    """Fetch every target (at most `concurrency` at once), results in `targets` order."""
    if not targets:
        return []
    own = client is None
    http = client or httpx.Client(
        timeout=timeout, headers={"Accept": ACCEPT, "User-Agent": USER_AGENT}, follow_redirects=True, verify=verify
    )
    try:
        if len(targets) == 1:
            return [fetch_one(http, targets[0])]
        with ThreadPoolExecutor(max_workers=min(concurrency, len(targets))) as pool:
            return list(pool.map(lambda t: fetch_one(http, t), targets))
    finally:
        if own:
            http.close()
