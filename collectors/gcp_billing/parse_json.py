"""JSON billing export files: NDJSON (`bq extract … NEWLINE_DELIMITED_JSON`) and a JSON array of rows.

NDJSON is read with pyarrow's JSON reader against an explicit schema (timestamps as text, fixed up
vectorized later). A column whose numbers come as strings (BigQuery writes NUMERIC as "0.123") is
switched to text when the reader reports it and cast back in `normalize`. Only a block the reader still
rejects is split and read line by line in Python, so a bad line is quarantined with its line number.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Iterator

import pyarrow as pa
import pyarrow.json as pj

from collectors.base import Quarantined
from collectors.common.files import check_utf8
from collectors.common.jsontext import has_lone_surrogate, may_hold_surrogates
from collectors.gcp_billing.coerce import coerce_record
from collectors.gcp_billing.columns import (
    EXPORT_FIELDS,
    FILE_REQUIRED,
    PARSED_SCHEMA,
    PARTITION_FIELDS,
    TABLE,
    resolve,
)
from collectors.gcp_billing.normalize import Parsed, normalize
from exporters.warehouse.schema.gcp_billing import GCP_BILLING_EXPORT
from spendscope.errors import InputError

_CHUNK_BYTES = 64 << 20
_MIN_SPLIT_LINES = 256  # below this a rejected block is read line by line
_FLIP = re.compile(r"Column\(([^)]*)\) changed from (?:number|boolean) to string")
_SURROGATE = "text is not valid Unicode (a lone surrogate escape such as \\ud800)"


def _text_type(typ: pa.DataType) -> pa.DataType:
    """The reader-side type: timestamps and dates as text (their text forms vary), the rest as is."""
    return pa.string() if pa.types.is_timestamp(typ) or pa.types.is_date(typ) else typ


def _retype(typ: pa.DataType, path: list[str]) -> pa.DataType | None:
    """`typ` with the leaf at reader error path `path` made a string; None if the path is not a leaf."""
    if not path:
        return None if pa.types.is_nested(typ) else pa.string()
    head, rest = path[0], path[1:]
    if head == "[]" and pa.types.is_list(typ):
        inner = _retype(typ.value_type, rest)
        return None if inner is None else pa.list_(inner)
    if pa.types.is_struct(typ):
        fields = [typ.field(i) for i in range(typ.num_fields)]
        for i, f in enumerate(fields):
            if f.name == head:
                inner = _retype(f.type, rest)
                if inner is None:
                    return None
                fields[i] = pa.field(f.name, inner)
                return pa.struct(fields)
    return None


class _Reader:
    """pyarrow's NDJSON reader with a schema that learns which number columns arrive as strings."""

    def __init__(self, first: dict[str, object] | None) -> None:
        spelled = {canon: name for name, canon in resolve(first or {}).items()}
        self.schema = pa.struct([pa.field(spelled.get(f.name, f.name), _text_type(f.type)) for f in PARSED_SCHEMA])

    def read(self, block: bytes) -> pa.Table:
        for _ in range(len(EXPORT_FIELDS)):
            schema = pa.schema(list(self.schema))
            opts = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
            try:
                return pj.read_json(io.BytesIO(block), pj.ReadOptions(block_size=8 << 20), opts)
            except pa.ArrowInvalid as exc:
                match = _FLIP.search(str(exc))
                retyped = _retype(self.schema, match.group(1).strip("/").split("/")) if match else None
                if retyped is None:
                    raise
                self.schema = retyped
        raise pa.ArrowInvalid("too many column type changes")


def _lines(block: bytes, first_line: int) -> list[tuple[int, str]]:
    """(1-based line number, text) of the non-blank lines of a block: the rows the reader returns."""
    out = []
    for i, raw in enumerate(block.split(b"\n")):
        text = raw.decode("utf-8", errors="replace").rstrip("\r")
        if text.strip():
            out.append((first_line + i, text))
    return out


def _line_rows(block: bytes) -> tuple[int, bool]:
    """Non-blank lines (the rows the reader must return), and whether one is a bare `null` (C-level loops)."""
    stripped = list(map(bytes.strip, block.split(b"\n")))
    return len(stripped) - stripped.count(b""), b"null" in stripped


def _chunks(data: bytes, size: int) -> Iterator[tuple[int, bytes]]:
    """Blocks of whole lines, each with the line number it starts on."""
    pos, line = 0, 1
    while pos < len(data):
        end = data.find(b"\n", min(pos + size, len(data)) - 1)
        end = len(data) if end < 0 else end + 1
        block = data[pos:end]
        yield line, block
        line += block.count(b"\n")
        pos = end


def parse_records(rows: list[tuple[int, str, object]], source: str, replace_by: str) -> Parsed:
    """Decoded rows (line, raw text, value) through the exact Python path; non-objects are quarantined."""
    records: list[dict[str, object]] = []
    errors: dict[int, str] = {}
    where: list[tuple[int, str]] = []
    parsed = Parsed(GCP_BILLING_EXPORT.empty_table())
    for line, raw, value in rows:
        if not isinstance(value, dict):
            parsed.quarantined.append(Quarantined(TABLE, source, line, "not a JSON object", raw))
            continue
        if may_hold_surrogates(raw) and has_lone_surrogate(value):  # "\ud800": Arrow cannot store it
            parsed.quarantined.append(Quarantined(TABLE, source, line, _SURROGATE, raw))
            continue
        record, reason = coerce_record(value)
        parsed.columns.update(record)
        parsed.decoded += 1
        if reason:
            errors[len(records)] = reason
        records.append(record)
        where.append((line, raw))
    return parsed.add_records(records, where, errors, replace_by, source)


def _by_line(lines: list[tuple[int, str]], source: str, replace_by: str) -> Parsed:
    rows: list[tuple[int, str, object]] = []
    bad: list[Quarantined] = []
    for line, text in lines:
        try:
            rows.append((line, text, json.loads(text)))
        except json.JSONDecodeError as exc:
            reason = f"invalid JSON: {exc.msg} (column {exc.colno})"
            bad.append(Quarantined(TABLE, source, line, reason, text))
        except (ValueError, RecursionError) as exc:  # an integer past 4,300 digits; nesting past the recursion limit
            bad.append(Quarantined(TABLE, source, line, f"unreadable JSON value: {type(exc).__name__}", text))
    parsed = parse_records(rows, source, replace_by)
    parsed.quarantined = sorted(bad + parsed.quarantined, key=lambda q: q.line or 0)
    return parsed


def _block(reader: _Reader, block: bytes, first_line: int, source: str, replace_by: str) -> list[Parsed]:
    rows, null_row = _line_rows(block)
    try:
        if null_row:
            # pyarrow's JSON reader (26.0) kills the process (SIGSEGV) on a block whose first row is a bare
            # `null`, and reads one elsewhere as an all-null row: such a block goes the exact way.
            raise pa.ArrowInvalid("a bare null row")
        table = reader.read(block)
        if table.num_rows != rows:
            # The reader also takes `{}{}` on one line as two rows: rows would no longer match lines.
            raise pa.ArrowInvalid("rows and lines differ")
    except pa.ArrowInvalid:
        lines = _lines(block, first_line)
        if len(lines) < _MIN_SPLIT_LINES:
            return [_by_line(lines, source, replace_by)]
        # Split in two at a line boundary: the good half still takes the fast path.
        mid = block.find(b"\n", len(block) // 2) + 1 or len(block)
        second = first_line + block.count(b"\n", 0, mid)
        return [
            *_block(reader, block[:mid], first_line, source, replace_by),
            *_block(reader, block[mid:], second, source, replace_by),
        ]
    # The reader always returns the partition columns; a file without them must read as lacking them.
    absent = [
        c for c in table.column_names if c.lower() in PARTITION_FIELDS and table.column(c).null_count == len(table)
    ]
    table = table.drop_columns(absent)
    norm = normalize(table, source, replace_by)
    cols = {resolve([c]).get(c, c) for c in table.column_names if table.column(c).null_count < table.num_rows}
    parsed = Parsed(norm.table, columns=cols, decoded=table.num_rows)
    if norm.bad:
        lines = _lines(block, first_line)
        parsed.quarantined = [Quarantined(TABLE, source, lines[i][0], r, lines[i][1]) for i, r in norm.bad]
    return [parsed]


def iter_ndjson(blocks: Iterable[tuple[int, bytes]], source: str, replace_by: str = "auto") -> Iterator[Parsed]:
    """Parse newline-delimited JSON rows block by block (blocks of whole lines with their first line number).

    Each yielded part holds one block's rows, quarantine and the columns it shows, so a caller can spill
    the rows and keep memory flat. A key that is present but null on every row still counts as a column.
    """
    reader: _Reader | None = None
    for first_line, block in blocks:
        block = block.removeprefix(b"\xef\xbb\xbf") if first_line == 1 else block
        check_utf8(block, source)
        if reader is None:
            reader = _Reader(_first_object(block))
        for part in _block(reader, block, first_line, source, replace_by):
            for name in FILE_REQUIRED:
                if name not in part.columns and re.search(rb'"' + name.encode() + rb'"\s*:', block, re.IGNORECASE):
                    part.columns.add(name)
            yield part


def _first_object(block: bytes) -> dict[str, object] | None:
    """The first decodable JSON object near the top: it seeds the reader's schema inference."""
    for head in block[: 1 << 20].split(b"\n", 50):
        try:
            value = json.loads(head)
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict):
            return value
    return None


def parse_ndjson(data: bytes, source: str, replace_by: str = "auto") -> Parsed:
    """Parse newline-delimited JSON held in memory (small files and tests; big files use `iter_ndjson`)."""
    return _merge(list(iter_ndjson(_chunks(data, _CHUNK_BYTES), source, replace_by))).finish()


_BETWEEN = re.compile(r"[\s,]*")


def parse_json_array(text: str, source: str, replace_by: str = "auto") -> Parsed:
    """Parse a JSON array of row objects (a console or API download), each row's line kept for quarantine."""
    decoder = json.JSONDecoder()
    rows: list[tuple[int, str, object]] = []
    pos = text.index("[") + 1
    line = 1 + text.count("\n", 0, pos)
    while True:
        skip = _BETWEEN.match(text, pos).end()  # type: ignore[union-attr]  # [\s,]* always matches
        line += text.count("\n", pos, skip)
        pos = skip
        if pos >= len(text) or text[pos] == "]":
            break
        try:
            value, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            # Inside an array a syntax error leaves no safe place to resume: the file cannot be taken.
            raise InputError(f"{source}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
        except (ValueError, RecursionError) as exc:
            # Not syntax errors, so not JSONDecodeError: an integer over Python's 4,300-digit limit, or
            # nesting deeper than the interpreter's recursion limit. Either way the value's end is unknown.
            raise InputError(f"{source}: unreadable JSON value at line {line}: {type(exc).__name__}") from None
        rows.append((line, text[pos:end], value))
        line += text.count("\n", pos, end)
        pos = end
    # Rows after a cut-off array or after its `]` (a second array or NDJSON lines behind an `[]` line)
    # would otherwise be dropped without a word.
    if pos >= len(text):
        raise InputError(f"{source}: the JSON array is not closed (line {line}); is the file cut off?")
    if text[pos + 1 :].strip():
        raise InputError(f"{source}: text after the JSON array's closing ] at line {line}")
    return parse_records(rows, source, replace_by).finish()


def _merge(parts: list[Parsed]) -> Parsed:
    out = Parsed(pa.concat_tables([p.table for p in parts]) if parts else GCP_BILLING_EXPORT.empty_table())
    for p in parts:
        out.quarantined += p.quarantined
        out.columns |= p.columns
        out.decoded += p.decoded
    return out
