"""Shared Arrow types (key/value label lists, GCP labels and Databricks custom_tags alike; timestamps) and type
rewrites: `map_leaves`, and `decoded` for the string dictionaries a Parquet export is read with."""

from __future__ import annotations

from collections.abc import Callable

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


def map_leaves(typ: pa.DataType, leaf: Callable[[pa.DataType], pa.DataType]) -> pa.DataType:
    """`typ` with `leaf` applied to every leaf type inside structs and lists (large lists too); `typ` itself, the
    same object, where nothing changed."""
    if pa.types.is_struct(typ):
        fields = [typ.field(i) for i in range(typ.num_fields)]
        children = [map_leaves(f.type, leaf) for f in fields]
        if all(c == f.type for c, f in zip(children, fields, strict=True)):
            return typ
        return pa.struct([f.with_type(c) for f, c in zip(fields, children, strict=True)])
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        inner = map_leaves(typ.value_type, leaf)
        if inner == typ.value_type:
            return typ
        make = pa.large_list if pa.types.is_large_list(typ) else pa.list_
        return make(typ.value_field.with_type(inner))
    return leaf(typ)


def decoded(typ: pa.DataType) -> pa.DataType:
    """`typ` with every TEXT_DICTIONARY, nested ones too, replaced by text.

    A Parquet export's string leaves are read as such dictionaries (collectors/gcp_billing/parse_parquet.py) and
    written as they come (exporters/warehouse/partition_writer.py): a column whose `decoded` type is the table's
    holds the table's values and is passed through, not cast. Other dictionaries (int8 indices, as a pandas
    categorical stored in a file restores) are left as they are, so they are cast to text like any other type.
    """
    return map_leaves(typ, lambda t: pa.string() if t == TEXT_DICTIONARY else t)


def has_dictionary(typ: pa.DataType) -> bool:
    """Whether `typ` is or holds a TEXT_DICTIONARY."""
    return decoded(typ) != typ
