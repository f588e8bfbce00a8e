"""Config sections of the telemetry collectors (GPU, network, inventory, workload) and the metric exporters.

Kept beside config.py so each file stays one screenful of sections; `Settings` composes them. Scrape
intervals are in minutes like every other job (0.5 = every 30 s).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from spendscope.config_base import CollectorBase, Prices, Strict

# Every https endpoint's certificate is verified (spendscope/tls.py); this names the CAs to trust instead.
_CA_FILE = "PEM CA bundle that verifies https endpoints' certificates (else the public CAs)"


class ScrapeConfig(CollectorBase):
    """A collector that scrapes HTTP endpoints; `--target URL` on the CLI overrides `targets`."""

    targets: list[str] = Field(default_factory=list, description="endpoints, e.g. http://host:9400/metrics")
    ca_file: str | None = Field(default=None, description=_CA_FILE)
    timeout_seconds: float = Field(default=5.0, gt=0, description="per request")
    concurrency: int = Field(default=16, ge=1, le=256, description="endpoints scraped at once")

    @field_validator("targets")
    @classmethod
    def _http_urls(cls, v: list[str]) -> list[str]:
        bad = [t for t in v if not t.startswith(("http://", "https://"))]
        if bad:
            raise ValueError(f"not an http(s) URL: {', '.join(bad)}")
        return v


class DcgmConfig(ScrapeConfig):
    interval_minutes: float = Field(default=0.5, gt=0)

    @model_validator(mode="after")
    def _runnable(self) -> DcgmConfig:
        if self.enabled and not self.targets:
            raise ValueError("enabled = true needs targets (dcgm-exporter URLs, e.g. http://host:9400/metrics)")
        return self


class PrometheusGpuConfig(CollectorBase):
    """DCGM series read back from a Prometheus-compatible API (Prometheus, Google Managed Prometheus)."""

    url: str | None = Field(default=None, description="API base, e.g. http://prometheus:9090")
    selector: str = Field(default="", description='extra label matchers, e.g. cluster="gpu-prod"')
    step_seconds: int = Field(default=60, ge=1, description="query_range resolution")
    initial_minutes: int = Field(default=60, ge=1, description="how far back the first pull goes")
    token_env: str | None = Field(default=None, description="env var with a bearer token (GMP frontends)")
    ca_file: str | None = Field(default=None, description=_CA_FILE)
    timeout_seconds: float = Field(default=30.0, gt=0)
    interval_minutes: float = Field(default=5, gt=0)

    @model_validator(mode="after")
    def _runnable(self) -> PrometheusGpuConfig:
        if self.enabled and not self.url:
            raise ValueError("enabled = true needs url (the Prometheus HTTP API base URL)")
        return self


class NvmlConfig(CollectorBase):
    host: str | None = Field(default=None, description="hostname to record (default: this machine's)")
    interval_minutes: float = Field(default=0.5, gt=0)


class NvidiaSmiConfig(CollectorBase):
    command: list[str] = Field(default_factory=lambda: ["nvidia-smi"], description="how to run nvidia-smi")
    paths: list[str] = Field(default_factory=list, description="saved `--format=csv` outputs to ingest instead")
    fields: list[str] = Field(default_factory=list, description="the --query-gpu field list of saved noheader files")
    host: str | None = Field(default=None, description="hostname to record (default: this machine's)")
    interval_minutes: float = Field(default=0.5, gt=0)


class NetworkConfig(ScrapeConfig):
    """Local interfaces through psutil and/or node_exporter `targets`."""

    local: bool = Field(default=True, description="sample this host's interfaces with psutil")
    include: list[str] = Field(default_factory=lambda: ["*"], description="interface name globs to keep")
    exclude: list[str] = Field(default_factory=lambda: ["lo"], description="interface name globs to drop")
    link_speed_gbps: dict[str, float] = Field(
        default_factory=dict, description="interface name (or glob) → link speed in Gbit/s where sysfs has none"
    )
    interval_minutes: float = Field(default=0.5, gt=0)


class InventoryConfig(CollectorBase):
    databricks: bool = Field(default=False, description="list clusters of collectors.databricks.host")
    gce_projects: list[str] = Field(default_factory=list, description="projects whose instances are listed")
    gke_projects: list[str] = Field(default_factory=list, description="projects whose GKE node pools are listed")
    prices_usd_per_hour: Prices = Field(
        default_factory=dict,
        description="machine type / Databricks node type → $/h, used where billing has no observed price",
    )
    compute_endpoint: str | None = Field(default=None, description="override the Compute API endpoint (tests)")
    container_endpoint: str | None = Field(default=None, description="override the GKE API endpoint (tests)")
    interval_minutes: float = Field(default=5, gt=0)


class WorkloadQuery(Strict):
    """One Prometheus expression that yields a workload metric (one series per workload label value)."""

    metric: str = Field(description="training_throughput, inference_latency_seconds, gpu_busy_ratio, or your own")
    query: str
    unit: str = ""
    workload_label: str = Field(default="workload", description="series label naming the workload")
    platform: Literal["gce", "gke", "databricks"] | None = None
    team: str | None = None


class WorkloadConfig(CollectorBase):
    prometheus_url: str | None = None
    ca_file: str | None = Field(
        default=None,
        description="PEM CA bundle that verifies an https prometheus_url's certificate (else the public CAs)",
    )
    queries: list[WorkloadQuery] = Field(default_factory=list)
    step_seconds: int = Field(default=60, ge=1)
    mlflow_tracking_uri: str | None = Field(default=None, description="e.g. databricks, http://mlflow:5000, file:///…")
    mlflow_experiments: list[str] = Field(default_factory=list, description="experiment names to read runs from")
    mlflow_metrics: dict[str, str] = Field(
        default_factory=lambda: {"throughput": "training_throughput", "latency_seconds": "inference_latency_seconds"},
        description="MLflow metric key → our metric name",
    )
    interval_minutes: float = Field(default=15, gt=0)

    @model_validator(mode="after")
    def _runnable(self) -> WorkloadConfig:
        if self.enabled and not (self.prometheus_url and self.queries) and not self.mlflow_tracking_uri:
            raise ValueError("enabled = true needs prometheus_url with queries, or mlflow_tracking_uri")
        return self


class TelemetryConfig(Strict):
    """How GPU samples become busy/idle minutes, and how long raw samples are kept."""

    busy_gr_engine_active: float = Field(default=0.05, ge=0, le=1, description="busy if graphics-engine activity ≥")
    busy_utilization: float = Field(default=0.05, ge=0, le=1, description="else busy if utilization ratio ≥")
    raw_retention_days: int = Field(default=3, ge=1, description="days of gpu_samples / net_samples kept")
    rollup_interval_minutes: float = Field(default=5, gt=0, description="how often gpu_minutes is refreshed")


class PrometheusExporterConfig(Strict):
    enabled: bool = True
    host: str = Field(default="127.0.0.1", description="listen address of /metrics (0.0.0.0 in containers)")
    port: int = Field(default=9464, ge=0, le=65535, description="0 picks a free port")
    textfile: str | None = Field(default=None, description="also write a node_exporter textfile (.prom) here")


class DatadogExporterConfig(Strict):
    enabled: bool = False
    site: str = Field(default="datadoghq.com", description="datadoghq.com, datadoghq.eu, us5.datadoghq.com, …")
    api_key_env: str = Field(default="DD_API_KEY", description="env var holding the API key")
    api_url: str | None = Field(default=None, description="override the API base URL (a proxy; tests)")
    ca_file: str | None = Field(
        default=None,
        description="PEM CA bundle that verifies the API's (or the proxy's) certificate (else the system's)",
    )
    tags: list[str] = Field(default_factory=list, description="added to every series and event, e.g. env:prod")
    interval_minutes: float = Field(default=1, gt=0)


class ExportersConfig(Strict):
    prometheus: PrometheusExporterConfig = PrometheusExporterConfig()
    datadog: DatadogExporterConfig = DatadogExporterConfig()
