"""BigQuery query parameters: values travel as the job's typed `queryParameters`, never inside the SQL text.

Python → BigQuery: str STRING, bool BOOL, int INT64, float FLOAT64, datetime TIMESTAMP (naive = UTC), date
DATE, a list or tuple an ARRAY of its elements' type. Two values carry no data and are written into the text
instead, since a parameter needs a type and theirs would be a guess that breaks comparisons: None becomes
NULL and an empty list `[]`, both of which take the type of whatever they meet, as the literals always did.
Only parameters the SQL names are sent, and comments are dropped from the text: the emulator (bqemulator 1.4)
binds every `@name` it sees, a commented one included, and then counts one value too many. The emulator runs our
SQL through sqlglot, which reads `DATETIME(ts, @tz)` as a date plus a TIME unless the zone is a literal; so
against the emulator only, a parameter holding a time-zone name (the validated reporting zone) is inlined.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import zoneinfo
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from google.cloud import bigquery

from exporters.warehouse.sqltext import bind, check_utf8, parameter_names, strip_comments

Param = bigquery.ScalarQueryParameter | bigquery.ArrayQueryParameter


def _scalar_type(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"non-finite parameter {value!r}")
        return "FLOAT64"
    if isinstance(value, dt.datetime):
        return "TIMESTAMP"
    if isinstance(value, dt.date):
        return "DATE"
    if isinstance(value, str):
        check_utf8(value)
        return "STRING"
    raise TypeError(f"unsupported parameter type {type(value).__name__}")


def _value(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)  # as literal() reads a naive time
    return value


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def query_parameter(name: str, value: Any) -> Param:
    """The typed BigQuery parameter of one non-None value (a non-empty list is an ARRAY)."""
    if not _is_list(value):
        return bigquery.ScalarQueryParameter(name, _scalar_type(value), _value(value))
    types = {_scalar_type(v) for v in value if v is not None}
    if types == {"INT64", "FLOAT64"}:
        types = {"FLOAT64"}
    if len(types) != 1:
        raise TypeError(f"parameter {name}: a list needs elements of one type, not {sorted(types)}")
    return bigquery.ArrayQueryParameter(name, types.pop(), [_value(v) for v in value])


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def zone_names(params: Mapping[str, Any] | None) -> set[str]:
    """The parameters whose value is an IANA time-zone name (for the emulator, see the module docstring)."""
    return {k for k, v in (params or {}).items() if isinstance(v, str) and v in _zones()}


def with_parameters(
    sql: str, params: Mapping[str, Any] | None, inline_names: Collection[str] = ()
) -> tuple[str, list[Param]]:
    """`sql` with None, empty-list and `inline_names` parameters written as literals (sqltext.literal), and the
    typed query parameters of the rest that it names."""
    if not params:
        return sql, []
    inline = {k: v for k, v in params.items() if v is None or (_is_list(v) and not v) or k in inline_names}
    text = bind(strip_comments(sql), inline)
    named = parameter_names(text)
    return text, [query_parameter(k, v) for k, v in params.items() if k in named and k not in inline]
