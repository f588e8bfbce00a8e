"""The one config file, `spendscope.toml`, validated by pydantic; errors name the key and the file line.

With no file at all the embedded defaults apply: a DuckDB-queried Delta lake under ./.spendscope/,
no remote sources, the demo data when asked for. Secrets never live in the file: it names the
environment variables that hold them (`token_env = "DATABRICKS_TOKEN"`), or `<NAME>_FILE` for a mounted file.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from alerts.config import AlertsConfig
from spendscope import bq_names
from spendscope.config_base import CollectorBase, Prices, Strict
from spendscope.config_budgets import GcpBudgetsConfig
from spendscope.config_live import LiveConfig
from spendscope.config_plan import PlanConfig
from spendscope.config_prices import PricesConfig
from spendscope.config_report import ReportConfig
from spendscope.config_telemetry import (
    DcgmConfig,
    ExportersConfig,
    InventoryConfig,
    NetworkConfig,
    NvidiaSmiConfig,
    NvmlConfig,
    PrometheusGpuConfig,
    TelemetryConfig,
    WorkloadConfig,
)
from spendscope.errors import ConfigError
from spendscope.secrets import read_secret

__all__ = ["CollectorBase", "Settings", "Strict", "load", "parse", "secret"]

DEFAULT_HOME = Path(".spendscope")


class BigQueryWarehouse(Strict):
    project: str = Field(description="GCP project that runs the jobs and holds the dataset (a project id)")
    dataset: str = Field(
        default="spendscope", description="dataset for spendscope's own tables (letters, digits, underscores)"
    )
    location: str = Field(default="US")
    api_endpoint: str | None = Field(
        default=None, description="override the BigQuery API endpoint (an emulator in tests)"
    )

    # Both are written into SQL as identifiers (a name cannot be a query parameter): BigQuery's naming rules only.
    @field_validator("project")
    @classmethod
    def _project_id(cls, v: str) -> str:
        return bq_names.project_id(v)

    @field_validator("dataset")
    @classmethod
    def _dataset_name(cls, v: str) -> str:
        return bq_names.dataset_id(v)


class WarehouseConfig(Strict):
    engine: Literal["duckdb", "bigquery"] = "duckdb"
    path: str = Field(
        default=str(DEFAULT_HOME / "lake"),
        description="root of the Delta lake (a local folder; gs:// also works for deltalake)",
    )
    bigquery: BigQueryWarehouse | None = None


class ReportingConfig(Strict):
    timezone: str = Field(default="America/Los_Angeles", description="reporting days, as Google's invoices")
    currency: str = "USD"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v


class GcpBillingConfig(CollectorBase):
    export_table: str | None = Field(
        default=None,
        description="project.dataset.table of the standard or detailed billing export in BigQuery",
    )
    project: str | None = Field(default=None, description="project that runs the query jobs")
    trailing_days: int = Field(default=10, ge=1, description="partitions re-checked for late rows")
    initial_days: int = Field(default=62, ge=1, description="how far back the first pull goes")
    api_endpoint: str | None = None

    @field_validator("export_table")
    @classmethod
    def _table_name(cls, v: str | None) -> str | None:
        # Written into SQL (the view over the export, the partition scan): only a valid BigQuery name passes.
        return None if v is None else bq_names.table_ref(v)

    @field_validator("project")
    @classmethod
    def _project_id(cls, v: str | None) -> str | None:
        return None if v is None else bq_names.project_id(v)

    @model_validator(mode="after")
    def _runnable(self) -> GcpBillingConfig:
        if self.enabled and not self.export_table:
            raise ValueError("enabled = true needs export_table (project.dataset.table of the billing export)")
        return self


class DatabricksConfig(CollectorBase):
    host: str | None = Field(default=None, description="workspace URL, e.g. https://1234.5.gcp.databricks.com")
    token_env: str = Field(default="DATABRICKS_TOKEN", description="env var holding a PAT or OAuth token")
    warehouse_id: str | None = Field(default=None, description="SQL warehouse that runs the statements")
    trailing_days: int = Field(default=10, ge=1)
    initial_days: int = Field(default=62, ge=1)
    wait_timeout_seconds: int = Field(default=30, ge=5, le=50)
    sku_prices: Prices = Field(
        default_factory=dict, description="USD per DBU by sku_name when list_prices is not available"
    )
    cloud: Literal["AWS", "AZURE", "GCP"] = Field(default="GCP", description="cloud of legacy CSV usage rows")

    @model_validator(mode="after")
    def _runnable(self) -> DatabricksConfig:
        missing = [k for k in ("host", "warehouse_id") if self.enabled and not getattr(self, k)]
        if missing:
            raise ValueError(f"enabled = true needs {' and '.join(missing)}")
        return self


class FocusConfig(CollectorBase):
    paths: list[str] = Field(default_factory=list, description="FOCUS files or globs ingested on each run")

    @model_validator(mode="after")
    def _runnable(self) -> FocusConfig:
        if self.enabled and not self.paths:
            raise ValueError("enabled = true needs paths (files or globs to ingest)")
        return self


class CollectorsConfig(Strict):
    gcp_billing: GcpBillingConfig = GcpBillingConfig()
    databricks: DatabricksConfig = DatabricksConfig()
    focus: FocusConfig = FocusConfig()
    dcgm: DcgmConfig = DcgmConfig()
    prometheus: PrometheusGpuConfig = PrometheusGpuConfig()
    nvml: NvmlConfig = NvmlConfig()
    nvidia_smi: NvidiaSmiConfig = NvidiaSmiConfig()
    network: NetworkConfig = NetworkConfig()
    inventory: InventoryConfig = InventoryConfig()
    workload: WorkloadConfig = WorkloadConfig()


class AppConfig(Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8501, ge=1, le=65535)
    writers: list[str] = Field(
        default_factory=list,
        description="OIDC sign-ins that may ack and silence: emails, '@domain' or '*' (env "
        "SPENDSCOPE_DASHBOARD_WRITERS overrides); none = nobody writes under OIDC",
    )

    @field_validator("writers")
    @classmethod
    def _writer_entries(cls, v: list[str]) -> list[str]:
        bad = [w for w in v if w.strip() != "*" and "@" not in w]
        if bad:
            raise ValueError(f"not an email, '@domain' or '*': {', '.join(bad)}")
        return [w.strip().lower() for w in v]


class Settings(Strict):
    """The whole file. `source` is where it came from (None for embedded defaults)."""

    home: str = Field(default=str(DEFAULT_HOME), description="state folder: demo files (and the lake, by default)")
    warehouse: WarehouseConfig = WarehouseConfig()
    reporting: ReportingConfig = ReportingConfig()
    collectors: CollectorsConfig = CollectorsConfig()
    telemetry: TelemetryConfig = TelemetryConfig()
    exporters: ExportersConfig = ExportersConfig()
    alerts: AlertsConfig = AlertsConfig()
    plan: PlanConfig = PlanConfig()
    report: ReportConfig = ReportConfig()
    gcp_budgets: GcpBudgetsConfig = GcpBudgetsConfig()
    prices: PricesConfig = PricesConfig()
    live: LiveConfig = LiveConfig()
    app: AppConfig = AppConfig()
    source: str | None = Field(default=None, exclude=True)


def _line_of(text: str, loc: tuple[Any, ...]) -> int | None:
    """Best-effort line number of a dotted key in TOML text: the key under its [section] header."""
    keys = [str(k) for k in loc if not isinstance(k, int)]
    if not keys:
        return None
    section, leaf = keys[:-1], keys[-1]
    current: list[str] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("[") and not line.startswith("[["):
            current = [p.strip().strip('"') for p in line.strip("[]").split(".")]
            if current == keys:
                return n
            continue
        if "=" in line:
            key = line.split("=", 1)[0].strip().strip('"')
            full = current + [p.strip().strip('"') for p in key.split(".")]
            if full == keys or (current == section and key == leaf):
                return n
    return None


def parse(text: str, source: str = "<string>") -> Settings:
    """Validate TOML text; ConfigError names the file, line and key of the first problems."""
    try:
        data = tomllib.loads(text)
    except (ValueError, RecursionError) as exc:
        # TOMLDecodeError is a ValueError; tomllib also lets through Python's own ValueError for an integer
        # past 4,300 digits and RecursionError for arrays or tables nested past the recursion limit.
        raise ConfigError(f"{source}: not valid TOML: {exc or type(exc).__name__}") from None
    try:
        return Settings.model_validate({**data, "source": source})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"])
            line = _line_of(text, err["loc"])
            where = f"{source}:{line}" if line else source
            problems.append(f"{where}: {key}: {err['msg']}")
        raise ConfigError("invalid config\n  " + "\n  ".join(problems)) from None


def load(path: str | os.PathLike[str] | None = None) -> Settings:
    """Load from `path`, else $SPENDSCOPE_CONFIG, else ./spendscope.toml if present, else embedded defaults."""
    chosen = path or os.environ.get("SPENDSCOPE_CONFIG")
    if chosen is None and Path("spendscope.toml").is_file():
        chosen = "spendscope.toml"
    if chosen is None:
        return Settings()
    p = Path(chosen)
    if not p.is_file():
        raise ConfigError(f"config file not found: {p}")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:  # a latin-1 or UTF-16 file: a clear error, not a traceback
        raise ConfigError(f"{p}: not UTF-8 text (invalid byte at offset {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read: {exc.strerror or exc}") from None
    return parse(text, source=str(p))


def secret(env_name: str) -> str | None:
    """The secret in the environment variable the config names (or the file at <NAME>_FILE); None when unset."""
    return read_secret(env_name)
