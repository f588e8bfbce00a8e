"""Pure FOCUS row parsing: header mapping and vectorized Arrow conversion of one batch to `focus_import`.

Providers spell the same FOCUS file differently (formats.md §6): column names in any case, ProviderName
replaced by ServiceProviderName/HostProviderName in 1.3+, nulls as empty strings, timestamps with `Z`,
`+00:00`, ` UTC` (BigQuery CSV) or no zone at all (= UTC), Tags as JSON text with nested values or, in
Parquet, as a map or a key/value list. Everything here works on whole Arrow arrays; only values that
fail go through Python, so a clean batch never leaves Arrow. Nothing here does I/O or logs.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from collectors.common.pyvalues import py_values
from collectors.focus.values import parse_decimals, parse_tags, parse_timestamps, to_json_text, to_text
from exporters.warehouse.schema.focus import FOCUS_12_COLUMNS, FOCUS_IMPORT, FOCUS_IMPORT_REQUIRED
from exporters.warehouse.schema.types import TS

# 1.3+ names that stand in for ProviderName when it is absent or null, in order of preference.
PROVIDER_FALLBACKS = ("ServiceProviderName", "HostProviderName")
KNOWN_COLUMNS = (*FOCUS_12_COLUMNS, *PROVIDER_FALLBACKS)
_LOOKUP = {name.lower(): name for name in KNOWN_COLUMNS}
_JSON_OBJECT_COLUMNS = {"Tags"}
_JSON_COLUMNS = {"SkuPriceDetails"}


def canonical_name(raw: str) -> str | None:
    """The FOCUS spelling of a header cell (case-insensitive, BOM and blanks stripped); None if not ours."""
    return _LOOKUP.get(raw.strip().lstrip("\ufeff").strip().strip('"').lower())


def map_header(names: Sequence[str]) -> dict[str, int]:
    """FOCUS column → position in `names`; first spelling wins; unknown (x_, oci_ …) columns are ignored."""
    found: dict[str, int] = {}
    for i, raw in enumerate(names):
        name = canonical_name(raw)
        if name is not None and name not in found:
            found[name] = i
    return found


def missing_required(columns: Mapping[str, int] | Sequence[str]) -> list[str]:
    """Required `focus_import` columns absent from a mapped header."""
    return [c for c in FOCUS_IMPORT_REQUIRED if c not in columns]


@dataclass
class Parsed:
    """One parsed batch: the rows for `focus_import` and the rejected rows as (row index, reason)."""

    table: pa.Table
    bad: list[tuple[int, str]]


def parse_batch(columns: Mapping[str, pa.Array], source_file: str, source: str) -> Parsed:
    """Convert one batch of raw FOCUS columns (any of the known names) to `focus_import` rows."""
    n = len(next(iter(columns.values()))) if columns else 0
    reasons: dict[int, str] = {}
    out: dict[str, pa.Array] = {}
    for name, (typ, _) in FOCUS_12_COLUMNS.items():
        raw = columns.get(name)
        if raw is None:
            continue
        if typ == pa.float64():
            values, errors = parse_decimals(raw)
        elif typ == TS:
            values, errors = parse_timestamps(raw)
        elif name in _JSON_OBJECT_COLUMNS:
            values, errors = parse_tags(raw)
        elif name in _JSON_COLUMNS:
            values, errors = to_json_text(raw)
        else:
            values, errors = to_text(raw)
        out[name] = values
        for i, value in errors:
            reasons.setdefault(i, f"{name}: cannot parse {value!r}")
    chain = [out["ProviderName"]] if "ProviderName" in out else []
    chain += [to_text(columns[c])[0] for c in PROVIDER_FALLBACKS if c in columns]
    if chain:
        out["ProviderName"] = pc.coalesce(*chain) if len(chain) > 1 else chain[0]
    _check_rows(out, reasons)
    good = pa.array([i not in reasons for i in range(n)], pa.bool_()) if reasons else None
    table = _assemble(out, n, source_file, source)
    if good is not None:
        table = table.filter(good)
    return Parsed(table, sorted(reasons.items()))


def _check_rows(out: Mapping[str, pa.Array], reasons: dict[int, str]) -> None:
    """Row rules that span columns: non-null BilledCost and charge period, End not before Start."""
    for name in FOCUS_IMPORT_REQUIRED:
        if name not in out:
            continue
        for i in _true_indices(pc.is_null(out[name])):
            reasons.setdefault(i, f"{name} is null (FOCUS: MUST NOT be null)")
    if "ChargePeriodEnd" not in out or "ChargePeriodStart" not in out:
        return
    backwards = pc.less(out["ChargePeriodEnd"], out["ChargePeriodStart"])
    for i in _true_indices(pc.fill_null(backwards, False)):
        reasons.setdefault(i, "ChargePeriodEnd is before ChargePeriodStart")


def _true_indices(mask: pa.Array) -> list[int]:
    if not pc.any(mask).as_py():
        return []
    return [int(i) for i in pc.indices_nonzero(mask).to_pylist()]


def _assemble(out: Mapping[str, pa.Array], n: int, source_file: str, source: str) -> pa.Table:
    arrays: list[pa.Array] = []
    for field in FOCUS_IMPORT:
        if field.name in out:
            arrays.append(out[field.name])
        elif field.name == "x_SourceFile":
            arrays.append(pa.array([source_file] * n, pa.string()))
        elif field.name == "_source":
            arrays.append(pa.array([source] * n, pa.string()))
        elif field.name == "_day":
            # Rows with a null start are dropped by the caller's filter; 0 keeps the column non-null.
            day = pc.cast(out["ChargePeriodStart"], pa.date32())
            arrays.append(pc.fill_null(day, pa.scalar(0, pa.date32())))
        else:
            arrays.append(pa.nulls(n, field.type))
    return pa.Table.from_arrays(arrays, schema=FOCUS_IMPORT)


def charge_days(start: pa.Array) -> set[dt.date]:
    """Distinct UTC days of a raw ChargePeriodStart column (unparsable values are skipped)."""
    values, _ = parse_timestamps(start)
    days = pc.unique(pc.drop_null(pc.cast(values, pa.date32())))
    return {d for d in days.to_pylist() if d is not None}


def raw_row(columns: Mapping[str, pa.Array], index: int) -> str:
    """The raw values of one row as JSON text, for the quarantine table."""
    row: dict[str, Any] = {name: py_values(arr.slice(index, 1))[0] for name, arr in columns.items()}
    return json.dumps(row, default=str, ensure_ascii=False)
