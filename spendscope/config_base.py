"""The base classes every config section derives from (kept apart so section modules can share them)."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from typing import Annotated

import pydantic
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field


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


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: object) -> object:
    """'90s', '5m', '2h', '1d', '1h30m' (Prometheus style) or a number of seconds → timedelta."""
    if isinstance(value, dt.timedelta) or value is None:
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _seconds(value, value)
    if isinstance(value, str):
        text = value.strip()
        parts = re.findall(r"(\d+(?:\.\d+)?)([smhdw])", text)
        if parts and "".join(n + u for n, u in parts) == text.replace(" ", ""):
            return _seconds(sum(float(n) * _UNITS[u] for n, u in parts), value)
        if text.startswith(("P", "-P")):  # ISO 8601, as a dumped config (model_dump_json) writes it
            with contextlib.suppress(pydantic.ValidationError):
                return pydantic.TypeAdapter(dt.timedelta).validate_python(text)
        raise ValueError(f"{value!r} is not a duration (e.g. 30s, 5m, 2h, 1d, 1h30m)")
    return value


def _seconds(seconds: float, given: object) -> dt.timedelta:
    try:
        return dt.timedelta(seconds=seconds)
    except OverflowError:
        # inf, or past timedelta's 999,999,999 days: pydantic turns only ValueError into a message with the key.
        raise ValueError(f"{given!r} is too long a duration") from None


def _non_negative_duration(value: object) -> object:
    if isinstance(value, dt.timedelta) and value < dt.timedelta(0):
        raise ValueError("a duration cannot be negative")
    return value


# A duration field: Prometheus-style text ('5m', '2h') or seconds; never negative.
Duration = Annotated[dt.timedelta, BeforeValidator(parse_duration), AfterValidator(_non_negative_duration)]
