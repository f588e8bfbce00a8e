"""The base classes every config section derives from (kept apart so section modules can share them)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """Base for every config section: unknown keys are errors, values are immutable after load."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CollectorBase(Strict):
    """The scheduling keys every collector section has."""

    enabled: bool = False
    interval_minutes: float = Field(default=60, gt=0)
    misfire_grace_seconds: int = Field(default=300, ge=1)
