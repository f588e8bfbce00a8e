"""The Prometheus exporter: `/metrics`, a node_exporter textfile, and the metric catalog behind both (DESIGN §6)."""

from exporters.prometheus.exporter import PrometheusExporter
from exporters.prometheus.snapshot import Snapshot, SnapshotBuilder

__all__ = ["PrometheusExporter", "Snapshot", "SnapshotBuilder"]
