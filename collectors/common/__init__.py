"""Helpers shared by collectors: export files on disk, HTTP scrapes, the Prometheus query API."""
