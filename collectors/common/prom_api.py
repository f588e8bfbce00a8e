"""A small client for the Prometheus HTTP API's `query_range` (Prometheus, Thanos, Google Managed Prometheus).

Only what our collectors need: one range query, its matrix parsed into (labels, [(ts, value)]) series.
Values arrive as strings ("NaN", "+Inf" included); a point whose value is not finite is skipped and
counted, never fatal. Errors (unreachable, non-2xx, `"status": "error"`) raise SourceError.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from spendscope.errors import SourceError


@dataclass
class Series:
    labels: dict[str, str]
    points: list[tuple[dt.datetime, float]]


@dataclass
class RangeResult:
    series: list[Series] = field(default_factory=list)
    skipped: int = 0  # points whose value was NaN/Inf or not a number


def parse_matrix(body: Mapping[str, Any]) -> RangeResult:
    """Parse a query_range JSON answer (`resultType` matrix) into series; pure, for tests on recorded answers."""
    if body.get("status") != "success":
        raise SourceError(f"query failed: {body.get('errorType', 'error')}: {body.get('error', 'no detail')}")
    data = body.get("data") or {}
    if data.get("resultType") != "matrix":
        raise SourceError(f"query_range answered resultType {data.get('resultType')!r}, expected matrix")
    out = RangeResult()
    for item in data.get("result") or []:
        points: list[tuple[dt.datetime, float]] = []
        for pair in item.get("values") or []:
            try:
                ts, raw = float(pair[0]), float(pair[1])
            except (TypeError, ValueError, IndexError):
                out.skipped += 1
                continue
            if not math.isfinite(raw):
                out.skipped += 1
                continue
            points.append((dt.datetime.fromtimestamp(ts, dt.UTC), raw))
        out.series.append(Series({str(k): str(v) for k, v in (item.get("metric") or {}).items()}, points))
    return out


class PromApi:
    """`query_range` against `base_url` (e.g. http://prometheus:9090); the httpx client is injectable."""

    def __init__(
        self, base_url: str, timeout: float = 30.0, token: str | None = None, client: httpx.Client | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = client or httpx.Client(timeout=timeout, headers=headers)

    def query_range(self, query: str, start: dt.datetime, end: dt.datetime, step_seconds: int) -> RangeResult:
        params = {"query": query, "start": f"{start.timestamp():.3f}", "end": f"{end.timestamp():.3f}",
                  "step": f"{step_seconds}s"}  # fmt: skip
        url = f"{self.base_url}/api/v1/query_range"
        try:
            # POST with a form body, as Grafana does: long selectors do not hit URL length limits.
            resp = self.client.post(url, data=params)
        except httpx.HTTPError as exc:
            raise SourceError(f"{url}: {type(exc).__name__}: {exc}") from None
        try:
            body = resp.json()
        except ValueError:
            raise SourceError(f"{url}: HTTP {resp.status_code}, not a JSON answer") from None
        if resp.status_code // 100 != 2 and body.get("status") != "error":
            raise SourceError(f"{url}: HTTP {resp.status_code}")
        return parse_matrix(body)

    def close(self) -> None:
        self.client.close()
