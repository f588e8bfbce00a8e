"""spendscope: GPU and cloud cost observability for GCP, Databricks and any FOCUS source."""

__version__ = "0.1.0"
