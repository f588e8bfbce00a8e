"""The metric catalog, `exporters/metrics.csv`: the contract for every metric we expose (DESIGN §6).

HELP and TYPE lines come from here, so the exposition and the catalog cannot drift apart.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CATALOG_PATH = Path(__file__).resolve().parent.parent / "metrics.csv"


@dataclass(frozen=True)
class MetricSpec:
    """One catalog row: name, Prometheus type, base unit, help text and label names."""

    name: str
    type: str  # gauge | counter
    unit: str  # usd, seconds, bytes, ratio, …; "" for a count, a flag or a code
    help: str
    labels: tuple[str, ...]


def parse_catalog(text: str) -> dict[str, MetricSpec]:
    """Catalog rows by name, in file order."""
    out: dict[str, MetricSpec] = {}
    for row in csv.DictReader(text.splitlines()):
        labels = tuple(x for x in (row["labels"] or "").split(";") if x)
        spec = MetricSpec(row["name"], row["type"], row["unit"] or "", row["help"], labels)
        if spec.name in out:
            raise ValueError(f"metric {spec.name} is in the catalog twice")
        out[spec.name] = spec
    return out


@cache
def catalog() -> dict[str, MetricSpec]:
    """The shipped catalog (read once)."""
    return parse_catalog(CATALOG_PATH.read_text(encoding="utf-8"))
