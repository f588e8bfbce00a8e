"""The Datadog exporter: our metrics as v2 series and collector health changes as v1 events (formats.md §5)."""

from exporters.datadog.client import DatadogExporter, Event, PushResult

__all__ = ["DatadogExporter", "Event", "PushResult"]
