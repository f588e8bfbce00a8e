"""Workload performance (training throughput, inference latency) from Prometheus queries and MLflow runs."""
