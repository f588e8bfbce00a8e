"""The property every parser must keep: rows and quarantined rows, or a SpendscopeError with a message.

`attempt` lets a SpendscopeError through as a value and any other exception (ValueError, KeyError,
ArrowInvalid, RecursionError…) fail the test; `drain` runs a collector's items to the end, streamed
batches included, checks each batch is valid Arrow and counts what each table got; `check_quarantined`
wants each quarantined row to say where it was (file and line) and why.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pyarrow as pa
import pyarrow.parquet as pq
from click.testing import CliRunner, Result
from hypothesis import event

from collectors.base import Batch, Quarantined
from spendscope.cli import INTERNAL_ERROR, cli
from spendscope.errors import SpendscopeError

T = TypeVar("T")


def attempt(fn: Callable[[], T]) -> T | SpendscopeError:
    """`fn()`, or the SpendscopeError it raised (which must carry a message); anything else propagates."""
    try:
        got = fn()
    except SpendscopeError as exc:
        assert str(exc).strip(), f"{type(exc).__name__} without a message"
        event(f"refused: {type(exc).__name__}")  # outcome mix, shown by --hypothesis-show-statistics
        return exc
    event("taken")
    return got


@dataclass
class Drained:
    """What a collector's items held: rows per table, the quarantined rows, the batches' keys."""

    rows: dict[str, int] = field(default_factory=dict)
    quarantined: list[Quarantined] = field(default_factory=list)
    keys: list[object] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def drain(items: Iterable[Batch | Quarantined]) -> Drained:
    """Consume every item (a Batch's data may be a stream: it is read through, as the warehouse would)."""
    out = Drained()
    for item in items:
        if isinstance(item, Quarantined):
            out.quarantined.append(item)
            continue
        batches = item.data.to_batches() if isinstance(item.data, pa.Table) else item.data
        n = 0
        for batch in batches:
            batch.validate(full=True)  # what the warehouse gets must be valid Arrow (text UTF-8, offsets sane)
            n += batch.num_rows
        out.rows[item.table] = out.rows.get(item.table, 0) + n
        out.keys.extend(item.keys)
    return out


def check_quarantined(rows: Iterable[Quarantined], file: str, *, need_line: bool = True) -> None:
    """Each quarantined row names its file, its line (when rows have lines) and a reason."""
    for q in rows:
        assert q.file == file, q
        assert q.reason.strip(), q
        if need_line:
            assert q.line is not None and q.line >= 0, q


def cli_collect(tmp_path: Path, name: str, *paths: Path) -> Result:
    """`spendscope collect NAME --from-file PATH...` through click's runner, on a fresh lake under `tmp_path`."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    cfg = tmp_path / "spendscope.toml"
    cfg.write_text(f'home = "{tmp_path}/home"\n[warehouse]\npath = "{tmp_path}/lake"\n')
    return CliRunner().invoke(cli, ["--config", str(cfg), "collect", name, "--from-file", *map(str, paths)])


def check_refused(result: Result) -> None:
    """A bad file: the exit code of a SpendscopeError (not 0, not the internal-error one), a message, no traceback."""
    assert result.exit_code not in (0, INTERNAL_ERROR), result.output
    assert isinstance(result.exception, SystemExit), result.exception  # nothing escaped click's error handling
    assert "error:" in result.output and "internal error" not in result.output, result.output
    assert "Traceback" not in result.output


# -- independent readings: how many data rows a file holds, without the parser under test -----------------

MUST_FAIL = -1  # the file cannot be read whole: the parser must refuse it


def csv_data_records(text: str) -> int | None:
    """Records after the header with any non-blank cell, by the csv module; None if it cannot split the text."""
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error:
        return None
    return sum(1 for cells in records[1:] if any(c.strip() for c in cells))


def json_array_length(text: str) -> int | None:
    """Elements of the top-level JSON array; MUST_FAIL when text follows it or it is cut off; None if it is
    not valid JSON (the parser may be more lenient, e.g. about doubled commas)."""
    start = text.index("[")
    try:
        value, end = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError as exc:
        return MUST_FAIL if not text[exc.pos :].strip() else None  # the text ends before the array does
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, list):
        return None
    return len(value) if not text[end:].strip() else MUST_FAIL


def parquet_rows(path: Path) -> int | None:
    """Rows in the Parquet footer; None if pyarrow cannot open the file."""
    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except (pa.ArrowException, OSError, UnicodeDecodeError):
        return None
