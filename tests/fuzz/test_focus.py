"""Fuzz FOCUS file ingest (CSV, gzip CSV, Parquet) through the collector's `--from-file` entry point.

Property: rows and quarantined rows (file, line, reason) account for every record of the file, or the
whole file is refused with a SpendscopeError and a message.
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import example, given
from hypothesis import strategies as st

from collectors.base import RunContext
from collectors.common.files import read_text
from collectors.focus.collector import TABLE, FocusCollector
from spendscope.errors import SpendscopeError
from tests.focus.helpers import parquet_flavour
from tests.fuzz import payloads as p
from tests.fuzz import payloads_parquet as pp
from tests.fuzz.conftest import fuzz
from tests.fuzz.props import attempt, check_quarantined, check_refused, cli_collect, drain, parquet_rows

FIX = p.FIXTURES / "focus"
CSVS = ["aws_focus_1_0.csv", "azure_focus_1_0r2.csv", "gcp_focus_bigquery.csv", "focus_1_3.csv", "bad_rows.csv"]


def _parquet_table(flavour: str) -> pa.Table:
    with tempfile.TemporaryDirectory() as tmp:
        return pq.read_table(parquet_flavour(FIX / "aws_focus_1_0.csv", Path(tmp) / "x.parquet", flavour))


PARQUETS = {flavour: _parquet_table(flavour) for flavour in ("aws", "gcp")}
AWS = PARQUETS["aws"]


def _with(name: str, values: list[Any], typ: pa.DataType) -> bytes:
    """The AWS Parquet fixture with column `name` replaced (same length, another type)."""
    n = AWS.num_rows
    return pp.parquet_bytes(AWS.set_column(AWS.column_names.index(name), name, pa.array((values * n)[:n], typ)))


def _csv_with(name: str, value: str) -> bytes:
    header, rows = p.read_csv(FIX / "aws_focus_1_0.csv")
    i = header.index(name)
    return p.render_csv(header, [[value if j == i else c for j, c in enumerate(r)] for r in rows]).encode()


# Regressions the fuzz found (each escaped as a traceback, or wrote a wrong time).
STRUCT_TEXT = _with("ServiceName", [{"a": 1}], pa.struct([("a", pa.int64())]))  # ArrowNotImplementedError
BYTES_TEXT = _with("ServiceName", [b"\xff\xfe"], pa.binary())  # ArrowInvalid: invalid UTF-8
FAR_START = _with("ChargePeriodStart", [2**40 * 1000], pa.timestamp("ms"))  # ValueError: year 36812 is out of range
WRAPPED_START = _with("ChargePeriodStart", [2**62], pa.timestamp("ms"))  # ms → us wrapped round to a wrong time
HUGE_COST = _with("BilledCost", [2**63 - 1], pa.int64())  # ArrowInvalid: a safe int → float cast past 2**53
NOT_UTF8 = pp.not_utf8_parquet(AWS, "ServiceName")  # pages with a byte that is not UTF-8
INT_TAGS = _with("Tags", [[1, 2]], pa.list_(pa.int64()))  # TypeError: cannot unpack non-iterable int
# UnicodeDecodeError opening a file whose footer names a column in bytes that are not UTF-8.
BAD_FOOTER = pp.parquet_bytes(AWS.rename_columns([*AWS.column_names[:-1], "x_Zz"])).replace(b"x_Zz", b"x_Z\xff")
AWS_CSV = (FIX / "aws_focus_1_0.csv").read_bytes()
LEADING_BLANK = b"\n" + AWS_CSV  # read as an empty file: every row dropped without a word
QUOTED_CR_HEADER = b'"x\r"' + AWS_CSV[AWS_CSV.index(b",") :]  # the header's second line came back as a data row
# A NUL in the header: pyarrow's skip_rows_after_names (a first fix for the line above) skipped a data row too.
NUL_HEADER = (FIX / "bad_rows.csv").read_bytes().replace(b"Tags", b"\x00Tags", 1)
YEAR_0 = _csv_with("ChargePeriodStart", "0001-01-01T00:00:00+05:00")  # OverflowError: as_py() of year 0 in UTC
DEEP_TAGS = _csv_with("Tags", "[" * 3000 + "]" * 3000)  # RecursionError from json.loads


def csv_records(text: str) -> int | None:
    """Non-empty records after the header, by the csv module (None if it cannot split the text).

    Unlike the billing exports, a record of blank cells counts: pyarrow keeps it as a row (then quarantined).
    """
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error:
        return None
    return sum(1 for cells in records[1:] if cells)


def expected_rows(path: Path) -> int | None:
    if path.suffix == ".parquet":
        return parquet_rows(path)
    try:
        return csv_records(read_text(path))
    except SpendscopeError:
        return None


def check_ingest(ctx: RunContext, path: Path, data: bytes) -> None:
    path.write_bytes(data)
    got = attempt(lambda: drain(FocusCollector().collect_files(ctx, [str(path)])))
    if isinstance(got, SpendscopeError):
        return
    assert set(got.rows) <= {TABLE}
    check_quarantined(got.quarantined, str(path))
    want = expected_rows(path)
    if want is not None:
        assert got.total + len(got.quarantined) == want, (got.rows, [(q.line, q.reason) for q in got.quarantined])


@fuzz(120)
@given(data=st.sampled_from(CSVS).flatmap(lambda name: p.strategies_of(lambda: p.mutated_csv(FIX / name))))
@example(data=DEEP_TAGS)
@example(data=YEAR_0)
@example(data=LEADING_BLANK)
@example(data=QUOTED_CR_HEADER)
@example(data=NUL_HEADER)
def test_csv_export(fuzz_ctx: RunContext, tmp_path: Path, data: bytes) -> None:
    check_ingest(fuzz_ctx, tmp_path / "focus.csv", data)


@fuzz(80)
@given(data=st.sampled_from(sorted(PARQUETS)).flatmap(lambda f: pp.mutated_parquet(PARQUETS[f])))
@example(data=STRUCT_TEXT)
@example(data=BYTES_TEXT)
@example(data=FAR_START)
@example(data=WRAPPED_START)
@example(data=INT_TAGS)
@example(data=BAD_FOOTER)
@example(data=HUGE_COST)
@example(data=NOT_UTF8)
def test_parquet_export(fuzz_ctx: RunContext, tmp_path: Path, data: bytes) -> None:
    check_ingest(fuzz_ctx, tmp_path / "focus.parquet", data)


def test_parquet_time_past_the_microsecond_range_is_quarantined_not_wrapped(
    fuzz_ctx: RunContext, tmp_path: Path
) -> None:
    """A ms ChargePeriodStart too big for microseconds used to wrap round (an unchecked cast) into a wrong day."""
    path = tmp_path / "focus.parquet"
    path.write_bytes(WRAPPED_START)
    got = drain(FocusCollector().collect_files(fuzz_ctx, [str(path)]))
    assert got.total == 0 and len(got.quarantined) == AWS.num_rows
    assert all(q.reason.startswith("ChargePeriodStart: cannot parse") for q in got.quarantined)


def test_cli_refuses_a_bad_export_with_a_message(tmp_path: Path) -> None:
    """A UTF-16 CSV, a CSV without BilledCost, a cut Parquet file: each a clear error, no traceback."""
    header, rows = p.read_csv(FIX / "aws_focus_1_0.csv")
    keep = [i for i, name in enumerate(header) if name != "BilledCost"]
    bad = {
        "utf16.csv": p.render_csv(header, rows).encode("utf-16"),
        "nocost.csv": p.render_csv([header[i] for i in keep], [[r[i] for i in keep] for r in rows]).encode(),
        "cut.parquet": pp.parquet_bytes(AWS)[:-200],
    }
    for name, data in bad.items():
        (tmp_path / name).write_bytes(data)
        check_refused(cli_collect(tmp_path / name.replace(".", "_"), "focus", tmp_path / name))
