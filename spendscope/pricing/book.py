"""The price book: the `prices` rows valid at one moment, answering "what does this cost per hour" after discounts.

`PriceBook.load(wh, at)` reads the rows with `valid_from <= at < valid_to` once; every lookup is then in
memory and returns a `Quote` (USD per hour after contract discounts, the list figure, the SKUs it summed), or
None when a price it needs is not in the book. Locations may be zones (us-central1-a → us-central1); a SKU
priced "global" answers for every region. Spot VMs are priced from the Preemptible SKUs. Hourly rates come
from the Catalog's own unit definition (price / base_unit_conversion_factor = price per base unit, the unit of
usage exports: seconds, byte-seconds), so a GiB-month Local SSD price turns hourly by the API's month length.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from collectors.databricks.rows import normalize_sku
from spendscope.pricing.machines import shape

if TYPE_CHECKING:
    from exporters.warehouse import Warehouse

log = logging.getLogger(__name__)

GIB = 2**30
_HOURS_PER_MONTH = 730  # used only when a row lacks the Catalog's conversion factor
_ZONE = re.compile(r"^([a-z]+-[a-z]+\d+)-[a-z]$")
_GPU_ALIASES = {
    "H100": "H100", "H100-80GB": "H100", "NVIDIA-H100-80GB": "H100",
    "H100-MEGA": "H100-MEGA", "H100-MEGA-80GB": "H100-MEGA", "H100-80GB-MEGA": "H100-MEGA",
    "NVIDIA-H100-MEGA-80GB": "H100-MEGA",
    "A100": "A100-40GB", "A100-40GB": "A100-40GB", "NVIDIA-TESLA-A100": "A100-40GB",
    "A100-80GB": "A100-80GB", "NVIDIA-A100-80GB": "A100-80GB",
}  # fmt: skip
_UNIT_HOURLY = {"h": 1.0, "GiBy.h": 1.0, "mo": 1 / _HOURS_PER_MONTH, "GiBy.mo": 1 / _HOURS_PER_MONTH}
LOAD_SQL = "SELECT * FROM prices WHERE valid_from <= @at AND (valid_to IS NULL OR valid_to > @at)"
# Rates are aliased off the "usd"/"price" names the table printer rounds to cents (RAM is $0.0045/GiB-hour).
LIST_COLUMNS = (
    "provider, sku_id, description, region, usage_type, item, unit, list_usd_per_unit AS list_rate, discount_pct, "
    "usd_per_unit AS rate, source, valid_from, valid_to"
)


@dataclass(frozen=True)
class Part:
    """One SKU's share of a quote: `quantity` units (GPUs, vCPUs, GiB, DBU/h) at its hourly rate."""

    sku_id: str
    description: str
    quantity: float
    usd_per_hour: float
    list_usd_per_hour: float
    source: str


@dataclass(frozen=True)
class Quote:
    """USD per hour after contract discounts, where the price came from, and the SKUs summed."""

    usd_per_hour: float
    source: str
    sku_ids: tuple[str, ...]
    list_usd_per_hour: float = 0.0
    parts: tuple[Part, ...] = ()

    @classmethod
    def of(cls, parts: Iterable[Part]) -> Quote:
        """The sum of parts."""
        ps = tuple(parts)
        return cls(
            usd_per_hour=sum(p.usd_per_hour for p in ps),
            source="+".join(sorted({p.source for p in ps})),
            sku_ids=tuple(dict.fromkeys(p.sku_id for p in ps)),
            list_usd_per_hour=sum(p.list_usd_per_hour for p in ps),
            parts=ps,
        )

    def __add__(self, other: Quote) -> Quote:
        return Quote.of([*self.parts, *other.parts])


def list_prices(wh: Warehouse, skus: Sequence[str] = (), history: bool = False) -> pa.Table:
    """Stored prices for people (rates in USD per unit): current ones, or every version; by sku id / sku_name / item."""
    where = ["TRUE"] if history else ["valid_to IS NULL"]
    params: dict[str, Any] = {}
    if skus:
        where.append("(UPPER(sku_id) IN UNNEST(@skus) OR UPPER(item) IN UNNEST(@skus))")
        params["skus"] = [s.upper() for s in skus]
    sql = (
        f"SELECT {LIST_COLUMNS} FROM prices WHERE {' AND '.join(where)} "
        "ORDER BY provider, component, item, region, usage_type, sku_id, valid_from"
    )
    return wh.query(sql, params)


def region_of(location: str) -> str:
    """The region of a zone (us-central1-a → us-central1); a region or "global" passes through."""
    m = _ZONE.match(location.strip().lower())
    return m.group(1) if m else location.strip().lower()


def gpu_item(model: str) -> str:
    """The prices.item of a GPU model name or accelerator type (A100 → A100-40GB, nvidia-h100-80gb → H100)."""
    key = "-".join(re.findall(r"[A-Z0-9]+", model.upper()))
    return _GPU_ALIASES.get(key, key)


def hourly_factor(row: Mapping[str, Any]) -> float | None:
    """Hours-and-GiB rate per unit price: price × this = USD per hour (per GiB-hour for byte units)."""
    factor, base = row.get("base_unit_factor"), row.get("base_unit")
    if factor:
        if base == "s":
            return 3600 / factor
        if base == "By.s":
            return GIB * 3600 / factor
    return _UNIT_HOURLY.get(row.get("unit") or "")


class PriceBook:
    """Prices valid at one moment, indexed for the lookups the cost estimates make."""

    def __init__(self, rows: Iterable[Mapping[str, Any]], at: dt.datetime) -> None:
        self.at = at
        self._gcp: dict[tuple[str, str, str, str], list[Mapping[str, Any]]] = {}
        self._dbu: dict[tuple[str, str], Mapping[str, Any]] = {}
        self.size = 0
        for row in rows:
            self.size += 1
            if row["provider"] == "databricks":
                self._dbu[(row["sku_id"], row["service_id"])] = row
            else:
                key = (row["component"], row["item"], row["region"], row["usage_type"])
                self._gcp.setdefault(key, []).append(row)
        for candidates in self._gcp.values():  # one answer per key: the latest version, then the lowest sku id
            candidates.sort(key=lambda r: (-r["valid_from"].timestamp(), r["sku_id"]))

    @classmethod
    def load(cls, wh: Warehouse, at: dt.datetime) -> PriceBook:
        """The rows of `prices` valid at `at`."""
        return cls(wh.query(LOAD_SQL, {"at": at}).to_pylist(), at)

    def __len__(self) -> int:
        return self.size

    def row(self, component: str, item: str, region: str, usage_type: str = "OnDemand") -> Mapping[str, Any] | None:
        """The price row for a component in a region (or zone), else its "global" row, else None."""
        for where in (region_of(region), "global"):
            found = self._gcp.get((component, item, where, usage_type))
            if found:
                return found[0]
        return None

    def part(self, component: str, item: str, region: str, quantity: float, usage_type: str) -> Part | None:
        """`quantity` units of a component per hour, or None when unpriced or not an hourly unit."""
        row = self.row(component, item, region, usage_type)
        factor = hourly_factor(row) if row else None
        if row is None or factor is None:
            log.debug("unpriced component:%s item:%s region:%s usage:%s", component, item, region, usage_type)
            return None
        return Part(
            row["sku_id"], row["description"], quantity,
            row["usd_per_unit"] * factor * quantity, row["list_usd_per_unit"] * factor * quantity, row["source"],
        )  # fmt: skip

    def _quote(
        self, component: str, item: str, region: str, spot: bool, usage_type: str | None, n: float = 1
    ) -> Quote | None:
        part = self.part(component, item, region, n, usage_type or ("Preemptible" if spot else "OnDemand"))
        return Quote.of([part]) if part else None

    def gpu_hourly(self, model: str, region: str, spot: bool = False, *, usage_type: str | None = None) -> Quote | None:
        """One GPU of `model` (H100, H100-MEGA, A100-40GB, A100-80GB, or an accelerator type) per hour."""
        return self._quote("gpu", gpu_item(model), region, spot, usage_type)

    def core_hourly(
        self, family: str, region: str, spot: bool = False, *, usage_type: str | None = None
    ) -> Quote | None:
        """One vCPU of machine family `family` (A3, A3PLUS, A2, C4A) per hour."""
        return self._quote("core", family.upper(), region, spot, usage_type)

    def ram_gib_hourly(
        self, family: str, region: str, spot: bool = False, *, usage_type: str | None = None
    ) -> Quote | None:
        """One GiB of memory of machine family `family` per hour."""
        return self._quote("ram", family.upper(), region, spot, usage_type)

    def local_ssd_gib_hourly(self, region: str, spot: bool = False) -> Quote | None:
        """One GiB of Local SSD per hour."""
        return self._quote("local_ssd", "local-ssd", region, spot, None)

    def machine_hourly(
        self, machine_type: str, region: str, spot: bool = False, *, local_ssd: bool = True
    ) -> Quote | None:
        """One VM of `machine_type`: GPUs + vCPUs + RAM (+ its bundled Local SSD); None if any part is unpriced."""
        s = shape(machine_type)
        if s is None:
            return None
        usage = "Preemptible" if spot else "OnDemand"
        wanted = [("core", s.family, s.vcpus), ("ram", s.family, s.memory_gib)]
        if s.gpu_model and s.gpus:
            wanted.insert(0, ("gpu", s.gpu_model, s.gpus))
        if local_ssd and s.local_ssd_gib:
            wanted.append(("local_ssd", "local-ssd", s.local_ssd_gib))
        parts = [self.part(component, item, region, n, usage) for component, item, n in wanted]
        if any(p is None for p in parts):
            return None
        return Quote.of(p for p in parts if p is not None)

    def dbu_rate(self, sku_name: str, cloud: str = "GCP", dbu_per_hour: float = 1.0) -> Quote | None:
        """USD per hour for `dbu_per_hour` DBUs of a Databricks SKU (the default 1.0 gives USD per DBU)."""
        sku = normalize_sku(sku_name)
        row = self._dbu.get((sku, cloud.upper())) or self._dbu.get((sku, "ANY"))
        if row is None:
            return None
        part = Part(
            sku, row["description"], dbu_per_hour, row["usd_per_unit"] * dbu_per_hour,
            row["list_usd_per_unit"] * dbu_per_hour, row["source"],
        )  # fmt: skip
        return Quote.of([part])
