"""Fuzz inputs in Parquet: a valid table with columns retyped, dropped, doubled, renamed, and damaged bytes."""

from __future__ import annotations

import decimal
import io
import itertools
import json
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import strategies as st

from tests.fuzz.payloads import CELLS, IDX, NAMES

# -- Parquet -------------------------------------------------------------------------------------------

_CYCLES: dict[str, tuple[pa.DataType, list[Any]]] = {
    "int": (pa.int64(), [2**63 - 1, -(2**63), 0, 7]),
    "float": (pa.float64(), [float("nan"), float("inf"), -float("inf"), 1e308, -0.0, 5e-324]),
    "bool": (pa.bool_(), [True, False, None]),
    "binary": (pa.binary(), [b"\xff\xfe", b"", b"\x00", b"1.5"]),
    "struct": (pa.struct([("a", pa.int64())]), [{"a": 1}, None]),
    "list": (pa.list_(pa.int64()), [[1, 2], [], None]),
    "map": (pa.map_(pa.string(), pa.string()), [[("k", "v")], []]),
    "ts_far": (pa.timestamp("ms"), [2**62, -(2**62), 2**40 * 1000, 0]),  # far outside Python's datetime range
    "ts_ns_zone": (pa.timestamp("ns", tz="Asia/Kolkata"), [0, 1_700_000_000_000_000_000]),
    "date_far": (pa.date32(), [2**30, -(2**30), 0]),
    "decimal": (pa.decimal128(38, 9), [decimal.Decimal("1e20"), decimal.Decimal("-0.000000001"), None]),
}
RETYPES = [*_CYCLES, "string", "large_string", "dictionary", "null"]
PARQUET_OPS = st.one_of(
    st.tuples(st.just("retype"), IDX, st.sampled_from(RETYPES)),
    st.tuples(st.sampled_from(["drop", "dup", "nullify"]), IDX),
    st.tuples(st.just("rename"), IDX, NAMES),
    st.tuples(st.just("cell"), IDX, IDX, CELLS),
)


def _texts(col: pa.ChunkedArray) -> list[str | None]:
    try:
        values = col.to_pylist()
    except (ValueError, OverflowError):  # a time retyped out of Python's range by an earlier op: Arrow's text
        return list(col.cast(pa.string()).to_pylist())
    return [v if isinstance(v, str) or v is None else json.dumps(v, default=str) for v in values]


def _retyped(col: pa.ChunkedArray, kind: str, n: int) -> pa.Array:
    if kind in _CYCLES:
        typ, cycle = _CYCLES[kind]
        return pa.array(list(itertools.islice(itertools.cycle(cycle), n)), typ)
    if kind == "null":
        return pa.nulls(n)
    texts = pa.array(_texts(col), pa.string())
    if kind == "large_string":
        return texts.cast(pa.large_string())
    return texts.dictionary_encode() if kind == "dictionary" else texts


def _parquet_op(table: pa.Table, op: tuple[Any, ...]) -> pa.Table:
    if not table.num_columns:
        return table
    i = op[1] % table.num_columns
    name, col, n = table.column_names[i], table.column(i), table.num_rows
    kind = op[0]
    if kind == "retype":
        return table.set_column(i, name, _retyped(col, op[2], n))
    if kind == "drop":
        return table.remove_column(i)
    if kind == "dup":
        return table.append_column(name, col)
    if kind == "nullify":
        return table.set_column(i, pa.field(name, col.type), pa.nulls(n, col.type))
    if kind == "rename":
        names = list(table.column_names)
        names[i] = name.upper() if op[2] == "UPPER" else op[2]
        return table.rename_columns(names)
    texts = _texts(col)  # "cell": the column as text, one cell replaced
    if texts:
        texts[op[2] % n] = op[3]
    return table.set_column(i, name, pa.array(texts, pa.string()))


def parquet_bytes(table: pa.Table) -> bytes:
    """`table` as a Parquet file (small row groups, so readers cross them)."""
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=4)
    return sink.getvalue()


def not_utf8_parquet(table: pa.Table, column: str) -> bytes:
    """`table` as an uncompressed Parquet file whose `column` text pages hold a byte that is not UTF-8."""
    marker = "ZZZZ-MARKER"
    table = table.set_column(table.column_names.index(column), column, pa.array([marker] * table.num_rows))
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="none")
    return sink.getvalue().replace(marker.encode(), b"\x80" + marker[1:].encode())


@st.composite
def mutated_parquet(draw: st.DrawFn, table: pa.Table) -> bytes:
    """A valid Parquet table with columns retyped, dropped, doubled or renamed; sometimes its bytes damaged."""
    for op in draw(st.lists(PARQUET_OPS, min_size=1, max_size=3)):
        table = _parquet_op(table, op)
    data = parquet_bytes(table)
    damage = draw(st.sampled_from(["none", "none", "none", "cut", "flip"]))
    if damage != "none":
        i = 4 + draw(IDX) % max(1, len(data) - 8)  # inside the pages or the footer, past the magic
        data = data[:i] if damage == "cut" else data[:i] + bytes([draw(st.integers(0, 255))]) + data[i + 1 :]
    return data
