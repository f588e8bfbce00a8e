"""The BigQuery emulator fixtures (one emulator per session, a fresh dataset per test) for test_bigquery_parameters."""

from tests.warehouse.conftest import bq_dataset, bq_emulator, bq_warehouse

__all__ = ["bq_dataset", "bq_emulator", "bq_warehouse"]
