"""Pure cell parsers for Databricks exports: timestamps, numbers, MAP/STRUCT cells in their usual text forms.

One exported table reaches us in many spellings: the Statement API gives strings, a notebook's CSV
download gives JSON text, pandas writes Python reprs, Spark's `CAST(map AS STRING)` gives `{k -> v}`,
Parquet gives native values (maps as lists of pairs). Every parser accepts them all and raises
`CellError` with a reason for anything else, so the caller can quarantine the row.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from collectors.common.pyvalues import FIRST_TIME, LAST_TIME

UTC = dt.UTC
_NULLS = frozenset({"", "null", "none", "nan", "\\n"})
# A top-level ", " followed by "key -> " starts the next entry of a Spark map string.
_SPARK_ENTRY = re.compile(r",\s*(?=[^,]*?\s->\s)")


class CellError(ValueError):
    """A cell that cannot be read as its column's type; the message is the quarantine reason."""


def is_null(v: Any) -> bool:
    """None, NaN, or a textual null ('', 'null', 'None')."""
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, str) and v.strip().lower() in _NULLS


def text(v: Any) -> str | None:
    """A string cell, or None; numbers (workspace ids read as bigint) become their decimal text."""
    if is_null(v):
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def timestamp(v: Any, name: str) -> dt.datetime | None:
    """An aware UTC datetime from a datetime, a date, ISO text ('…Z', '+00:00', ' UTC') or epoch seconds."""
    if is_null(v):
        return None
    try:
        out = _timestamp(v)
    except (ValueError, OverflowError, OSError):
        # OverflowError/OSError: epoch seconds or a UTC offset past year 1..9999 (1e20, '0001-01-01T00:00+05:00').
        raise CellError(f"{name}: not a timestamp: {str(v).strip()[:40]!r}") from None
    if not FIRST_TIME <= out <= LAST_TIME:
        raise CellError(f"{name}: out of range (years 1 to 9999): {out.isoformat()}")
    return out


def _timestamp(v: Any) -> dt.datetime:
    if isinstance(v, dt.datetime):
        return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)
    if isinstance(v, dt.date):
        return dt.datetime(v.year, v.month, v.day, tzinfo=UTC)
    if isinstance(v, int | float):
        return dt.datetime.fromtimestamp(float(v), UTC)
    s = str(v).strip()
    if s.endswith(" UTC"):
        s = s[:-4]
    parsed = dt.datetime.fromisoformat(s)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def date(v: Any, name: str) -> dt.date | None:
    """A date from a date, a datetime (its UTC date) or 'YYYY-MM-DD[...]' text."""
    if is_null(v):
        return None
    if isinstance(v, dt.datetime):
        return (v.astimezone(UTC) if v.tzinfo else v).date()
    if isinstance(v, dt.date):
        return v
    s = str(v).strip()
    try:
        return dt.date.fromisoformat(s[:10])
    except ValueError:
        raise CellError(f"{name}: not a date: {s[:40]!r}") from None


def number(v: Any, name: str) -> float | None:
    """A finite float from a number, a Decimal or decimal text ('259.2958', '1e-3')."""
    if is_null(v):
        return None
    if isinstance(v, bool):
        raise CellError(f"{name}: not a number: {v!r}")
    try:
        out = float(Decimal(str(v).strip())) if not isinstance(v, int | float) else float(v)
    except (InvalidOperation, ValueError, OverflowError):  # OverflowError: an integer past the float range
        raise CellError(f"{name}: not a number: {str(v)[:40]!r}") from None
    if not math.isfinite(out):
        raise CellError(f"{name}: not a finite number: {v!r}")
    return out


def boolean(v: Any, name: str) -> bool | None:
    """True/False from a bool or 'true'/'false'/'1'/'0' text."""
    if is_null(v):
        return None
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in ("true", "1", "t", "yes"):
        return True
    if s in ("false", "0", "f", "no"):
        return False
    raise CellError(f"{name}: not a boolean: {s[:20]!r}")


def mapping(v: Any, name: str) -> dict[str, Any] | None:
    """A MAP or STRUCT cell as a dict: a dict, pairs, JSON text, a Python repr or Spark's `{k -> v}`."""
    if is_null(v):
        return None
    if isinstance(v, Mapping):
        return {str(k): val for k, val in v.items()}
    if isinstance(v, list | tuple):
        return _pairs(v, name)
    s = str(v).strip()
    if s.startswith("{"):
        for loader in (json.loads, ast.literal_eval):
            try:
                out = loader(s)
            except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):  # TypeError: {[1]: 2}
                continue
            if isinstance(out, dict):
                return {str(k): val for k, val in out.items()}
        if " -> " in s or s == "{}":
            return _spark_map(s)
    elif s.startswith("["):
        try:
            return _pairs(json.loads(s), name)
        except (ValueError, RecursionError):  # RecursionError: nesting past the interpreter's limit
            pass
    raise CellError(f"{name}: cannot read as a map or struct: {s[:60]!r}")


def _pairs(items: Any, name: str) -> dict[str, Any]:
    """[(k, v)] as Parquet/Arrow gives a MAP, or [{"key": k, "value": v}] as our KV lists store it."""
    out: dict[str, Any] = {}
    for item in items:
        if isinstance(item, Mapping) and "key" in item:
            out[str(item["key"])] = item.get("value")
        elif isinstance(item, list | tuple) and len(item) == 2:
            out[str(item[0])] = item[1]
        else:
            raise CellError(f"{name}: not a key/value pair: {str(item)[:40]!r}")
    return out


def _spark_map(s: str) -> dict[str, Any]:
    inner = s[1:-1].strip() if s.endswith("}") else s[1:].strip()
    out: dict[str, Any] = {}
    if not inner:
        return out
    for entry in _SPARK_ENTRY.split(inner):
        key, sep, val = entry.partition(" -> ")
        if not sep:
            raise CellError(f"map entry without ' -> ': {entry[:40]!r}")
        out[key.strip()] = None if val.strip() == "null" else val.strip()
    return out


def kv_list(m: Mapping[str, Any] | None) -> list[dict[str, str | None]] | None:
    """A dict as the stored key/value list, upstream order kept; values as text (None stays null)."""
    if m is None:
        return None
    return [{"key": k, "value": None if v is None else _scalar_text(v)} for k, v in m.items()]


def _scalar_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict | list):
        return json.dumps(v, separators=(",", ":"), sort_keys=True)
    return str(v)


def pick_text(m: Mapping[str, Any] | None, fields: tuple[str, ...]) -> dict[str, str | None] | None:
    """The known members of a struct as text; unknown members are dropped (the struct is open-ended)."""
    if m is None:
        return None
    return {f: None if is_null(m.get(f)) else _scalar_text(m.get(f)) for f in fields}
