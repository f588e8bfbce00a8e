"""Pure: Statement Execution API JSON_ARRAY results → typed records → Arrow rows of our tables.

Every JSON_ARRAY value is a string (or null); the manifest's `type_name` says how to read it back.
MAP, STRUCT and ARRAY columns (and our `to_json(...)` columns) arrive as JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import pyarrow as pa

from collectors.base import Quarantined
from collectors.databricks import cells, rows
from collectors.databricks.cells import CellError

_INTS = frozenset({"LONG", "INT", "SHORT", "BYTE"})
_FLOATS = frozenset({"DOUBLE", "FLOAT", "DECIMAL"})
_JSON = frozenset({"MAP", "STRUCT", "ARRAY"})


def convert(value: str | None, type_name: str, name: str) -> Any:
    """One JSON_ARRAY value as a Python value of its column's type."""
    if value is None:
        return None
    if type_name in _INTS:
        try:
            return int(value)
        except ValueError:
            raise CellError(f"{name}: not an integer: {value[:40]!r}") from None
    if type_name in _FLOATS:
        return cells.number(value, name)
    if type_name == "BOOLEAN":
        return cells.boolean(value, name)
    if type_name == "DATE":
        return cells.date(value, name)
    if type_name in ("TIMESTAMP", "TIMESTAMP_NTZ"):
        return cells.timestamp(value, name)
    if type_name in _JSON:
        try:
            return json.loads(value)
        except ValueError:
            raise CellError(f"{name}: {type_name} value is not JSON: {value[:40]!r}") from None
    return value  # STRING, CHAR, BINARY (base64), INTERVAL: kept as text


def records(
    columns: Sequence[tuple[str, str]], data: Iterable[Sequence[str | None]]
) -> Iterator[tuple[int, dict[str, Any] | CellError, Sequence[str | None]]]:
    """(row number from 1, record or the error reading it, the raw values) for each result row."""
    for n, values in enumerate(data, start=1):
        try:
            rec = {name: convert(v, typ, name) for (name, typ), v in zip(columns, values, strict=False)}
        except CellError as exc:
            yield n, exc, values
            continue
        yield n, rec, values


def result_table(
    kind: str,
    columns: Sequence[tuple[str, str]],
    data: Iterable[Sequence[str | None]],
    source: str,
    where: str,
) -> tuple[pa.Table, list[Quarantined]]:
    """Rows of `kind` ('usage' | 'list_prices') from one statement's result; bad rows quarantined."""
    table = "databricks_usage" if kind == "usage" else "databricks_list_prices"
    good: list[tuple[int | None, dict[str, Any]]] = []
    bad: list[Quarantined] = []
    for n, rec, values in records(columns, data):
        if isinstance(rec, CellError):
            bad.append(Quarantined(table, where, n, str(rec), json.dumps(list(values))))
        else:
            good.append((n, rec))
    out, more = rows.build(kind, good, source, where)
    return out, bad + more
