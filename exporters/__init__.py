"""Exporters: the warehouse (DuckDB over a Delta lake, or BigQuery), and later Prometheus and Datadog."""
