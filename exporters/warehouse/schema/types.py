"""Shared Arrow types: key/value label lists (GCP labels, Databricks custom_tags alike) and timestamps."""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")
KV = pa.struct([("key", pa.string()), ("value", pa.string())])
# Maps are stored as key/value lists so one SQL form, `(SELECT value FROM UNNEST(x) WHERE key = 'team')`,
# works on GCP labels and Databricks tags alike, in BigQuery (which has no MAP type) and in DuckDB.
KV_LIST = pa.list_(KV)

# Provenance columns present on every table.
PROVENANCE = [
    pa.field("_day", pa.date32(), nullable=False),
    pa.field("_source", pa.string()),
]


# The dictionaries Arrow's Parquet reader makes of string columns (`read_dictionary`): the only ones passed through.
TEXT_DICTIONARY = pa.dictionary(pa.int32(), pa.string())


def decoded(typ: pa.DataType) -> pa.DataType:
    """`typ` with every TEXT_DICTIONARY, nested ones too, replaced by text.

    A Parquet export's string leaves are read as such dictionaries (collectors/gcp_billing/parse_parquet.py) and
    written as they come (exporters/warehouse/partition_writer.py): a column whose `decoded` type is the table's
    holds the table's values and is passed through, not cast. Other dictionaries (int8 indices, as a pandas
    categorical stored in a file restores) are left as they are, so they are cast to text like any other type.
    """
    if typ == TEXT_DICTIONARY:
        return pa.string()
    if pa.types.is_struct(typ):
        fields = [typ.field(i) for i in range(typ.num_fields)]
        children = [decoded(f.type) for f in fields]
        if all(c == f.type for c, f in zip(children, fields, strict=True)):
            return typ
        return pa.struct([f.with_type(c) for f, c in zip(fields, children, strict=True)])
    if pa.types.is_list(typ):
        inner = decoded(typ.value_type)
        return typ if inner == typ.value_type else pa.list_(typ.value_field.with_type(inner))
    if pa.types.is_large_list(typ):
        inner = decoded(typ.value_type)
        return typ if inner == typ.value_type else pa.large_list(typ.value_field.with_type(inner))
    return typ


def has_dictionary(typ: pa.DataType) -> bool:
    """Whether `typ` is or holds a TEXT_DICTIONARY."""
    return decoded(typ) != typ
