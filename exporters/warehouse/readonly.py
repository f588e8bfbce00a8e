"""The raw-SQL door (`spendscope query`): a user's own SQL, held to ONE read-only query before an engine runs it.

Every other query is ours, with user values passed as parameters; this one is text a person typed. sqlglot
parses it as BigQuery Standard SQL: exactly one statement, and a query (SELECT, WITH … SELECT, set operations).
DML, DDL, COPY, ATTACH, EXPORT DATA, SET, INSTALL, CALL and scripts are refused with a QueryError. Each engine
then checks again with its own parser and takes away what it can (`Warehouse.read_only_query`): DuckDB runs
the query in a database of its own whose file access is limited to reading the lake snapshot's Parquet files;
BigQuery dry-runs it first and refuses anything its planner does not call a SELECT.
"""

from __future__ import annotations

import logging

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from spendscope.errors import QueryError

# Nodes that write or change state; none can appear in a parsed SELECT, but a parser's fallback may nest one.
_WRITES: tuple[type, ...] = (
    exp.DML, exp.DDL, exp.Command, exp.Copy, exp.Set, exp.Pragma, exp.Export, exp.Use, exp.Transaction, exp.Commit,
    exp.Rollback,
)  # fmt: skip


def check_read_only(sql: str) -> None:
    """QueryError unless `sql` is exactly one BigQuery query statement with nothing that writes in it."""
    # sqlglot warns on its logger when it falls back to a raw Command; the refusal below says it better.
    quiet = logging.getLogger("sqlglot")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        statements = [s for s in sqlglot.parse(sql, read="bigquery") if s is not None]
    except (ParseError, TokenError) as exc:
        raise QueryError(f"cannot parse SQL as BigQuery Standard SQL: {exc}") from None
    finally:
        quiet.setLevel(level)
    if len(statements) != 1:
        raise QueryError(f"spendscope query runs one SELECT statement; found {len(statements)} statements")
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        first = sql.split(None, 1)[0].upper() if sql.strip() else statement.key.upper()
        raise QueryError(f"spendscope query is read-only: {first} … is not a SELECT query")
    writes = next((n for n in statement.walk() if isinstance(n, _WRITES)), None)
    if writes is not None:
        raise QueryError(f"spendscope query is read-only: found {writes.key.upper()} inside the query")
