"""The fuzz profile every module here uses: deterministic (CI replays the same inputs), bounded, no deadline.

Registered, not loaded: loading a profile is global and would change the other suites' Hypothesis settings.
Modules decorate with `@fuzz(n)`, which takes this profile and sets the example count.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from collectors.base import RunContext
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.clock import fixed_clock
from spendscope.config import Settings

settings.register_profile(
    "fuzz",
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,  # derandomized runs replay from the seed; no example database files in the checkout
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
FUZZ = settings.get_profile("fuzz")


def fuzz(max_examples: int) -> settings:
    """The shared profile with this test's example count."""
    return settings(FUZZ, max_examples=max_examples)


@pytest.fixture(scope="module")
def fuzz_ctx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunContext]:
    """A run context over a real, empty lake; collectors read it (stored prices) but the fuzz never writes."""
    root: Path = tmp_path_factory.mktemp("fuzzlake")
    settings_ = Settings.model_validate({"home": str(root / "home"), "warehouse": {"path": str(root / "lake")}})
    yield RunContext(
        settings=settings_,
        warehouse=DuckDbLake(settings_.warehouse.path),
        clock=fixed_clock(dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)),
    )
