"""The per-engine SQL functions (DuckDB macros in sqltext.py) as persistent BigQuery UDFs in our dataset.

Not TEMP functions: those only live inside a multi-statement script, which cannot have a destination table
or a dry run, and the emulator drops them when a default dataset is set. So each is created once in the
dataset and every call is qualified. Arguments are concrete types (our schemas' label and credit lists),
not `ANY TYPE`: the emulator cannot parse templated arguments. TAGS_JSON is built with STRING_AGG because
the emulator cannot run `JSON_OBJECT(array, array)`; it gives the DuckDB macro's exact text (first-seen key
order, compact).
"""

from __future__ import annotations

import re

import sqlglot
import sqlglot.errors
from sqlglot import exp

from exporters.warehouse.bq_schema import sql_type
from exporters.warehouse.schema.gcp_billing import GCP_BILLING_EXPORT
from exporters.warehouse.schema.types import KV_LIST

_KV = sql_type(KV_LIST)
_CREDITS = sql_type(GCP_BILLING_EXPORT.field("credits").type)

# name → "(arguments) AS (body)"
FUNCTIONS: dict[str, str] = {
    "LABEL_VALUE": f"""(l {_KV}, k STRING) AS ((
  SELECT x.value FROM UNNEST(l) AS x WITH OFFSET AS o WHERE x.key = k ORDER BY o LIMIT 1))""",
    "HAS_LABEL_PREFIX": f"""(l {_KV}, p STRING) AS (
  EXISTS(SELECT 1 FROM UNNEST(l) AS x WHERE STARTS_WITH(x.key, p)))""",
    "CREDITS_TOTAL": f"""(c {_CREDITS}) AS (IFNULL((SELECT SUM(x.amount) FROM UNNEST(c) AS x), 0))""",
    "CUD_CATEGORY": f"""(c {_CREDITS}) AS ((
  SELECT CASE MAX(x.type) WHEN 'COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE' THEN 'Spend'
                          WHEN 'COMMITTED_USAGE_DISCOUNT' THEN 'Usage' END
  FROM UNNEST(c) AS x WHERE x.type LIKE 'COMMITTED_USAGE_DISCOUNT%'))""",
    "TAGS_JSON": f"""(l {_KV}) AS ((
  SELECT CONCAT('{{', IFNULL(STRING_AGG(CONCAT(TO_JSON_STRING(k), ':', IFNULL(TO_JSON_STRING(v), 'null')),
                                        ',' ORDER BY i), ''), '}}')
  FROM (SELECT e.key AS k, ANY_VALUE(e.value HAVING MIN o) AS v, MIN(o) AS i
        FROM UNNEST(l) AS e WITH OFFSET AS o WHERE e.key IS NOT NULL GROUP BY e.key)))""",
}

_CALL = re.compile(r"(?<![\w.`])(" + "|".join(FUNCTIONS) + r")\s*\(", re.IGNORECASE)


def create_statements(dataset_ref: str) -> list[str]:
    """`CREATE OR REPLACE FUNCTION` for each function, in `project.dataset`."""
    return [f"CREATE OR REPLACE FUNCTION `{dataset_ref}.{name}`{body}" for name, body in FUNCTIONS.items()]


def qualify_calls(sql: str, dataset_ref: str) -> str:
    """Point bare calls of our functions at `project.dataset` (a persistent UDF must be called qualified)."""
    return _CALL.sub(lambda m: f"`{dataset_ref}.{m.group(1).upper()}`(", sql)


# Emulator only (bqemulator 1.4). When one of its SQL rewrite rules fires in a statement (UPPER becomes a
# Python UDF; CONCAT and || get a CAST; REGEXP_EXTRACT a NULLIF; COUNTIF), it re-qualifies the whole
# statement with sqlglot against a catalog schema that lacks STRUCT and ARRAY columns, so `SELECT *` in a
# CTE loses them: "Referenced table sku not found", "Values list u does not have a column named
# custom_tags". Views are inlined, so a rule firing in any view breaks every query over `focus_costs`.
# So no rule may fire: UPPER and CONCAT go through SQL UDFs (the rule fires inside the function body),
# REGEXP_EXTRACT gets the NULLIF(…, '') the rule would add, COUNTIF(x) becomes the equal
# COUNT(IF(x, 1, NULL)). Never applied against real BigQuery.
EMULATOR_FUNCTIONS: dict[str, str] = {
    "EMU_UPPER": "(s STRING) AS (UPPER(s))",
    "EMU_CONCAT2": "(a STRING, b STRING) AS (CONCAT(a, b))",
}
_EMU_CALL = re.compile(r"\b(" + "|".join(EMULATOR_FUNCTIONS) + r")\(")


def emulator_statements(dataset_ref: str) -> list[str]:
    """`CREATE OR REPLACE FUNCTION` for the emulator work-around functions."""
    return [f"CREATE OR REPLACE FUNCTION `{dataset_ref}.{n}`{body}" for n, body in EMULATOR_FUNCTIONS.items()]


def _in_nullif_empty(node: exp.Expression) -> bool:
    parent = node.parent
    other = parent.expression if isinstance(parent, exp.Nullif) else None
    return isinstance(other, exp.Literal) and other.is_string and other.this == ""


def _emulator_node(node: exp.Expression) -> exp.Expression:
    # sqlglot's transform does not descend into a replacement, so its arguments are rewritten here.
    def inner(arg: exp.Expression) -> exp.Expression:
        return arg.copy().transform(_emulator_node)

    if isinstance(node, exp.Upper):
        return exp.Anonymous(this="EMU_UPPER", expressions=[inner(node.this)])
    if isinstance(node, exp.Concat | exp.DPipe):
        args = list(node.expressions) if isinstance(node, exp.Concat) else [node.this, node.expression]
        out = inner(args[0])
        for arg in args[1:]:
            out = exp.Anonymous(this="EMU_CONCAT2", expressions=[out, inner(arg)])
        return out
    if isinstance(node, exp.RegexpExtract) and not _in_nullif_empty(node):
        # The emulator's own rewrite of it, done here so that its rule does not fire.
        extract = node.copy()
        extract.set("this", inner(node.this))
        return exp.Nullif(this=extract, expression=exp.Literal.string(""))
    if isinstance(node, exp.CountIf):
        return exp.Count(this=exp.If(this=inner(node.this), true=exp.Literal.number(1), false=exp.Null()))
    return node


def emulator_rewrite(sql: str, dataset_ref: str) -> str:
    """Route UPPER, CONCAT/||, REGEXP_EXTRACT and COUNTIF around the emulator's rules (see above)."""
    try:
        tree = sqlglot.parse_one(sql, read="bigquery")
    except sqlglot.errors.ParseError:
        return sql  # let the emulator report it
    text = tree.transform(_emulator_node).sql(dialect="bigquery")
    return _EMU_CALL.sub(lambda m: f"`{dataset_ref}.{m.group(1)}`(", text)


def qualify_tables(sql: str, dataset_ref: str, names: set[str]) -> str:
    """Qualify `FROM name` / `JOIN name` for our tables and views: a stored view has no default dataset."""
    pattern = re.compile(r"\b(FROM|JOIN)(\s+)(" + "|".join(sorted(names)) + r")\b(?![.`\w])", re.IGNORECASE)
    return pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}`{dataset_ref}.{m.group(3)}`", sql)
