"""Fuzz the GCP billing export file ingest (CSV, NDJSON, JSON array, Parquet) through `collect_files`.

Property: every file gives rows and quarantined rows (file, line, reason) that together account for
every row an independent reading of the file finds, or a SpendscopeError with a message.
"""

from __future__ import annotations

import json
from pathlib import Path
from unittest.mock import patch

import pyarrow as pa
from hypothesis import example, given
from hypothesis import strategies as st

from collectors.common.files import read_text
from collectors.gcp_billing import parse_parquet
from collectors.gcp_billing.columns import TABLE
from collectors.gcp_billing.from_files import collect_files
from collectors.gcp_billing.normalize import REPLACE_BY
from spendscope.errors import SpendscopeError
from tests.fuzz import payloads as p
from tests.fuzz import payloads_json as pj
from tests.fuzz import payloads_parquet as pp
from tests.fuzz.conftest import fuzz
from tests.fuzz.props import (
    MUST_FAIL,
    attempt,
    check_quarantined,
    check_refused,
    cli_collect,
    csv_data_records,
    drain,
    json_array_length,
    parquet_rows,
)
from tests.gcp_billing.conftest import make_parquet

FIX = p.FIXTURES / "gcp_billing"
ROWS = pj.ndjson_values(FIX / "export.ndjson", limit=6)
GOOD = json.dumps(ROWS[0]).encode()  # one valid export row
TABLE_ = make_parquet.build(make_parquet.ndjson_rows())


def _parquet(table: pa.Table) -> bytes:
    return pp.parquet_bytes(table)


def _csv_with(name: str, value: str) -> bytes:
    header, rows = p.read_csv(FIX / "export_console.csv")
    i = header.index(name)
    return p.render_csv(header, [[value if j == i else c for j, c in enumerate(r)] for r in rows]).encode()


# Regressions the fuzz found, or reading the parsers for it turned up (each was a traceback, a crash or rows
# dropped without a word).
NULL_FIRST = b"null\n" + GOOD + b"\n"  # pyarrow's JSON reader segfaulted on a block starting with a `null` row
ARRAY_THEN_ROWS = b"[]\n" + GOOD + b"\n"  # read as an empty JSON array: the rows after it were dropped silently
TWO_PER_LINE = GOOD + b'\n{"cost": 1}{"cost": 2}\n'  # two rows on one line: IndexError mapping rows to lines
BOM_ARRAY = b"\xef\xbb\xbf[\n" + GOOD + b"\n]\n"  # a JSON array with a BOM was read as NDJSON, every line bad
HUGE_INT = b'[{"cost": 1' + b"0" * 5000 + b"}]"  # ValueError (Python's 4,300-digit limit) escaped raw_decode
DEEP_ARRAY = b"[" + b"[" * 3000 + b"]" * 3000 + b"]"  # RecursionError escaped raw_decode
SURROGATE = b'[{"billing_account_id": "\\ud800", "cost": 1}]'  # UnicodeEncodeError building the Arrow table
DEEP_LINE = b'{"labels": ' + b"[" * 3000 + b"]" * 3000 + b"}\n" + GOOD + b"\n"  # RecursionError (schema seed, by line)
HUGE_INT_LINE = GOOD + b'\n{\n{"cost": 1' + b"0" * 5000 + b"}\n"  # ValueError (4,300-digit limit) reading by line
CUT_ARRAY = b"[\n" + GOOD + b",\n"  # a cut-off array: taken as complete
UNHASHABLE_LABELS = _csv_with("labels", "{[1]: 2}")  # TypeError from ast.literal_eval
DEEP_LABELS = _csv_with("labels", "[" * 3000 + "]" * 3000)  # RecursionError from json.loads
DUP_COLUMN = _parquet(TABLE_.append_column("billing_account_id", TABLE_.column("billing_account_id")))  # KeyError
FAR_TIME = _parquet(  # year 36812: OverflowError from to_pylist in the key pass's summary
    TABLE_.set_column(3, "usage_start_time", pa.array([2**40 * 1000] * TABLE_.num_rows, pa.timestamp("ms")))
)
WRAPPED_TIME = _parquet(  # ms → us overflowed and wrapped round to a wrong time (safe=False)
    TABLE_.set_column(3, "usage_start_time", pa.array([2**62] * TABLE_.num_rows, pa.timestamp("ms")))
)
NOT_UTF8 = pp.not_utf8_parquet(TABLE_, "billing_account_id")  # UnicodeDecodeError from the key pass's to_pylist
BAD_PAGE = DUP_COLUMN[:60] + b"\xff" + DUP_COLUMN[61:]  # OSError from a damaged page escaped the key pass
NOT_UTF8_TEXT = pp.not_utf8_parquet(TABLE_, "currency")  # a leaf read as a dictionary: its dictionary page is bad


def expected_rows(path: Path) -> int | None:
    """Data rows in the file by a reading independent of the parser; MUST_FAIL when it cannot be taken
    whole; None when this reading cannot tell (the parser may still take it, or refuse it)."""
    if path.suffix == ".parquet":
        return parquet_rows(path)
    try:
        text = read_text(path)
    except SpendscopeError:
        return None
    if path.suffix == ".csv":
        return csv_data_records(text)
    if text.lstrip()[:1] == "[":
        return json_array_length(text)
    return sum(1 for line in text.split("\n") if line.strip())


def check_ingest(path: Path, data: bytes, replace_by: str = "auto") -> None:
    path.write_bytes(data)
    got = attempt(lambda: drain(collect_files([str(path)], replace_by)))
    want = expected_rows(path)
    if isinstance(got, SpendscopeError):
        return
    assert want != MUST_FAIL, f"a file that cannot be read whole was taken: {got}"
    assert set(got.rows) <= {TABLE}
    check_quarantined(got.quarantined, str(path))
    if want is not None:
        assert got.total + len(got.quarantined) == want, (got.rows, [q.reason for q in got.quarantined])


@fuzz(120)
@given(data=p.strategies_of(lambda: p.mutated_csv(FIX / "export_console.csv")), replace_by=st.sampled_from(REPLACE_BY))
@example(data=UNHASHABLE_LABELS, replace_by="auto")
@example(data=DEEP_LABELS, replace_by="auto")
def test_csv_export(tmp_path: Path, data: bytes, replace_by: str) -> None:
    check_ingest(tmp_path / "export.csv", data, replace_by)


@fuzz(100)
@given(data=p.strategies_of(lambda: pj.mutated_json(ROWS, array=False)))
@example(data=NULL_FIRST)
@example(data=ARRAY_THEN_ROWS)
@example(data=TWO_PER_LINE)
@example(data=BOM_ARRAY)
@example(data=DEEP_LINE)
@example(data=HUGE_INT_LINE)
def test_ndjson_export(tmp_path: Path, data: bytes) -> None:
    check_ingest(tmp_path / "export.ndjson", data)


@fuzz(100)
@given(data=p.strategies_of(lambda: pj.mutated_json(ROWS, array=True)))
@example(data=HUGE_INT)
@example(data=DEEP_ARRAY)
@example(data=CUT_ARRAY)
@example(data=BOM_ARRAY)
@example(data=SURROGATE)
def test_json_array_export(tmp_path: Path, data: bytes) -> None:
    check_ingest(tmp_path / "export.json", data)


@fuzz(80)
@given(data=pp.mutated_parquet(TABLE_), replace_by=st.sampled_from(REPLACE_BY))
@example(data=DUP_COLUMN, replace_by="auto")
@example(data=FAR_TIME, replace_by="auto")
@example(data=WRAPPED_TIME, replace_by="usage-day")
@example(data=BAD_PAGE, replace_by="auto")
@example(data=NOT_UTF8, replace_by="auto")
def test_parquet_export(tmp_path: Path, data: bytes, replace_by: str) -> None:
    check_ingest(tmp_path / "export.parquet", data, replace_by)


@fuzz(60)
@given(data=pp.mutated_parquet(TABLE_), replace_by=st.sampled_from(REPLACE_BY))
@example(data=NOT_UTF8_TEXT, replace_by="auto")
@example(data=BAD_PAGE, replace_by="auto")
@example(data=DUP_COLUMN, replace_by="auto")
def test_parquet_export_read_with_dictionaries(tmp_path: Path, data: bytes, replace_by: str) -> None:
    """The same, with string leaves read as dictionaries (big row groups; the threshold lowered to the fixture's)."""
    with patch.object(parse_parquet, "DICTIONARY_MIN_ROWS", 1):
        check_ingest(tmp_path / "export.parquet", data, replace_by)


def test_parquet_time_past_the_microsecond_range_is_quarantined_not_wrapped(tmp_path: Path) -> None:
    """A ms timestamp too big for microseconds used to wrap round (an unchecked cast) into a wrong time."""
    path = tmp_path / "export.parquet"
    path.write_bytes(WRAPPED_TIME)
    got = drain(collect_files([str(path)], "usage-day"))
    assert got.total == 0 and len(got.quarantined) == TABLE_.num_rows
    assert {q.reason for q in got.quarantined} == {"usage_start_time: value out of range"}


def test_cli_refuses_a_bad_export_with_a_message(tmp_path: Path) -> None:
    """A latin-1 CSV, a UTF-16 NDJSON, a cut Parquet file: each a clear error, exit non-zero, no traceback."""
    header, rows = p.read_csv(FIX / "export_console.csv")
    bad = {
        "latin1.csv": p.render_csv(header, [[c.replace("Engine", "Engïne") for c in r] for r in rows]).encode(
            "latin-1"
        ),
        "utf16.ndjson": (FIX / "export.ndjson").read_text().encode("utf-16"),
        "cut.parquet": _parquet(TABLE_)[:-300],
    }
    for name, data in bad.items():
        (tmp_path / name).write_bytes(data)
        check_refused(cli_collect(tmp_path / name.replace(".", "_"), "gcp-billing", tmp_path / name))
