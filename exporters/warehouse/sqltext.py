"""One SQL: BigQuery Standard SQL in, engine SQL out. Parameters are rendered as typed literals.

Shared SQL files live in `sql/`; `load_sql(name)` reads one. Functions that have no portable form
(`TAGS_JSON`) are defined once per engine: a DuckDB macro, a BigQuery temporary function.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

import sqlglot
from sqlglot.errors import ParseError

from spendscope.errors import QueryError


def load_sql(name: str) -> str:
    """The text of `exporters/warehouse/sql/<name>.sql`."""
    return resources.files("exporters.warehouse").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")


def literal(value: Any) -> str:
    """A BigQuery literal for a Python value; lists become ARRAY literals. Strings are escaped, not trusted."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"non-finite parameter {value!r}")
        return repr(value)
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return f"TIMESTAMP '{aware.astimezone(dt.UTC).isoformat(sep=' ')}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, Sequence):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    raise TypeError(f"unsupported parameter type {type(value).__name__}")


def bind(sql: str, params: Mapping[str, Any] | None) -> str:
    """Replace `@name` parameters with literals, longest names first so @day does not eat @days."""
    if not params:
        return sql
    for name in sorted(params, key=len, reverse=True):
        sql = sql.replace(f"@{name}", literal(params[name]))
    return sql


@functools.lru_cache(maxsize=512)
def to_duckdb(sql: str) -> str:
    """Transpile BigQuery SQL to DuckDB SQL (cached: views and dashboard queries repeat)."""
    try:
        out = sqlglot.transpile(sql, read="bigquery", write="duckdb")
    except ParseError as exc:
        raise QueryError(f"cannot parse SQL as BigQuery Standard SQL: {exc}") from None
    return ";\n".join(out)


# Tags as the FOCUS JSON object; the first value of a duplicated key wins (resource label over project label).
DUCKDB_MACROS = (
    """CREATE OR REPLACE MACRO tags_json(l) AS (
        SELECT COALESCE(json_group_object(k, v), '{}')::VARCHAR FROM (
            SELECT e.key AS k, first(e.value ORDER BY i) AS v
            FROM (SELECT unnest(l) AS e, generate_subscripts(l, 1) AS i)
            WHERE e.key IS NOT NULL GROUP BY e.key ORDER BY min(i)))""",
)
BIGQUERY_PRELUDE = """CREATE TEMP FUNCTION TAGS_JSON(l ARRAY<STRUCT<key STRING, value STRING>>) AS ((
  SELECT TO_JSON_STRING(JSON_OBJECT(ARRAY_AGG(k ORDER BY i), ARRAY_AGG(v ORDER BY i)))
  FROM (SELECT e.key AS k, ANY_VALUE(e.value HAVING MIN o) AS v, MIN(o) AS i
        FROM UNNEST(l) AS e WITH OFFSET o WHERE e.key IS NOT NULL GROUP BY e.key)
));
"""
