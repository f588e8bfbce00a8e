"""A small client for the Prometheus HTTP API's `query_range` (Prometheus, Thanos, Google Managed Prometheus).

Only what our collectors need: one range query, its matrix parsed into (labels, [(ts, value)]) series.
Values arrive as strings ("NaN", "+Inf" included); a point whose value is not finite is skipped and
counted, never fatal. Errors (unreachable, non-2xx, `"status": "error"`) raise SourceError. An https URL's
certificate is verified (`verify`: httpx's default CAs, or a context over the collector's `ca_file`).
"""

from __future__ import annotations

import datetime as dt
import math
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from spendscope.errors import SourceError
from spendscope.retry import retryable_exception, retryable_status
from spendscope.tls import tls_failure


@dataclass
class Series:
    labels: dict[str, str]
    points: list[tuple[dt.datetime, float]]


@dataclass
class RangeResult:
    series: list[Series] = field(default_factory=list)
    skipped: int = 0  # points whose value was NaN/Inf or not a number


def _malformed(what: str) -> SourceError:
    return SourceError(f"query_range answer is malformed: {what}")


def parse_matrix(body: Any) -> RangeResult:
    """Parse a query_range JSON answer (`resultType` matrix) into series; pure, for tests on recorded answers.

    An answer of the wrong shape (a list, `result` not a list of objects…) is a SourceError, never an
    AttributeError: the body is whatever the endpoint sent.
    """
    if not isinstance(body, Mapping):
        raise _malformed(f"not a JSON object but {type(body).__name__}")
    if body.get("status") != "success":
        raise SourceError(f"query failed: {body.get('errorType', 'error')}: {body.get('error', 'no detail')}")
    data = body.get("data") or {}
    if not isinstance(data, Mapping) or data.get("resultType") != "matrix":
        got = data.get("resultType") if isinstance(data, Mapping) else type(data).__name__
        raise SourceError(f"query_range answered resultType {got!r}, expected matrix")
    result, out = data.get("result") or [], RangeResult()
    if not isinstance(result, list):
        raise _malformed("`result` is not a list")
    for item in result:
        if not isinstance(item, Mapping):
            raise _malformed("a series is not an object")
        values, metric = item.get("values") or [], item.get("metric") or {}
        if not isinstance(values, list) or not isinstance(metric, Mapping):
            raise _malformed("a series has no `metric` object or no `values` list")
        points: list[tuple[dt.datetime, float]] = []
        for pair in values:
            try:
                raw = float(pair[1])
                point = (dt.datetime.fromtimestamp(float(pair[0]), dt.UTC), raw)
            except (TypeError, ValueError, IndexError, KeyError, OverflowError, OSError):
                out.skipped += 1  # not a [time, "value"] pair, or a time past year 9999
                continue
            if not math.isfinite(raw):
                out.skipped += 1
                continue
            points.append(point)
        out.series.append(Series({_text(k): _text(v) for k, v in metric.items()}, points))
    return out


def _text(value: Any) -> str:
    # A JSON "\ud800" decodes to a lone surrogate that Arrow cannot store: it becomes "?" instead.
    return str(value).encode("utf-8", "replace").decode("utf-8")


class PromApi:
    """`query_range` against `base_url` (e.g. http://prometheus:9090); the httpx client is injectable."""

    def __init__(
        self,
        base_url: str,
        timeout: float = 30.0,
        token: str | None = None,
        client: httpx.Client | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = client or httpx.Client(timeout=timeout, headers=headers, verify=verify)

    def query_range(self, query: str, start: dt.datetime, end: dt.datetime, step_seconds: int) -> RangeResult:
        params = {"query": query, "start": f"{start.timestamp():.3f}", "end": f"{end.timestamp():.3f}",
                  "step": f"{step_seconds}s"}  # fmt: skip
        url = f"{self.base_url}/api/v1/query_range"
        try:
            # POST with a form body, as Grafana does: long selectors do not hit URL length limits.
            resp = self.client.post(url, data=params)
        except httpx.HTTPError as exc:
            tls = tls_failure(exc)  # a certificate that fails verification stays so: not retried
            if tls is not None:
                raise SourceError(f"{url}: {tls}") from None
            raise SourceError(f"{url}: {type(exc).__name__}: {exc}", retryable=retryable_exception(exc)) from None
        busy = retryable_status(resp.status_code)  # 429/5xx: worth retrying whatever the body says
        try:
            body = resp.json()
        except ValueError:
            raise SourceError(f"{url}: HTTP {resp.status_code}, not a JSON answer", retryable=busy) from None
        if resp.status_code // 100 != 2 and not (isinstance(body, dict) and body.get("status") == "error"):
            raise SourceError(f"{url}: HTTP {resp.status_code}", retryable=busy)
        try:
            return parse_matrix(body)
        except SourceError as exc:  # Prometheus' own error text, retryable when it came with a 429/5xx
            raise SourceError(str(exc), retryable=busy) from None

    def close(self) -> None:
        self.client.close()
