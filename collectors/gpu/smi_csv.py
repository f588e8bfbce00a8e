"""Parse `nvidia-smi --query-gpu=… --format=csv[,noheader][,nounits]` output into gpu_samples columns (pure).

With a header, columns are found by name: the unit suffix is dropped (`memory.used [MiB]` → `memory.used`)
and aliases resolve to nvidia-smi's canonical names (`--query-gpu=clocks.sm` prints
`clocks.current.sm [MHz]`; R535 renamed `clocks_throttle_reasons.*` to `clocks_event_reasons.*`). Without
a header (`noheader`), the caller passes the field list it queried: as `fields` (always that list) or as
`noheader_fields` (used only when the first line is not a header). A first line that is not a header and
no list to read it with sets `headerless` (and `missing`): a saved noheader file needs its field list.
Values may carry units (`45 %`, `81559 MiB`, `69.93 W`, `1980 MHz`) or not (`nounits`); the unit is known
from the field, so a different unit is an error, not a conversion. `[N/A]`, `N/A`, `[Not Supported]`, `[Unknown Error]`,
`[Insufficient Permissions]` and any other bracketed token are null — MIG mode's `[N/A]` utilization is
"not measured", never 0.

Lines starting with `#` are comments; `# key: value` ones are returned as `meta` (the collector reads
`host` and `tz` there). A repeated header line (output of several `-l` runs appended to one file) is
skipped. A row with the wrong number of fields or a value that is not what its field holds is returned in
`bad` with its 1-based line; the rest are kept. `timestamp` ("2026/11/20 12:00:01.123") is the host's
local time: it is read in `tz` and returned in UTC. ECC: the aggregate (lifetime) counts are stored where
the output has them, the volatile (since driver load) ones only where it has no aggregate value, as for
the dcgm and NVML sources.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

MIB = 1024 * 1024
REQUIRED = ("index", "uuid")

ALIASES = {
    "clocks.sm": "clocks.current.sm",
    "clocks.mem": "clocks.current.memory",
    "clocks.memory": "clocks.current.memory",
    "clocks.gr": "clocks.current.graphics",
    "gpu_uuid": "uuid",
    "gpu_name": "name",
    "gpu_bus_id": "pci.bus_id",
    "clocks_throttle_reasons.active": "clocks_event_reasons.active",
    "retired_pages.sbe": "retired_pages.single_bit_ecc.count",
    "retired_pages.dbe": "retired_pages.double_bit.count",
}
TEXT = {"uuid": "gpu_uuid", "name": "gpu_model", "pci.bus_id": "pci_bus_id", "driver_version": "driver_version"}
# field → (column, factor, units it may carry). Columns starting with "_" are combined in `_finish`.
NUMBERS: dict[str, tuple[str, float, tuple[str, ...]]] = {
    "utilization.gpu": ("gpu_util_ratio", 0.01, ("%",)),
    "utilization.memory": ("mem_copy_util_ratio", 0.01, ("%",)),
    "utilization.encoder": ("enc_util_ratio", 0.01, ("%",)),
    "utilization.decoder": ("dec_util_ratio", 0.01, ("%",)),
    "memory.used": ("fb_used_bytes", MIB, ("MiB",)),
    "memory.free": ("fb_free_bytes", MIB, ("MiB",)),
    "memory.reserved": ("fb_reserved_bytes", MIB, ("MiB",)),
    "power.draw": ("_power", 1.0, ("W",)),
    "power.draw.average": ("_power_average", 1.0, ("W",)),
    "power.draw.instant": ("_power_instant", 1.0, ("W",)),
    "temperature.gpu": ("gpu_temp_celsius", 1.0, ("C",)),
    "temperature.memory": ("memory_temp_celsius", 1.0, ("C",)),
    "clocks.current.sm": ("sm_clock_hz", 1e6, ("MHz",)),
    "clocks.current.memory": ("mem_clock_hz", 1e6, ("MHz",)),
    "ecc.errors.corrected.volatile.total": ("_sbe_volatile", 1.0, ()),
    "ecc.errors.uncorrected.volatile.total": ("_dbe_volatile", 1.0, ()),
    "ecc.errors.corrected.aggregate.total": ("_sbe_aggregate", 1.0, ()),
    "ecc.errors.uncorrected.aggregate.total": ("_dbe_aggregate", 1.0, ()),
    "retired_pages.single_bit_ecc.count": ("_retired_sbe", 1.0, ()),
    "retired_pages.double_bit.count": ("_retired_dbe", 1.0, ()),
    "remapped_rows.correctable": ("remapped_rows_correctable_total", 1.0, ()),
    "remapped_rows.uncorrectable": ("remapped_rows_uncorrectable_total", 1.0, ()),
}
_NULL_WORDS = {"", "n/a", "not supported", "unknown error", "insufficient permissions", "not available"}
_NUMBER = re.compile(r"^([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z%]*)$", re.ASCII)
_UNIT = re.compile(r"\s*\[[^\]]*\]\s*$")
_TS_FORMATS = ("%Y/%m/%d %H:%M:%S.%f", "%Y/%m/%d %H:%M:%S")
# A header cell is a field name with an optional unit (`memory.used [MiB]`); a data row always has a value
# that is not one (the required `index` is a number, `uuid` holds dashes).
_HEADER_CELL = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*(?:\s*\[[^\]]*\])?$", re.ASCII)


class BadValue(ValueError):
    """One value is not what its field holds; the row is quarantined with this message."""


@dataclass
class SmiParse:
    """What one output held: rows in gpu_samples columns, bad lines, `# key: value` meta, missing columns."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    bad: list[tuple[int, str, str]] = field(default_factory=list)  # (line, reason, raw)
    meta: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)  # canonical field names, in column order
    headerless: bool = False  # the first line was data, and no field list was given to read it with


def canonical(name: str) -> str:
    """`clocks.sm [MHz]` → `clocks.current.sm`: the unit dropped, the alias resolved."""
    base = _UNIT.sub("", name).strip().lower()
    return ALIASES.get(base, base)


def is_null(value: str) -> bool:
    """nvidia-smi's "no value" tokens: N/A, and any bracketed state such as [Not Supported]."""
    v = value.strip()
    return v.lower() in _NULL_WORDS or (v.startswith("[") and v.endswith("]"))


def number(value: str, units: tuple[str, ...]) -> float | None:
    """`"69.93 W"` or `"69.93"` → 69.93; null tokens → None; anything else raises BadValue."""
    if is_null(value):
        return None
    m = _NUMBER.match(value.strip())
    if not m or (m.group(2) and m.group(2) not in units):
        raise BadValue(f"not a number{' in ' + '/'.join(units) if units else ''}: {value.strip()!r}")
    out = float(m.group(1))
    if not math.isfinite(out):  # '1e999' reads as inf: nvidia-smi never prints one, and it would poison sums
        raise BadValue(f"not a finite number: {value.strip()[:40]!r}")
    return out


def bitmask(value: str) -> float | None:
    """`0x0000000000000004` → 4.0 (the clocks-event reasons bitmask)."""
    if is_null(value):
        return None
    try:
        mask = int(value.strip(), 16)
    except ValueError:
        raise BadValue(f"not a hex bitmask: {value.strip()[:40]!r}") from None
    if not 0 <= mask < 1 << 64:  # the reasons are a 64-bit mask; a longer one overflowed float() with a traceback
        raise BadValue(f"not a 64-bit bitmask: {value.strip()[:40]!r}")
    return float(mask)


def flag(value: str) -> float | None:
    """`Yes`/`No` (or 1/0) → 1.0/0.0."""
    if is_null(value):
        return None
    v = value.strip().lower()
    if v in ("yes", "1", "true"):
        return 1.0
    if v in ("no", "0", "false"):
        return 0.0
    raise BadValue(f"not Yes/No: {value.strip()!r}")


def timestamp(value: str, tz: dt.tzinfo) -> dt.datetime:
    """`2026/11/20 12:00:01.123`, read in the host's `tz`, as UTC."""
    v = value.strip()
    for fmt in _TS_FORMATS:
        try:
            return dt.datetime.strptime(v, fmt).replace(tzinfo=tz).astimezone(dt.UTC)
        except (ValueError, OverflowError):
            continue
    raise BadValue(f"not a timestamp (YYYY/MM/DD HH:MM:SS.mmm): {v!r}")


def is_header(line: str) -> bool:
    """Whether a non-comment line is a csv header (every cell a field name), not a data row."""
    cells = line.strip().lstrip("\ufeff").split(",")
    return all(_HEADER_CELL.match(c.strip()) for c in cells)


def parse(
    text: str,
    *,
    fields: Sequence[str] | None = None,
    noheader_fields: Sequence[str] | None = None,
    tz: dt.tzinfo = dt.UTC,
    default_ts: dt.datetime | None = None,
) -> SmiParse:
    """Parse one output; `fields`/`noheader_fields` for `noheader` output; `default_ts` where no timestamp column."""
    out = SmiParse()
    names = [canonical(f) for f in fields] if fields is not None else None
    if names is not None:
        _set_fields(out, names)
    for number_, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        stripped = line.strip().lstrip("\ufeff")
        if not stripped:
            continue
        if stripped.startswith("#"):
            key, sep, value = stripped[1:].partition(":")
            if sep and key.strip():
                out.meta.setdefault(key.strip().lower(), value.strip())
            continue
        cells = stripped.split(",")
        if names is None:
            if is_header(stripped):
                names = [canonical(c) for c in cells]
                _set_fields(out, names)
                continue
            if not noheader_fields:
                out.headerless, out.missing = True, list(REQUIRED)
                return out
            names = [canonical(f) for f in noheader_fields]
            _set_fields(out, names)
        if [canonical(c) for c in cells] == names:  # a header again (appended runs), or csv with fields given
            continue
        if out.missing:
            continue
        if len(cells) != len(names):
            out.bad.append((number_, f"expected {len(names)} fields, found {len(cells)}", line))
            continue
        try:
            out.rows.append(_row(dict(zip(names, cells, strict=True)), tz, default_ts))
        except BadValue as exc:
            out.bad.append((number_, str(exc), line))
    return out


def _set_fields(out: SmiParse, names: list[str]) -> None:
    out.fields = names
    out.missing = [r for r in REQUIRED if r not in names]


def _row(cells: dict[str, str], tz: dt.tzinfo, default_ts: dt.datetime | None) -> dict[str, Any]:
    row: dict[str, Any] = {}
    raw_index = cells["index"].strip()
    # At most 9 digits: gpu_index is int32 (a longer one failed building the table, or int() itself past
    # Python's 4,300-digit limit) and no host has a billion GPUs.
    if not (raw_index.isascii() and raw_index.isdigit() and len(raw_index) <= 9):
        raise BadValue(f"index: not a GPU index: {raw_index[:40]!r}")
    row["gpu_index"] = int(raw_index)
    for name, value in cells.items():
        if name in TEXT:
            row[TEXT[name]] = None if is_null(value) else value.strip()
        elif name in NUMBERS:
            column, factor, units = NUMBERS[name]
            try:
                v = number(value, units)
            except BadValue as exc:
                raise BadValue(f"{name}: {exc}") from None
            row[column] = None if v is None else v * factor
        elif name == "clocks_event_reasons.active":
            row["throttle_reasons"] = _named(name, bitmask, value)
        elif name == "remapped_rows.failure":
            row["row_remap_failure"] = _named(name, flag, value)
    if not row.get("gpu_uuid"):
        raise BadValue("uuid: empty")
    if "timestamp" in cells:
        row["ts"] = _named("timestamp", lambda v: timestamp(v, tz), cells["timestamp"])
    elif default_ts is not None:
        row["ts"] = default_ts
    else:
        raise BadValue("no timestamp column and no sampling time given")
    return _finish(row)


def _named(name: str, conv: Any, value: str) -> Any:
    try:
        return conv(value)
    except BadValue as exc:
        raise BadValue(f"{name}: {exc}") from None


def _first(*values: float | None) -> float | None:
    return next((v for v in values if v is not None), None)


def _finish(row: dict[str, Any]) -> dict[str, Any]:
    """Combine alternatives: power.draw else its average/instant; aggregate ECC else volatile; pages summed."""
    row["power_watts"] = _first(row.pop("_power", None), row.pop("_power_average", None),
                                row.pop("_power_instant", None))  # fmt: skip
    row["ecc_sbe_total"] = _first(row.pop("_sbe_aggregate", None), row.pop("_sbe_volatile", None))
    row["ecc_dbe_total"] = _first(row.pop("_dbe_aggregate", None), row.pop("_dbe_volatile", None))
    pages = [p for p in (row.pop("_retired_sbe", None), row.pop("_retired_dbe", None)) if p is not None]
    row["retired_pages_total"] = sum(pages) if pages else None
    return row
