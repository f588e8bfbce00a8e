"""The `workload` collector: training throughput and inference latency from Prometheus and from MLflow.

Runs whichever sources `[collectors.workload]` configures (Prometheus: `prometheus_url` with `queries`;
MLflow: `mlflow_tracking_uri` with `mlflow_experiments`). A failing source is logged and the other
still runs; only when every configured source fails does the run raise SourceError (the collector is
then marked down). `--target URL` replaces `prometheus_url` (the first target is used). Clients are
injected through the constructor; otherwise they are built on first use and kept, so the daemon's one
instance reuses its connections.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import httpx

from collectors import registry
from collectors.base import Collector, Item, RunContext
from collectors.common.prom_api import PromApi
from collectors.workload.mlflow_source import MlflowSource
from collectors.workload.prometheus_source import PrometheusSource
from collectors.workload.rows import PullStats
from spendscope.config_telemetry import WorkloadConfig
from spendscope.errors import ConfigError, SourceError
from spendscope.tls import httpx_verify

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from spendscope.config import Settings

log = logging.getLogger(__name__)
KEY = "collectors.workload"

Pull = Callable[[RunContext, PullStats], Iterator[Item]]


@registry.register("workload")
class WorkloadCollector(Collector):
    """Workload performance series into `workload_metrics`."""

    name = "workload"
    section = "workload"

    def __init__(
        self,
        cfg: WorkloadConfig | None = None,
        *,
        http_client: httpx.Client | None = None,
        mlflow_client: MlflowClient | None = None,
        timeout_seconds: float = 30.0,
    ) -> None:
        self.cfg = cfg or WorkloadConfig()
        self._http = http_client
        self._own_http = http_client is None
        self._mlflow = mlflow_client
        self.timeout_seconds = timeout_seconds
        # What the last run read and skipped, per source ("prometheus", "mlflow").
        self.last_stats: dict[str, PullStats] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkloadCollector:
        return cls(settings.collectors.workload)

    def collect(self, ctx: RunContext) -> Iterator[Item]:
        """Pull every configured source; raise SourceError only when all of them failed."""
        sources = self._sources(ctx)
        if not sources:
            raise ConfigError(
                f"{KEY}: nothing to read; set prometheus_url + queries, or mlflow_tracking_uri + mlflow_experiments"
            )
        self.last_stats = {}
        failures: list[str] = []
        for name, pull in sources:
            stats = self.last_stats[name] = PullStats()
            try:
                yield from pull(ctx, stats)
            except SourceError as exc:
                failures.append(f"{name}: {exc}")
                log.warning("workload source-down:%s error:%s", name, exc)
                continue
            log.info(
                "workload source:%s rows:%s skipped-points:%s unlabelled-series:%s",
                name,
                stats.rows,
                stats.skipped_points,
                stats.unlabelled_series,
            )
        if len(failures) == len(sources):
            raise SourceError("workload: every source failed: " + "; ".join(failures))

    def _sources(self, ctx: RunContext) -> list[tuple[str, Pull]]:
        out: list[tuple[str, Pull]] = []
        targets = ctx.options.get("targets") or []
        url = targets[0] if targets else self.cfg.prometheus_url
        if len(targets) > 1:
            log.warning("workload reads one Prometheus API; ignored targets:%s", ",".join(targets[1:]))
        if url and not self.cfg.queries:
            if targets:
                raise ConfigError(f"--target needs {KEY}.queries (the PromQL expressions to run)")
            log.warning("workload prometheus_url:%s has no queries; skipped", url)
        elif url:
            api = PromApi(url, timeout=self.timeout_seconds, client=self._http_client())
            out.append(("prometheus", PrometheusSource(url, self.cfg.queries, self.cfg.step_seconds, api).pull))
        if self.cfg.mlflow_tracking_uri:
            if not self.cfg.mlflow_experiments:
                log.warning("workload mlflow_tracking_uri set but no mlflow_experiments; skipped")
            else:
                out.append(("mlflow", self._mlflow_pull))
        return out

    def _mlflow_pull(self, ctx: RunContext, stats: PullStats) -> Iterator[Item]:
        uri = self.cfg.mlflow_tracking_uri or ""
        source = MlflowSource(uri, self.cfg.mlflow_experiments, self.cfg.mlflow_metrics, self._mlflow_client(uri))
        yield from source.pull(ctx, stats)

    def close(self) -> None:
        """Close the HTTP client this collector built (an injected one belongs to the caller)."""
        if self._http is not None and self._own_http:
            self._http.close()
            self._http = None

    def _http_client(self) -> httpx.Client:
        if self._http is None:
            # An https prometheus_url is verified: against ca_file when set, else httpx's default CAs.
            self._http = httpx.Client(
                timeout=self.timeout_seconds, verify=httpx_verify(self.cfg.ca_file, f"{KEY}.ca_file")
            )
        return self._http

    def _mlflow_client(self, uri: str) -> MlflowClient:
        if self._mlflow is None:
            from mlflow.exceptions import MlflowException
            from mlflow.tracking import MlflowClient

            try:
                self._mlflow = MlflowClient(tracking_uri=uri)
            except MlflowException as exc:
                raise SourceError(f"mlflow {uri}: {exc.message}") from None
        return self._mlflow
