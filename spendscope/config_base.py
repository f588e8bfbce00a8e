"""The base classes every config section derives from (kept apart so section modules can share them)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """Base for every config section: unknown keys are errors, values are immutable after load."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CollectorBase(Strict):
    """The scheduling keys every collector section has."""

    enabled: bool = False
    interval_minutes: float = Field(default=60, gt=0)
    misfire_grace_seconds: int = Field(default=300, ge=1)


def _non_negative(prices: dict[str, float]) -> dict[str, float]:
    bad = [k for k, price in prices.items() if price < 0]
    if bad:
        raise ValueError(f"negative price for {', '.join(bad)}")
    return prices


# A price table (name → USD): every section that takes one validates it the same way.
Prices = Annotated[dict[str, float], AfterValidator(_non_negative)]
