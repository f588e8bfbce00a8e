"""One SQL: BigQuery Standard SQL in, engine SQL out. On DuckDB, parameters are rendered as typed literals.

Shared SQL files live in `sql/`; `load_sql(name)` reads one. Functions that have no portable form
(`TAGS_JSON`, …) are defined once per engine: a DuckDB macro here, a BigQuery function in bq_functions.py.

Parameters are data, never SQL: `bind` replaces each `@name` token of the SQL text in ONE pass (so a value
that itself contains `@other` is never re-scanned), skips string literals, quoted identifiers and comments,
and renders every value with `literal`, which escapes quotes and backslashes and spells control characters
as code points. The BigQuery engine sends typed query parameters instead (bq_params.py).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
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
        return _string_literal(value)
    if isinstance(value, Sequence):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    raise TypeError(f"unsupported parameter type {type(value).__name__}")


# Control characters: BigQuery's quoted strings may not hold newlines, sqlglot does not carry \x escapes into
# DuckDB, and DuckDB's parser stops at NUL; so they are spelled as code points (a DuckDB macro below).
_CONTROL = re.compile(r"([\x00-\x1f\x7f]+)")


def check_utf8(value: str) -> None:
    """QueryError unless `value` is UTF-8 text (a command-line argument may hold surrogate escapes)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise QueryError("a query parameter is not valid UTF-8 text") from None


def _string_literal(value: str) -> str:
    check_utf8(value)
    parts = []
    for i, piece in enumerate(_CONTROL.split(value)):
        if i % 2:
            parts.append("CODE_POINTS_TO_STRING([" + ", ".join(str(ord(c)) for c in piece) + "])")
        elif piece or len(value) == 0:
            parts.append("'" + piece.replace("\\", "\\\\").replace("'", "\\'") + "'")
    return parts[0] if len(parts) == 1 else "CONCAT(" + ", ".join(parts) + ")"


# What `bind` steps over (BigQuery lexical structure), or a parameter token. Strings: '…', "…" and their
# triple-quoted forms with backslash escapes (a r/b prefix is an ordinary letter before them); `quoted`
# identifiers; -- and # line comments, /* */ blocks; @@system variables.
_SKIP = (
    r"'''(?:\\.|[^\\])*?'''",
    r'"""(?:\\.|[^\\])*?"""',
    r"'(?:\\.|[^'\\\n])*'",
    r'"(?:\\.|[^"\\\n])*"',
    r"`(?:\\.|[^`\\])*`",
    r"--[^\n]*",
    r"#[^\n]*",
    r"/\*.*?\*/",
    r"@@\w+",
)
_TOKEN = re.compile("(?P<skip>" + "|".join(_SKIP) + r")|@(?P<name>[A-Za-z_]\w*)", re.DOTALL)


def bind(sql: str, params: Mapping[str, Any] | None) -> str:
    """Replace each `@name` parameter token with the literal of its value, in one pass over the SQL text.

    Tokens inside strings, quoted identifiers and comments are left alone, as is `@name` without a value.
    """
    if not params:
        return sql

    def one(m: re.Match[str]) -> str:
        name = m.group("name")
        return literal(params[name]) if name is not None and name in params else m.group(0)

    return _TOKEN.sub(one, sql)


def strip_comments(sql: str) -> str:
    """`sql` without its comments (a line comment keeps its newline); strings and quoted names untouched."""

    def one(m: re.Match[str]) -> str:
        text = m.group(0)
        return " " if text.startswith(("--", "#", "/*")) else text

    return _TOKEN.sub(one, sql)


def parameter_names(sql: str) -> set[str]:
    """The `@name` parameter tokens of `sql` (outside strings, quoted identifiers and comments)."""
    return {m.group("name") for m in _TOKEN.finditer(sql) if m.group("name") is not None}


# Texts up to this long are cached. A text carrying a long list parameter (the idle rule's hosts) is new at every
# evaluation, and 512 of them would hold megabytes for nothing.
_CACHED_CHARS = 8192


def to_duckdb(sql: str) -> str:
    """Transpile BigQuery SQL to DuckDB SQL (short texts cached: views and dashboard queries repeat)."""
    return _to_duckdb_cached(sql) if len(sql) <= _CACHED_CHARS else _transpile(sql)


@functools.lru_cache(maxsize=512)
def _to_duckdb_cached(sql: str) -> str:
    return _transpile(sql)


def _transpile(sql: str) -> str:
    try:
        out = sqlglot.transpile(sql, read="bigquery", write="duckdb")
    except ParseError as exc:
        raise QueryError(f"cannot parse SQL as BigQuery Standard SQL: {exc}") from None
    return ";\n".join(out)


# Functions over key/value lists and credits that BigQuery writes as correlated UNNEST subqueries. DuckDB
# decorrelates those into joins that hash every row's lists (tens of GB at 5M rows), so each engine gets
# its own definition under one name: vectorized list lambdas in DuckDB (below), persistent SQL functions
# in the BigQuery dataset (bq_functions.py); a test holds the two sets of names equal.
# LABEL_VALUE(l, k): the first value of key k. HAS_LABEL_PREFIX(l, p): any key starting with p.
# CREDITS_TOTAL(c): SUM(c.amount), 0 when none. CUD_CATEGORY(c): FOCUS CommitmentDiscountCategory.
# TAGS_JSON(l): the FOCUS Tags JSON object; the first value of a duplicated key wins.
DUCKDB_MACROS = (
    # Positions over the keys, not list_filter: filtering copies every matching struct (5% of a rollup).
    "CREATE OR REPLACE MACRO label_value(l, k) AS l[list_position(list_transform(l, x -> x.key), k)].value",
    "CREATE OR REPLACE MACRO has_label_prefix(l, p) AS "
    "COALESCE(list_bool_or(list_transform(l, x -> starts_with(x.key, p))), FALSE)",
    "CREATE OR REPLACE MACRO credits_total(c) AS COALESCE(list_sum(list_transform(c, x -> x.amount)), 0)",
    """CREATE OR REPLACE MACRO cud_category(c) AS CASE
        list_max(list_transform(list_filter(c, x -> x.type LIKE 'COMMITTED_USAGE_DISCOUNT%'), x -> x.type))
        WHEN 'COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE' THEN 'Spend' WHEN 'COMMITTED_USAGE_DISCOUNT' THEN 'Usage' END""",
    """CREATE OR REPLACE MACRO tags_json(l) AS COALESCE(to_json(map_from_entries(list_filter(l,
        (x, i) -> x.key IS NOT NULL AND list_position(list_transform(l, y -> y.key), x.key) = i))), '{}')::VARCHAR""",
)
# BigQuery built-ins that sqlglot passes through by name and DuckDB lacks (literal() spells control characters
# with CODE_POINTS_TO_STRING). Not in DUCKDB_MACROS: those mirror our BigQuery dataset functions one to one.
DUCKDB_SHIMS = (
    "CREATE OR REPLACE MACRO code_points_to_string(l) AS array_to_string(list_transform(l, x -> chr(x)), '')",
)
