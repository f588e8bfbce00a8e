"""Pure value converters for FOCUS columns: Arrow array in, (typed array, [(row, bad value)]) out.

Each converter is vectorized over the whole array; when Arrow rejects a batch, only that batch is
redone value by value to find the culprits, so a single bad cell costs one slow batch, not a slow file.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from exporters.warehouse.schema.types import TS

Errors = list[tuple[int, Any]]

# Plain decimal text: what FOCUS CSVs hold. Rejects "nan", "inf" and thousands separators on purpose.
_DECIMAL = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
_ZONE = r"(Z|[+-]\d{2}(:?\d{2})?)$"


def _strings(arr: pa.Array) -> pa.Array:
    """`arr` as trimmed UTF-8 text with "", "null" and "NULL" turned into nulls."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not pa.types.is_string(arr.type):
        arr = pc.cast(arr, pa.string())
    s = pc.utf8_trim_whitespace(arr)
    nullish = pc.or_kleene(pc.equal(s, ""), pc.equal(pc.utf8_lower(s), "null"))
    return pc.if_else(pc.fill_null(nullish, False), pa.scalar(None, pa.string()), s)


def _cast_each(s: pa.Array, typ: pa.DataType) -> tuple[pa.Array, Errors]:
    """Cast text to `typ`; on failure, redo value by value and null out (and report) the bad ones."""
    try:
        return pc.cast(s, typ), []
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    values: list[Any] = []
    errors: Errors = []
    for i, text in enumerate(s.to_pylist()):
        try:
            values.append(None if text is None else pc.cast(pa.array([text]), typ)[0].as_py())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            values.append(None)
            errors.append((i, text))
    return pa.array(values, typ), errors


def _indices(mask: pa.Array) -> list[int]:
    mask = pc.fill_null(mask, False)
    if not pc.any(mask).as_py():
        return []
    return [int(i) for i in pc.indices_nonzero(mask).to_pylist()]


def parse_decimals(arr: pa.Array) -> tuple[pa.Array, Errors]:
    """FOCUS Decimal → float64 (money as upstream gives it, DESIGN §4); numbers and decimals cast directly."""
    t = arr.type
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t) or pa.types.is_null(t):
        return pc.cast(arr, pa.float64()), []
    s = _strings(arr)
    ok = pc.fill_null(pc.match_substring_regex(s, _DECIMAL), False)
    bad = pc.and_(pc.is_valid(s), pc.invert(ok))
    errors: Errors = [(i, s[i].as_py()) for i in _indices(bad)]
    values, cast_errors = _cast_each(pc.if_else(ok, s, pa.scalar(None, pa.string())), pa.float64())
    return values, errors + cast_errors


def parse_timestamps(arr: pa.Array) -> tuple[pa.Array, Errors]:
    """FOCUS Date/Time → UTC timestamps; text without a zone, and naive Parquet timestamps, are UTC."""
    t = arr.type
    if pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_null(t):
        # Naive timestamps cast to a UTC type keep their value, i.e. they are read as UTC.
        return pc.cast(arr, TS, safe=False), []
    given = _strings(arr)
    s = pc.replace_substring_regex(given, r"(?i)\s*UTC$", "Z")  # BigQuery CSV: 2025-01-01 08:00:00 UTC
    s = pc.replace_substring_regex(s, r"^(\d{4}-\d{2}-\d{2})$", r"\1T00:00:00")
    s = pc.replace_substring_regex(s, r"^(\d{4}-\d{2}-\d{2})[ tT]", r"\1T")
    s = pc.replace_substring_regex(s, r"z$", "Z")
    # Arrow parses at most microseconds; Azure writes 7 fractional digits.
    s = pc.replace_substring_regex(s, r"(\.\d{6})\d+", r"\1")
    zoned = pc.fill_null(pc.match_substring_regex(s, _ZONE), True)
    s = pc.if_else(zoned, s, pc.binary_join_element_wise(s, "Z", ""))
    values, errors = _cast_each(s, TS)
    return values, [(i, given[i].as_py()) for i, _ in errors]  # report the value as written


def parse_tags(arr: pa.Array) -> tuple[pa.Array, Errors]:
    """Tags → canonical JSON object text with string values (nested values stringified); null stays null."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), pa.string()), []
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        # Parquet maps, key/value lists and structs are not hashable by Arrow: convert row by row.
        return _map_values(arr.to_pylist())
    # Tags repeat a lot: convert each distinct text once and spread the result back.
    encoded = pc.dictionary_encode(pc.cast(arr, pa.string()))
    texts, dict_errors = _map_values(encoded.dictionary.to_pylist())
    values = pc.take(texts, encoded.indices)
    if not dict_errors:
        return values, []
    bad_codes = pa.array([i for i, _ in dict_errors], encoded.indices.type)
    errors = [(i, arr[i].as_py()) for i in _indices(pc.is_in(encoded.indices, value_set=bad_codes))]
    return values, errors


def _map_values(values: list[Any]) -> tuple[pa.Array, Errors]:
    out: list[str | None] = []
    errors: Errors = []
    for i, value in enumerate(values):
        try:
            out.append(tags_json(value))
        except ValueError:
            out.append(None)
            errors.append((i, value))
    return pa.array(out, pa.string()), errors


def tags_json(value: Any) -> str | None:
    """One Tags value (JSON text, dict or key/value pairs) as compact JSON; ValueError if not an object."""
    obj: Any = value
    if isinstance(value, str):
        text = value.strip()
        if not text or text.lower() == "null":
            return None
        try:
            obj = json.loads(text)
        except json.JSONDecodeError:
            # Azure's older exports drop the outer braces: "team": "ml","env": "prod"
            obj = json.loads("{" + text + "}")
        if isinstance(obj, str) and obj.strip().startswith("{"):
            obj = json.loads(obj)  # double-encoded JSON text
    elif isinstance(value, list):
        obj = {}
        for item in value:
            k, v = (item.get("key"), item.get("value")) if isinstance(item, dict) else item
            obj.setdefault(k, v)  # first value of a duplicated key wins, as in tags_json() in SQL
    if obj is None:
        return None
    if not isinstance(obj, dict):
        raise ValueError("Tags must be a JSON object")
    return json.dumps({str(k): _tag_value(v) for k, v in obj.items()}, separators=(",", ":"), ensure_ascii=False)


def _tag_value(v: Any) -> str | None:
    if v is None or isinstance(v, str):
        return v
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False, default=str)


def to_json_text(arr: pa.Array) -> pa.Array:
    """A FOCUS JSON column (SkuPriceDetails) as JSON text, whatever Parquet type it came in."""
    if pa.types.is_nested(arr.type):
        return pa.array(
            [None if v is None else json.dumps(v, default=str, separators=(",", ":")) for v in arr.to_pylist()],
            pa.string(),
        )
    return _strings(arr)


def to_text(arr: pa.Array) -> pa.Array:
    """A FOCUS String column: text as given, "" as null (CSV spells null as an empty field)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not pa.types.is_string(arr.type):
        arr = pc.cast(arr, pa.string())
    return pc.if_else(pc.fill_null(pc.equal(arr, ""), False), pa.scalar(None, pa.string()), arr)
