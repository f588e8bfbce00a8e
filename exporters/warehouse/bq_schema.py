"""Arrow schemas as BigQuery schemas, and SQL that reshapes a foreign BigQuery table into one of ours.

Nested shapes are kept: an Arrow struct is a RECORD, a list of structs a REPEATED RECORD. `conform_columns`
is the SQL twin of `schema.conform`: given the columns a table really has (the GCP billing export, whose
members vary by export kind and age), it selects exactly our columns — absent ones as typed NULLs, NUMERIC
as FLOAT64, records rebuilt member by member when their members differ.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
from google.cloud.bigquery import SchemaField, Table

from spendscope.bq_names import quote_identifier, quoted_table

# Legacy type names the API may report, mapped to the standard SQL names we compare against.
_STANDARD = {
    "INTEGER": "INT64",
    "FLOAT": "FLOAT64",
    "BOOLEAN": "BOOL",
    "RECORD": "STRUCT",
}


def _standard(type_name: str) -> str:
    return _STANDARD.get(type_name.upper(), type_name.upper())


def _scalar_type(t: pa.DataType) -> str:
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "STRING"
    if pa.types.is_floating(t):
        return "FLOAT64"
    if pa.types.is_integer(t):
        return "INT64"
    if pa.types.is_boolean(t):
        return "BOOL"
    if pa.types.is_date(t):
        return "DATE"
    if pa.types.is_timestamp(t):
        return "TIMESTAMP" if t.tz else "DATETIME"
    if pa.types.is_binary(t):
        return "BYTES"
    if pa.types.is_decimal(t):
        return "NUMERIC"
    raise TypeError(f"no BigQuery type for Arrow type {t}")


def _element(t: pa.DataType) -> pa.DataType | None:
    """The element type of an Arrow list type, else None."""
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return t.value_type
    return None


def to_bq_field(field: pa.Field) -> SchemaField:
    """One Arrow field as a BigQuery SchemaField (lists become REPEATED; non-nullable becomes REQUIRED)."""
    t, mode = field.type, ("NULLABLE" if field.nullable else "REQUIRED")
    element = _element(t)
    if element is not None:
        t, mode = element, "REPEATED"
    if pa.types.is_struct(t):
        children = [to_bq_field(t.field(i)) for i in range(t.num_fields)]
        return SchemaField(field.name, "RECORD", mode=mode, fields=children)
    return SchemaField(field.name, _scalar_type(t), mode=mode)


def to_bq_schema(schema: pa.Schema) -> list[SchemaField]:
    """An Arrow schema as a BigQuery table schema."""
    return [to_bq_field(f) for f in schema]


def sql_type(t: pa.DataType) -> str:
    """The BigQuery SQL type spelling of an Arrow type (for typed NULLs)."""
    element = _element(t)
    if element is not None:
        return f"ARRAY<{sql_type(element)}>"
    if pa.types.is_struct(t):
        members = ", ".join(f"`{t.field(i).name}` {sql_type(t.field(i).type)}" for i in range(t.num_fields))
        return f"STRUCT<{members}>"
    return _scalar_type(t)


def column_definitions(schema: pa.Schema) -> str:
    """The column list of a CREATE TABLE for `schema` (DDL: the emulator's tables API mis-quotes members)."""
    return ", ".join(
        f"`{f.name}` {sql_type(f.type)}{'' if f.nullable or _element(f.type) is not None else ' NOT NULL'}"
        for f in schema
    )


def _same_shape(want: SchemaField, have: SchemaField) -> bool:
    """Whether `have` already has exactly `want`'s type and members (no rewrite needed)."""
    if _standard(want.field_type) != _standard(have.field_type):
        return False
    if (want.mode == "REPEATED") != (have.mode == "REPEATED"):
        return False
    if _standard(want.field_type) != "STRUCT":
        return True
    if [f.name.lower() for f in want.fields] != [f.name.lower() for f in have.fields]:
        return False
    return all(_same_shape(w, h) for w, h in zip(want.fields, have.fields, strict=True))


def _value(field: pa.Field, have: SchemaField | None, ref: str, depth: int) -> str:
    """An expression giving `ref` (a column of shape `have`) the shape of Arrow `field`."""
    if have is None:
        return f"CAST(NULL AS {sql_type(field.type)})"
    want = to_bq_field(field)
    if _same_shape(want, have):
        return ref
    element = _element(field.type)
    repeated = have.mode == "REPEATED"
    if element is not None:
        if not repeated:
            return f"CAST(NULL AS {sql_type(field.type)})"
        alias = f"_e{depth}"
        source = f"FROM UNNEST({ref}) AS {alias} WITH OFFSET _o{depth} ORDER BY _o{depth}"
        if pa.types.is_struct(element):
            return f"ARRAY(SELECT AS STRUCT {_struct_members(element, have, alias, depth + 1)} {source})"
        return f"ARRAY(SELECT CAST({alias} AS {sql_type(element)}) {source})"
    if repeated:
        return f"CAST(NULL AS {sql_type(field.type)})"
    if pa.types.is_struct(field.type):
        if _standard(have.field_type) != "STRUCT":
            return f"CAST(NULL AS {sql_type(field.type)})"
        # A NULL record stays NULL rather than becoming a record of NULLs.
        return f"IF({ref} IS NULL, NULL, STRUCT({_struct_members(field.type, have, ref, depth + 1)}))"
    if _standard(have.field_type) == "STRUCT":
        return f"CAST(NULL AS {sql_type(field.type)})"
    return f"CAST({ref} AS {sql_type(field.type)})"


def _struct_members(t: pa.StructType, have: SchemaField, ref: str, depth: int) -> str:
    by_name = {f.name.lower(): f for f in have.fields}
    parts = []
    for i in range(t.num_fields):
        member = t.field(i)
        found = by_name.get(member.name.lower())
        inner = f"{ref}.`{found.name}`" if found is not None else ""
        parts.append(f"{_value(member, found, inner, depth)} AS `{member.name}`")
    return ", ".join(parts)


def conform_columns(schema: pa.Schema, have: Sequence[SchemaField], skip: Sequence[str] = ()) -> list[str]:
    """SELECT-list items giving a table with columns `have` exactly `schema`'s columns (but `skip`)."""
    by_name = {f.name.lower(): f for f in have}
    items = []
    for field in schema:
        if field.name in skip:
            continue
        found = by_name.get(field.name.lower())
        ref = f"`{found.name}`" if found is not None else ""
        items.append(f"{_value(field, found, ref, 0)} AS `{field.name}`")
    return items


def missing_columns(required: Sequence[str], have: Sequence[SchemaField]) -> list[str]:
    """Which of `required` (top-level names) `have` lacks."""
    names = {f.name.lower() for f in have}
    return [r for r in required if r.lower() not in names]


def partition_day(table: Table) -> str:
    """The day-partition expression of a billing export table, read from its metadata (no config needed).

    The Cloud Billing export is ingestion-time partitioned: `DATE(_PARTITIONTIME)`. A copy partitioned on
    a column (the reseller export is partitioned by `export_time`) uses that column; an unpartitioned one
    falls back to `DATE(export_time)`. Each keeps the property the incremental pull relies on: rows only
    ever arrive in partitions whose `max(export_time)` then moves.
    """
    tp = table.time_partitioning
    if tp is not None and tp.field is None:
        return "DATE(_PARTITIONTIME)"
    column = tp.field if tp is not None else "export_time"
    kinds = {f.name: _standard(f.field_type) for f in table.schema}
    quoted = quote_identifier(column)  # a name from the table's metadata
    return quoted if kinds.get(column) == "DATE" else f"DATE({quoted})"


def export_select(table: Table, schema: pa.Schema, source: str) -> str:
    """SELECT over a billing export table giving our `gcp_billing_export` rows, `_day` and `_source` set."""
    ref = quoted_table(table.project, table.dataset_id, table.table_id)
    items = conform_columns(schema, table.schema, skip=("_day", "_source"))
    literal_source = "'" + source.replace("\\", "\\\\").replace("'", "\\'") + "'"
    items += [f"{partition_day(table)} AS `_day`", f"{literal_source} AS `_source`"]
    return "SELECT\n  " + ",\n  ".join(items) + f"\nFROM {ref}"
