"""Fuzz inputs: arbitrary bytes, and structure-aware mutations of VALID payloads in the real upstream formats.

A mutation starts from a fixture (a real-format file under tests/fixtures) and breaks it the ways real
files break: columns dropped, duplicated, renamed or of another type; cells holding NUL, huge or
non-finite numbers, impossible dates, deep nesting, unbalanced quotes, Unicode line separators; rows
duplicated, cut short or too long; the file truncated, concatenated with itself, or written as latin-1,
UTF-16 with a BOM, gzip or a broken gzip. Indices are drawn large and reduced modulo the current size,
so one strategy fits any fixture. This module: the shared pieces, and CSV; payloads_json, payloads_parquet
and payloads_text hold the other formats.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
IDX = st.integers(0, 1 << 16)
DEEP = 3000  # nesting deeper than the interpreter's recursion limit

# Cell texts that break parsers: non-finite and huge numbers, impossible or out-of-range dates, NUL,
# quotes, literal-looking text (unhashable dict keys), deep nesting, Unicode line separators.
EVIL_CELLS: list[str] = [
    "", " ", "NaN", "-inf", "Infinity", "1e309", "-1e400", "9" * 400, "1" + "0" * 5000, "1e20", "-1", "0x1F",
    "1_000", "\x00", "a\x00b", "null", "None", "N/A", "[N/A]", "[", "{", "]", "}", '"', "'", "\\", "\n",
    "\r\n", ",", ";", "{[1]: 2}", "{{}: 1}", "[1, 2]", "[[]]", "{}", "[{}]", "[" * DEEP, "{" * DEEP,
    "[" * DEEP + "]" * DEEP, "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "0000-00-00",
    "2026-13-45 25:61:61", "2026-11-20 12:00:00 UTC", "1.7637E9", "é", "\ufeff", "a\u2028b", "\x85",
    "\U0001d7d8", "true", "{'key': 'k', 'value': 'v'}", "a:b,c", "k=v;=x", "{k -> v}", "{a -> 1, b -> {x}",
]  # fmt: skip
CELLS = st.one_of(st.sampled_from(EVIL_CELLS), st.text(max_size=12))
NAMES = st.one_of(
    st.sampled_from(["", " ", "UPPER", "\ufeffBOM", "x_unknown", "a.b.c", "[]", "\x00"]), st.text(max_size=10)
)
ENCODINGS = ("utf-8", "utf-8", "utf-8-sig", "latin-1", "utf-16", "gzip", "gzip-cut")
RAW_BITS = st.sampled_from(['"', "\n", ",", "\x00", "\r", '"\n"', "\\", "{", "\u2028", "\ufeff", "#", "'"])


def at(seq: Sequence[Any], i: int) -> int:
    """A drawn index `i` as a valid index of `seq` (which must not be empty)."""
    return i % len(seq)


def strategies_of(build: Callable[[], st.SearchStrategy[bytes]], noise: bool = True) -> st.SearchStrategy[bytes]:
    """`build()` mixed with arbitrary bytes (the unstructured half of the fuzz)."""
    return st.one_of(build(), st.binary(max_size=600)) if noise else build()


def encode(text: str, how: str) -> bytes:
    """`text` as bytes in an encoding a user might hand us (UTF-16 writes its BOM; gzip-cut is a broken gzip)."""
    if how.startswith("gzip"):
        data = gzip.compress(text.encode("utf-8", "replace"), mtime=0)
        return data[: max(3, len(data) // 2)] if how == "gzip-cut" else data
    return text.encode(how, "replace")


@st.composite
def damaged(draw: st.DrawFn, text: str) -> bytes:
    """`text` with raw characters spliced in, encoded, then maybe cut, doubled or a byte changed."""
    for _ in range(draw(st.integers(0, 2))):
        pos = draw(IDX) % (len(text) + 1)
        text = text[:pos] + draw(RAW_BITS) + text[pos:]
    data = encode(text, draw(st.sampled_from(ENCODINGS)))
    for op, i, b in draw(st.lists(st.tuples(st.sampled_from(["cut", "flip", "double"]), IDX, st.integers(0, 255)),
                                  max_size=2)):  # fmt: skip
        if not data:
            break
        if op == "cut":
            data = data[: i % len(data)]
        elif op == "flip":
            data = data[: i % len(data)] + bytes([b]) + data[i % len(data) + 1 :]
        else:
            data = data + data  # `cat a b` of the same export
    return data


# -- CSV -----------------------------------------------------------------------------------------------


@functools.lru_cache
def read_csv(path: Path, limit: int = 12) -> tuple[list[str], list[list[str]]]:
    """Header and the first `limit` rows of a CSV fixture."""
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))
    return rows[0], rows[1 : limit + 1]


CSV_OPS = st.one_of(
    st.tuples(st.sampled_from(["drop_col", "dup_col", "drop_row", "dup_row", "short_row", "blank_row"]), IDX),
    st.tuples(st.just("rename_col"), IDX, NAMES),
    st.tuples(st.just("swap_cols"), IDX, IDX),
    st.tuples(st.just("cell"), IDX, IDX, CELLS),
    st.tuples(st.sampled_from(["column", "long_row"]), IDX, CELLS),
    st.tuples(st.just("spray"), IDX, IDX),  # one column's cells: a different EVIL_CELLS value in each row
)


def _csv_op(header: list[str], rows: list[list[str]], op: tuple[Any, ...]) -> None:
    kind = op[0]
    if kind in ("drop_col", "dup_col", "rename_col", "swap_cols", "column", "spray") and header:
        c = at(header, op[1])
        for r, cells in enumerate([header, *rows]):
            if c >= len(cells):
                continue
            if kind == "drop_col":
                del cells[c]
            elif kind == "dup_col":
                cells.insert(c, cells[c])
            elif kind == "swap_cols":
                d = at(cells, op[2])
                cells[c], cells[d] = cells[d], cells[c]
            elif kind == "column" and cells is not header:
                cells[c] = op[2]
            elif kind == "spray" and cells is not header:
                cells[c] = EVIL_CELLS[(op[2] + r) % len(EVIL_CELLS)]
        if kind == "rename_col":
            header[c] = header[c].upper() if op[2] == "UPPER" else op[2]
    elif kind == "cell" and rows:
        cells = rows[at(rows, op[1])]
        if cells:
            cells[at(cells, op[2])] = op[3]
    elif rows:
        r = at(rows, op[1])
        if kind == "drop_row":
            del rows[r]
        elif kind == "dup_row":
            rows.insert(r, list(rows[r]))
        elif kind == "short_row":
            rows[r] = rows[r][:-1]
        elif kind == "long_row":
            rows[r] = [*rows[r], op[2]]
        elif kind == "blank_row":
            rows.insert(r, [])


def render_csv(header: list[str], rows: list[list[str]], crlf: bool = False) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n" if crlf else "\n")
    for cells in [header, *rows]:
        writer.writerow(cells)
    return buf.getvalue()


@st.composite
def csv_text(draw: st.DrawFn, path: Path) -> str:
    """A fixture CSV with a few column, cell and row mutations, as text."""
    header, rows = read_csv(path)
    header, rows = list(header), [list(r) for r in rows]
    for op in draw(st.lists(CSV_OPS, min_size=1, max_size=4)):
        _csv_op(header, rows, op)
    return render_csv(header, rows, crlf=draw(st.booleans()))


def mutated_csv(path: Path) -> st.SearchStrategy[bytes]:
    """A fixture CSV mutated, then damaged at the text and byte level."""
    return csv_text(path).flatmap(damaged)
