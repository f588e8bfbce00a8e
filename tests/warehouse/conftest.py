"""BigQuery fixtures: one real `bqemulator` per session on loopback, a fresh dataset per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from exporters.warehouse.bigquery import BigQueryWarehouse
from spendscope.config import Settings
from tests.bqemu import Emulator, running_emulator


@pytest.fixture(scope="session")
def bq_emulator() -> Iterator[Emulator]:
    """The emulator process, started once for the session and stopped after it."""
    with running_emulator() as emu:
        yield emu


@pytest.fixture
def bq_client(bq_emulator: Emulator) -> Any:
    """A real google-cloud-bigquery client aimed at the emulator."""
    return bq_emulator.client()


def bq_settings(tmp_path: Path, emu: Emulator, dataset: str, export_table: str | None = None) -> Settings:
    """Settings selecting the BigQuery engine on the emulator (and optionally an in-place export)."""
    return Settings.model_validate(
        {
            "home": str(tmp_path / "home"),
            "warehouse": {
                "engine": "bigquery",
                "bigquery": {"project": emu.project, "dataset": dataset, "api_endpoint": emu.api_endpoint},
            },
            "collectors": {"gcp_billing": {"export_table": export_table}},
        }
    )


@pytest.fixture
def bq_dataset() -> str:
    """A dataset name no other test uses (the emulator lives for the whole session)."""
    return f"spendscope_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def bq_warehouse(tmp_path: Path, bq_emulator: Emulator, bq_dataset: str) -> Iterator[BigQueryWarehouse]:
    """The BigQuery engine as `open_warehouse` builds it from config, on a fresh dataset."""
    wh = BigQueryWarehouse.from_settings(bq_settings(tmp_path, bq_emulator, bq_dataset))
    yield wh
    wh.close()


@pytest.fixture(scope="module")
def bq_shared(tmp_path_factory: pytest.TempPathFactory, bq_emulator: Emulator) -> Iterator[BigQueryWarehouse]:
    """One set-up BigQuery warehouse for a whole module (creating one costs seconds on the emulator);
    tests sharing it keep apart by writing their own partition keys."""
    settings = bq_settings(tmp_path_factory.mktemp("bq"), bq_emulator, f"shared_{uuid.uuid4().hex[:10]}")
    wh = BigQueryWarehouse.from_settings(settings)
    wh.ensure()
    yield wh
    wh.close()
