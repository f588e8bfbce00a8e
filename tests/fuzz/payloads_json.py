"""Fuzz inputs in JSON: export rows (NDJSON or one array) edited as raw text, and decoded API answers.

Rows are kept as (key, raw value text) pairs, so a value can be made invalid JSON, a duplicate key or
a deep nesting the decoder cannot take; `mutated_tree` swaps nodes of a decoded document for other types.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from tests.fuzz.payloads import DEEP, IDX, NAMES, at, damaged

# Raw JSON value texts: the same trouble as JSON, plus values that are valid JSON but the wrong type.
EVIL_JSON: list[str] = [
    "null", "NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1" + "0" * 400, "1" + "0" * 5000, "1e20",
    "-1e20", "0", "true", "[]", "{}", "[1,2]", "[[1,2]]", '[{"key":[1],"value":2}]', '{"a":{"b":[1]}}',
    "[" * DEEP + "]" * DEEP, '"' + "[" * DEEP + '"', '"\\u0000"', '"\\ud800"', '""', '" "', '"NaN"',
    '"0001-01-01T00:00:00+05:00"', '"9999-12-31T23:59:59-05:00"', '"2026-13-45"', '"1.7637E9"', '"1e400"',
    '"{[1]: 2}"', '"a\u2028b"', '"\\n"', "1.5", '"x"', "[null]", '{"default":{}}', '{"": 1}',
]  # fmt: skip
JSON_VALUES = st.one_of(
    st.sampled_from(EVIL_JSON),
    st.text(max_size=10).map(json.dumps),
    st.floats(allow_nan=False).map(json.dumps),
    st.integers(-(1 << 70), 1 << 70).map(str),
)


# -- JSON ----------------------------------------------------------------------------------------------

Row = list[tuple[str, str]] | str  # an object as (key, raw value text) pairs, or a raw line
_HOLE = "\x00HOLE\x00"


def json_rows(values: Sequence[Any]) -> list[Row]:
    """Decoded objects as editable rows (raw value texts, so invalid JSON can be put in)."""
    return [
        [(k, json.dumps(v)) for k, v in obj.items()] if isinstance(obj, dict) else json.dumps(obj) for obj in values
    ]


JSON_OPS = st.one_of(
    st.tuples(st.sampled_from(["drop_row", "dup_row", "blank_row"]), IDX),
    st.tuples(st.sampled_from(["drop_key", "dup_key"]), IDX, IDX),
    st.tuples(st.just("rename_key"), IDX, IDX, NAMES),
    st.tuples(st.sampled_from(["value", "nested"]), IDX, IDX, JSON_VALUES),
    st.tuples(st.just("column"), IDX, JSON_VALUES),
    st.tuples(st.just("spray"), IDX, IDX),  # one key: a different EVIL_JSON value in each row
    st.tuples(st.just("raw_row"), IDX, st.sampled_from(["[]", "1", '"x"', "null", "[{}]", "{", "}{", "{}{}", "\x00"])),
    st.tuples(st.just("cut_row"), IDX, IDX),
)


def _nested(raw: str, i: int, value: str) -> str:
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError):  # an earlier op put a value json cannot read here: replace it whole
        return value
    if not isinstance(obj, dict) or not obj:
        return value
    key = list(obj)[i % len(obj)]
    obj[key] = _HOLE
    return json.dumps(obj).replace(json.dumps(_HOLE), value)


def _json_op(rows: list[Row], op: tuple[Any, ...]) -> None:
    if not rows:
        return
    kind, r = op[0], at(rows, op[1])
    row = rows[r]
    if kind == "drop_row":
        del rows[r]
    elif kind == "dup_row":
        rows.insert(r, row if isinstance(row, str) else list(row))
    elif kind == "blank_row":
        rows.insert(r, "")
    elif kind == "raw_row":
        rows[r] = op[2]
    elif kind == "cut_row":
        text = render_row(row)
        rows[r] = text[: op[2] % (len(text) + 1)]
    elif kind in ("column", "spray") and not isinstance(row, str) and row:
        key = row[at(row, op[1])][0]
        for n, other in enumerate(rows):
            value = op[2] if kind == "column" else EVIL_JSON[(op[2] + n) % len(EVIL_JSON)]
            if not isinstance(other, str):
                other[:] = [(k, value if k == key else v) for k, v in other]
    elif not isinstance(row, str) and row:
        k = at(row, op[2])
        if kind == "drop_key":
            del row[k]
        elif kind == "dup_key":
            row.append((row[k][0], '"duplicate"'))
        elif kind == "rename_key":
            row[k] = (row[k][0].upper() if op[3] == "UPPER" else op[3], row[k][1])
        elif kind == "value":
            row[k] = (row[k][0], op[3])
        elif kind == "nested":
            row[k] = (row[k][0], _nested(row[k][1], op[2] // 7, op[3]))


def render_row(row: Row) -> str:
    if isinstance(row, str):
        return row
    return "{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in row) + "}"


@st.composite
def json_text(draw: st.DrawFn, values: Sequence[Any], array: bool) -> str:
    """Decoded fixture objects mutated, as NDJSON or as one JSON array."""
    rows = json_rows(values)
    for op in draw(st.lists(JSON_OPS, min_size=1, max_size=4)):
        _json_op(rows, op)
    texts = [render_row(r) for r in rows]
    return "[\n" + ",\n".join(texts) + "\n]\n" if array else "\n".join(texts) + "\n"


def mutated_json(values: Sequence[Any], array: bool) -> st.SearchStrategy[bytes]:
    return json_text(values, array).flatmap(damaged)


def ndjson_values(path: Path, limit: int = 10) -> list[Any]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()][:limit]


# -- decoded JSON documents (an HTTP API's answer) ---------------------------------------------------------

EVIL_VALUES: list[Any] = [
    None, float("inf"), float("nan"), -float("inf"), 10**400, 2**63, -1, 0, 1e20, "x", "", "NaN", "+Inf", "1e400",
    [], {}, [1], [None, None], ["1", "2", "3"], {"a": 1}, True, {"0": 1, "1": "2"}, [[1, "2"]], "9" * 400, "\ud800",
]  # fmt: skip


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every node's path in a decoded JSON document (keys and list indexes)."""
    out = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*path, i))
    return out


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {k: replaced(v, rest, new) if k == head else v for k, v in value.items()}
    return [replaced(v, rest, new) if i == head else v for i, v in enumerate(value)]


@st.composite
def mutated_tree(draw: st.DrawFn, doc: Any) -> Any:
    """A decoded JSON document with a few nodes (leaves or whole subtrees) replaced by values of other types."""
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        doc = replaced(doc, paths[draw(IDX) % len(paths)], draw(st.sampled_from(EVIL_VALUES)))
    return doc
