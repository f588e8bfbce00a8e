"""Pure value converters for FOCUS columns: Arrow array in, (typed array, [(row, bad value)]) out.

Each converter is vectorized over the whole array; when Arrow rejects a batch, only that batch is
redone value by value to find the culprits, so a single bad cell costs one slow batch, not a slow file.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from collectors.common.pyvalues import FIRST_TIME, LAST_TIME, UNREADABLE, py_values
from exporters.warehouse.schema.types import TS

Errors = list[tuple[int, Any]]

# Plain decimal text: what FOCUS CSVs hold. Rejects "nan", "inf" and thousands separators on purpose.
_DECIMAL = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
_ZONE = r"(Z|[+-]\d{2}(:?\d{2})?)$"
_FIRST, _LAST = pa.scalar(FIRST_TIME, TS), pa.scalar(LAST_TIME, TS)


def _text(arr: pa.Array) -> tuple[pa.Array, Errors]:
    """`arr` as UTF-8 text; values with no text form (a struct, a list, bytes not UTF-8) null and reported.

    A Parquet column of the wrong type must quarantine its rows, not stop the file with a traceback.
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_string(arr.type):
        return arr, []
    try:
        return pc.cast(arr, pa.string()), []
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    values: list[str | None] = []
    errors: Errors = []
    for i, v in enumerate(py_values(arr)):
        try:
            values.append(v.decode("utf-8") if isinstance(v, bytes) else None)
        except UnicodeDecodeError:
            values.append(None)
        if values[-1] is None and v is not None:
            errors.append((i, v))
    return pa.array(values, pa.string()), errors


def _strings(arr: pa.Array) -> tuple[pa.Array, Errors]:
    """`arr` as trimmed UTF-8 text with "", "null" and "NULL" turned into nulls; values with no text form reported."""
    arr, errors = _text(arr)
    s = pc.utf8_trim_whitespace(arr)
    nullish = pc.or_kleene(pc.equal(s, ""), pc.equal(pc.utf8_lower(s), "null"))
    return pc.if_else(pc.fill_null(nullish, False), pa.scalar(None, pa.string()), s), errors


def _cast_each(s: pa.Array, typ: pa.DataType) -> tuple[pa.Array, Errors]:
    """Cast text to `typ`; on failure, redo value by value and null out (and report) the bad ones."""
    try:
        return pc.cast(s, typ), []
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    # Values stay Arrow values: a time Arrow parses but Python cannot hold ('0001-01-01T00:00+05:00' is year 0
    # in UTC) failed in as_py(); the caller checks the range.
    values: list[pa.Array] = []
    errors: Errors = []
    for i, text in enumerate(s.to_pylist()):
        try:
            values.append(pc.cast(pa.array([text], pa.string()), typ))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            values.append(pa.nulls(1, typ))
            errors.append((i, text))
    return (pa.concat_arrays(values) if values else pa.array([], typ)), errors


def _indices(mask: pa.Array) -> list[int]:
    mask = pc.fill_null(mask, False)
    if not pc.any(mask).as_py():
        return []
    return [int(i) for i in pc.indices_nonzero(mask).to_pylist()]


def parse_decimals(arr: pa.Array) -> tuple[pa.Array, Errors]:
    """FOCUS Decimal → float64 (money as upstream gives it, DESIGN §4); numbers and decimals cast directly."""
    t = arr.type
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t) or pa.types.is_null(t):
        # Unchecked, as float() is: a safe cast refused integers past 2**53 with an ArrowInvalid traceback.
        return pc.cast(arr, pa.float64(), safe=False), []
    s, errors = _strings(arr)
    ok = pc.fill_null(pc.match_substring_regex(s, _DECIMAL), False)
    bad = pc.and_(pc.is_valid(s), pc.invert(ok))
    errors += [(i, s[i].as_py()) for i in _indices(bad)]
    values, cast_errors = _cast_each(pc.if_else(ok, s, pa.scalar(None, pa.string())), pa.float64())
    return values, errors + cast_errors


def parse_timestamps(arr: pa.Array) -> tuple[pa.Array, Errors]:
    """FOCUS Date/Time → UTC timestamps; text without a zone, and naive Parquet timestamps, are UTC."""
    t = arr.type
    if pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_null(t):
        # Naive timestamps cast to a UTC type keep their value, i.e. they are read as UTC. ns → us only drops
        # sub-microseconds; s and ms are cast safely, so a value past the microsecond range fails, not wraps.
        safe = not (pa.types.is_timestamp(t) and t.unit == "ns")
        try:
            return _in_range(pc.cast(arr, TS, safe=safe), arr, [])
        except pa.ArrowInvalid:
            cast = [_cast_one(arr.slice(i, 1), safe) for i in range(len(arr))]
            values = pa.concat_arrays([c if c is not None else pa.nulls(1, TS) for c in cast])
            return _in_range(values, arr, [(i, _shown(arr, i)) for i, c in enumerate(cast) if c is None])
    given, text_errors = _strings(arr)
    s = pc.replace_substring_regex(given, r"(?i)\s*UTC$", "Z")  # BigQuery CSV: 2025-01-01 08:00:00 UTC
    s = pc.replace_substring_regex(s, r"^(\d{4}-\d{2}-\d{2})$", r"\1T00:00:00")
    s = pc.replace_substring_regex(s, r"^(\d{4}-\d{2}-\d{2})[ tT]", r"\1T")
    s = pc.replace_substring_regex(s, r"z$", "Z")
    # Arrow parses at most microseconds; Azure writes 7 fractional digits.
    s = pc.replace_substring_regex(s, r"(\.\d{6})\d+", r"\1")
    zoned = pc.fill_null(pc.match_substring_regex(s, _ZONE), True)
    s = pc.if_else(zoned, s, pc.binary_join_element_wise(s, "Z", ""))
    values, errors = _cast_each(s, TS)
    return _in_range(values, given, text_errors + [(i, given[i].as_py()) for i, _ in errors])  # value as written


def _cast_one(value: pa.Array, safe: bool) -> pa.Array | None:
    try:
        return pc.cast(value, TS, safe=safe)
    except pa.ArrowInvalid:
        return None


def _shown(arr: pa.Array, i: int) -> Any:
    value = py_values(arr.slice(i, 1))[0]
    return f"{value} ({arr.type})" if value is UNREADABLE else value


def _in_range(values: pa.Array, given: pa.Array, errors: Errors) -> tuple[pa.Array, Errors]:
    """`values` with times Python cannot hold nulled out and reported (as given)."""
    outside = pc.or_(pc.less(values, _FIRST), pc.greater(values, _LAST))
    bad = _indices(outside)
    if not bad:
        return values, errors
    return pc.if_else(pc.fill_null(outside, False), pa.scalar(None, TS), values), errors + [
        (i, _shown(given, i)) for i in bad
    ]


def parse_tags(arr: pa.Array) -> tuple[pa.Array, Errors]:
    """Tags → canonical JSON object text with string values (nested values stringified); null stays null."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), pa.string()), []
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        # Parquet maps, key/value lists and structs are not hashable by Arrow: convert row by row.
        return _map_values(py_values(arr))
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
        except (ValueError, TypeError, RecursionError):  # not an object, pairs that are not pairs, deep nesting
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


def to_json_text(arr: pa.Array) -> tuple[pa.Array, Errors]:
    """A FOCUS JSON column (SkuPriceDetails) as JSON text, whatever Parquet type it came in."""
    if pa.types.is_nested(arr.type):
        values = py_values(arr)
        errors: Errors = [(i, v) for i, v in enumerate(values) if v is UNREADABLE]
        texts = [None if v is None or v is UNREADABLE else json.dumps(v, default=str, separators=(",", ":"))
                 for v in values]  # fmt: skip
        return pa.array(texts, pa.string()), errors
    return _strings(arr)


def to_text(arr: pa.Array) -> tuple[pa.Array, Errors]:
    """A FOCUS String column: text as given, "" as null (CSV spells null as an empty field)."""
    arr, errors = _text(arr)
    return pc.if_else(pc.fill_null(pc.equal(arr, ""), False), pa.scalar(None, pa.string()), arr), errors
