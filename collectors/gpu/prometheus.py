"""The `prometheus` collector: DCGM series read back from a Prometheus-compatible API into gpu_samples.

For teams whose dcgm-exporter data already lands in Prometheus, Thanos or Google Managed Prometheus. Each
mapped DCGM field (fields.py) is one `query_range` (`DCGM_FI_DEV_GPU_UTIL{<selector>}`), POSTed as a form so
long selectors fit; the points are merged into one row per (timestamp, GPU or MIG instance, pod) with the
same units as the scrape collector.

Idempotent by window: time is cut into aligned 15-minute windows; each window's rows replace the keys
{_day, _source = "prometheus@<window start>", target = <url>} whole, so pulling a window again (the next run
re-reads from 5 minutes before its watermark, since Prometheus and GMP ingest with a lag) never doubles a
row. The watermark (ingest_state, source "prometheus:<url>") is recorded with each window's batch, so a run
that dies half-way resumes where its last committed window ended. A window that comes back empty writes
nothing (an outage of the query frontend must not erase rows already stored) but still moves the watermark.
Labels: the host is `node` / `kubernetes_node` / `exported_node`, else `Hostname`/`hostname`, else the host of
`instance`; Prometheus' own `job`, `cluster` and GMP's `project_id`, `location` are not GPU identity and are
ignored; pod attribution follows fields.gpu_meta's through-Prometheus rules (`exported_*` labels win, the
exporter's own pod is no workload).

Auth (prom_auth.py): `token_env` names an env var holding a fixed bearer token; without it, a URL on
monitoring.googleapis.com (GMP) gets Google application-default credentials, refreshed as they expire.
An https URL's certificate is verified, against `collectors.prometheus.ca_file` when set.
"""

from __future__ import annotations

import datetime as dt
import logging
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from collectors import registry
from collectors.base import Batch, Collector, Item, RunContext
from collectors.common.prom_api import PromApi
from collectors.common.state import last_watermark
from collectors.gpu import prom_auth
from collectors.gpu.fields import FIELDS, gpu_meta
from collectors.gpu.rows import GpuRows, store, to_table
from spendscope.config import Settings
from spendscope.config_telemetry import PrometheusGpuConfig
from spendscope.errors import ConfigError
from spendscope.secrets import read_secret
from spendscope.tls import httpx_verify

log = logging.getLogger(__name__)

TABLE = "gpu_samples"
SOURCE = "prometheus"
WINDOW = dt.timedelta(minutes=15)
LATE = dt.timedelta(minutes=5)  # re-read this much before the watermark: remote-write / GMP ingestion lag
WINDOWS_PER_QUERY = 4  # one hour per query_range: far below Prometheus' 11,000 points per series

ApiFactory = Callable[[str, float, httpx.Auth | None], PromApi]


@dataclass
class PromRunStats:
    """One run: how much was asked and found, and what was skipped."""

    windows: int = 0
    queries: int = 0
    series: int = 0
    points: int = 0
    rows: int = 0
    skipped_points: int = 0  # NaN/Inf or unparsable values (counted by prom_api)
    not_gpu_series: int = 0  # series whose labels name no GPU


def state_source(url: str) -> str:
    """The ingest_state source of one API base URL."""
    return f"{SOURCE}:{url.rstrip('/')}"


def floor_window(t: dt.datetime) -> dt.datetime:
    """The start of the aligned 15-minute window holding `t` (UTC)."""
    t = t.astimezone(dt.UTC)
    return t.replace(minute=t.minute - t.minute % 15, second=0, microsecond=0)


def instance_host(labels: dict[str, str]) -> str | None:
    """`10.0.0.5:9400` → `10.0.0.5` (also `[::1]:9400` and a bare host)."""
    instance = labels.get("instance")
    return urlsplit(f"//{instance}").hostname if instance else None


def make_api(url: str, timeout: float, auth: httpx.Auth | None, verify: ssl.SSLContext | bool = True) -> PromApi:
    """The query client of one API base URL, authorizing each request with `auth`, verifying TLS with `verify`."""
    return PromApi(url, timeout, client=httpx.Client(timeout=timeout, auth=auth, verify=verify))


def query_for(name: str, selector: str) -> str:
    inner = selector.strip().removeprefix("{").removesuffix("}").strip()
    return f"{name}{{{inner}}}" if inner else name


@registry.register("prometheus")
class PrometheusGpuCollector(Collector):
    """DCGM series from a Prometheus-compatible `query_range` API → gpu_samples (replaced per 15-min window)."""

    name = "prometheus"
    section = "prometheus"

    def __init__(
        self,
        config: PrometheusGpuConfig | None = None,
        api_factory: ApiFactory | None = None,
        credentials: prom_auth.Credentials | None = None,
    ) -> None:
        self.config = config or PrometheusGpuConfig()
        self.api_factory: ApiFactory = api_factory or self._make_api
        self.credentials = credentials  # Google credentials for GMP; application-default ones when None
        self._google: prom_auth.GoogleAuth | None = None  # kept: its token lives until it expires
        self.last_stats: PromRunStats | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> PrometheusGpuCollector:
        return cls(settings.collectors.prometheus)

    def _make_api(self, url: str, timeout: float, auth: httpx.Auth | None) -> PromApi:
        return make_api(url, timeout, auth, httpx_verify(self.config.ca_file, "collectors.prometheus.ca_file"))

    def _auth(self, url: str) -> httpx.Auth | None:
        """`token_env`'s fixed token if set, else Google credentials for a GMP URL, else none."""
        env = self.config.token_env
        if env:
            token = read_secret(env)
            if not token:
                raise ConfigError(
                    f"prometheus: collectors.prometheus.token_env names {env}, which is not set (nor {env}_FILE)"
                )
            return prom_auth.BearerToken(token)
        if not prom_auth.is_gmp(url):
            return None
        if self._google is None:
            self._google = prom_auth.GoogleAuth(self.credentials or prom_auth.default_credentials(url))
        return self._google

    def collect(self, ctx: RunContext) -> Iterator[Item]:
        """Pull every window from the watermark (or `initial_minutes` ago) to now, for each API URL."""
        urls = list(dict.fromkeys(ctx.options.get("targets") or ([self.config.url] if self.config.url else [])))
        if not urls:
            raise ConfigError("prometheus: no url; set collectors.prometheus.url or pass --target URL")
        stats = PromRunStats()
        self.last_stats = stats
        for url in urls:
            api = self.api_factory(url, self.config.timeout_seconds, self._auth(url))
            try:
                yield from self._pull(ctx, api, url.rstrip("/"), stats)
            finally:
                api.close()
        log.info(
            "prometheus windows:%s queries:%s series:%s rows:%s skipped_points:%s",
            stats.windows, stats.queries, stats.series, stats.rows, stats.skipped_points,
        )  # fmt: skip

    def _pull(self, ctx: RunContext, api: PromApi, url: str, stats: PromRunStats) -> Iterator[Item]:
        now = ctx.now().astimezone(dt.UTC)
        source = state_source(url)
        mark = last_watermark(ctx.warehouse, source)
        start = floor_window(mark - LATE if mark else now - dt.timedelta(minutes=self.config.initial_minutes))
        windows = []
        while start < now:
            windows.append(start)
            start += WINDOW
        for i in range(0, len(windows), WINDOWS_PER_QUERY):
            chunk = windows[i : i + WINDOWS_PER_QUERY]
            by_window = self._query(api, chunk[0], min(chunk[-1] + WINDOW, now), set(chunk), stats)
            for ws in chunk:
                yield self._batch(url, source, ws, min(ws + WINDOW, now), by_window[ws], stats)

    def _query(
        self, api: PromApi, start: dt.datetime, end: dt.datetime, windows: set[dt.datetime], stats: PromRunStats
    ) -> dict[dt.datetime, GpuRows]:
        """Every mapped field over [start, end], merged into rows per window (points outside them dropped)."""
        by_window = {ws: GpuRows() for ws in windows}
        for name, spec in FIELDS.items():
            result = api.query_range(query_for(name, self.config.selector), start, end, self.config.step_seconds)
            stats.queries += 1
            stats.skipped_points += result.skipped
            for series in result.series:
                meta = gpu_meta(series.labels, instance_host(series.labels), via_prometheus=True)
                if meta is None:
                    stats.not_gpu_series += 1
                    continue
                stats.series += 1
                for ts, value in series.points:
                    rows = by_window.get(floor_window(ts))
                    if rows is None:
                        continue  # the point at `end` belongs to a window a later pull takes
                    store(rows.row(meta, ts), spec, value)
                    stats.points += 1
        return by_window

    def _batch(
        self, url: str, source: str, ws: dt.datetime, we: dt.datetime, rows: GpuRows, stats: PromRunStats
    ) -> Batch:
        provenance = f"{SOURCE}@{ws.isoformat()}"
        table = to_table(rows.metas, rows.values, rows.times, SOURCE, url, provenance)
        stats.windows += 1
        stats.rows += len(rows)
        state = [{"source": source, "partition": TABLE, "watermark": we, "rows": len(rows)}]
        keys = [{"_day": ws.date(), "_source": provenance, "target": url}]
        # An empty answer writes nothing: it must not erase rows stored from an earlier, fuller pull.
        return Batch(TABLE, table, keys=keys, state=state, in_place=not len(rows))
