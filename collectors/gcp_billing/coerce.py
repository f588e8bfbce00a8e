"""Per-value conversion of decoded JSON/CSV values to the canonical Arrow types (the slow, exact path).

Used for rows the vectorized path cannot take, so each failure names the field and the value.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from collectors.gcp_billing.columns import PARSED_SCHEMA, canonical_name, struct_child


class CoerceError(ValueError):
    """A value that does not fit its column; the message names the column path."""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_timestamp(value: Any) -> dt.datetime:
    """A UTC datetime from BigQuery's text forms ('… UTC', ISO with Z or offset, naive = UTC) or epoch."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(float(value), dt.UTC)
    if not isinstance(value, str):
        raise ValueError(f"not a timestamp: {_short(value)}")
    text = value.strip()
    if text.upper().endswith("UTC"):
        text = text[:-3].rstrip() + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        try:
            # The BigQuery REST API writes TIMESTAMP as epoch seconds in a string ("1.7637E9").
            return dt.datetime.fromtimestamp(float(text), dt.UTC)
        except (ValueError, OverflowError):
            raise ValueError(f"not a timestamp: {_short(value)}") from None
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


def parse_float(value: Any) -> float:
    """A float from a JSON number or a numeric string (BigQuery writes NUMERIC as a string)."""
    if isinstance(value, bool):
        raise ValueError(f"not a number: {_short(value)}")
    if isinstance(value, int | float | decimal.Decimal):
        return float(value)
    # float() also takes "1_000"; no export writes that, so it is a sign of a wrong column.
    if isinstance(value, str) and "_" not in value:
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise ValueError(f"not a number: {_short(value)}")


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"not a boolean: {_short(value)}")


def _parse_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        # Integral numbers (a project number written as a JSON number) must not gain a ".0".
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    raise ValueError(f"not a string: {_short(value)}")


def coerce(value: Any, typ: pa.DataType, path: str) -> Any:
    """`value` as a Python value of Arrow type `typ`; None and '' are null. CoerceError names `path`."""
    if value is None or (isinstance(value, str) and value == "" and not pa.types.is_string(typ)):
        return None
    try:
        if pa.types.is_struct(typ):
            return _coerce_struct(value, typ, path)
        if pa.types.is_list(typ):
            if not isinstance(value, list):
                raise ValueError(f"not a list: {_short(value)}")
            return [coerce(v, typ.value_type, f"{path}[{i}]") for i, v in enumerate(value)]
        if pa.types.is_string(typ):
            return _parse_string(value)
        if pa.types.is_floating(typ):
            return parse_float(value)
        if pa.types.is_timestamp(typ):
            return parse_timestamp(value)
        if pa.types.is_date(typ):
            is_day = isinstance(value, dt.date) and not isinstance(value, dt.datetime)
            return value if is_day else parse_timestamp(value).date()
        if pa.types.is_boolean(typ):
            return _parse_bool(value)
    except CoerceError:
        raise
    except (ValueError, OverflowError, OSError) as exc:
        raise CoerceError(f"{path}: {exc}") from None
    raise CoerceError(f"{path}: unsupported type {typ}")


def _coerce_struct(value: Any, typ: pa.StructType, path: str) -> dict[str, Any]:
    if isinstance(value, tuple) and len(value) == 2 and typ.num_fields == 2:
        value = dict(zip(typ.names, value, strict=True))  # a map entry (key, value) from a MAP column
    if not isinstance(value, Mapping):
        raise ValueError(f"not an object: {_short(value)}")
    out: dict[str, Any] = {}
    for key, v in value.items():
        child = struct_child(typ, str(key))
        if child is not None and child.name not in out:
            out[child.name] = coerce(v, child.type, f"{path}.{child.name}")
    return out


def coerce_record(obj: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """A decoded row as canonical column → value, and the first reason it cannot be taken (or None).

    Top-level keys match case-insensitively; unknown keys are ignored. A failing field is left out.
    """
    out: dict[str, Any] = {}
    reason: str | None = None
    for key, value in obj.items():
        canon = canonical_name(str(key))
        if canon is None or canon in out:
            continue
        try:
            out[canon] = coerce(value, PARSED_SCHEMA.field(canon).type, canon)
        except CoerceError as exc:
            reason = reason or str(exc)
    return out, reason
