"""Fuzz Databricks export ingest (usage, list_prices, legacy billable usage; CSV, JSON, NDJSON, Parquet).

Driven through the collector's `--from-file` entry point. Property: usage rows and quarantined rows
(file, line, reason) account for every record; list prices (an upsert by price period, so duplicates
collapse) never exceed the records left after quarantine; or the file is refused with a SpendscopeError.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
from hypothesis import example, given
from hypothesis import strategies as st

from collectors.base import RunContext
from collectors.common.files import read_text
from collectors.databricks.collector import DatabricksCollector
from spendscope.errors import SpendscopeError
from tests.fuzz import payloads as p
from tests.fuzz import payloads_json as pj
from tests.fuzz import payloads_parquet as pp
from tests.fuzz.conftest import fuzz
from tests.fuzz.props import (
    attempt,
    check_quarantined,
    check_refused,
    cli_collect,
    csv_data_records,
    drain,
    parquet_rows,
)

FIX = p.FIXTURES / "databricks"
CSVS = ["usage.csv", "bad_usage.csv", "list_prices.csv", "list_prices_flat.csv", "billable_usage_legacy.csv"]
JSONS = {name: json.loads((FIX / name).read_text()) for name in ("usage.json", "list_prices.json")}
TABLES = {name: pa.Table.from_pylist(values) for name, values in JSONS.items()}
USAGE, PRICES = "databricks_usage", "databricks_list_prices"
ROW = JSONS["usage.json"][0]


def _ndjson(**changes: str) -> bytes:
    """One valid usage row as an NDJSON line with some values replaced by raw JSON text."""
    row = pj.json_rows([ROW])[0]
    assert not isinstance(row, str)
    return (pj.render_row([(k, changes.get(k, v)) for k, v in row]) + "\n").encode()


def _csv(name: str, column: str, value: str) -> bytes:
    header, rows = p.read_csv(FIX / name)
    i = header.index(column)
    return p.render_csv(header, [[value if j == i else c for j, c in enumerate(r)] for r in rows]).encode()


def _parquet(name: str, column: str, array: pa.Array) -> bytes:
    table = TABLES[name]
    return pp.parquet_bytes(table.set_column(table.column_names.index(column), column, array))


# Regressions the fuzz found or that reading the parsers for it turned up (each escaped as a traceback).
EPOCH_1E20 = _ndjson(usage_start_time="1e20")  # OverflowError: fromtimestamp
HUGE_QUANTITY = _ndjson(usage_quantity="1" + "0" * 400)  # OverflowError: int too large to convert to float
OFFSET_YEAR_1 = _ndjson(usage_end_time='"0001-01-01T00:00:00+05:00"')  # OverflowError: astimezone
SEPARATOR = _ndjson(usage_unit='"DBU\u2028x"')  # splitlines split the row in two
SURROGATE = _ndjson(sku_name='"\\ud800"')  # UnicodeEncodeError building the Arrow table
DEEP_ARRAY = b"[" * 3000 + b"]" * 3000  # RecursionError from json.loads of a whole array
UNHASHABLE_TAGS = _csv("usage.csv", "custom_tags", "{[1]: 2}")  # TypeError from ast.literal_eval
DEEP_TAGS = _csv("usage.csv", "custom_tags", "[" * 3000 + "]" * 3000)  # RecursionError from json.loads
LAST_HOUR = _csv("billable_usage_legacy.csv", "timestamp", "9999-12-31T23:30:00")  # OverflowError: start + 1h
FAR_START = _parquet(  # ValueError: year out of range, from to_pylist
    "usage.json", "usage_start_time", pa.array([2**40 * 1000] * len(JSONS["usage.json"]), pa.timestamp("ms"))
)
NOT_UTF8 = pp.not_utf8_parquet(TABLES["usage.json"], "sku_name")  # UnicodeDecodeError from to_pylist
BAD_PAGE = FAR_START[:60] + b"\xff" + FAR_START[61:]  # OSError from a damaged page


def expected_records(path: Path) -> int | None:
    """Records in the file by a reading independent of the parser (None where it cannot tell)."""
    if path.suffix == ".parquet":
        return parquet_rows(path)
    try:
        text = read_text(path)
    except SpendscopeError:
        return None
    if path.suffix == ".csv":
        return csv_data_records(text)
    if text.lstrip().startswith("["):
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            return None
        return len(value) if isinstance(value, list) else None
    return sum(1 for line in text.split("\n") if line.strip())


def check_ingest(ctx: RunContext, path: Path, data: bytes) -> None:
    path.write_bytes(data)
    collector = DatabricksCollector.from_settings(ctx.settings)
    got = attempt(lambda: drain(collector.collect_files(ctx, [str(path)])))
    if isinstance(got, SpendscopeError):
        return
    check_quarantined(got.quarantined, str(path))
    assert set(got.rows) <= {USAGE, PRICES}
    want = expected_records(path)
    if want is None:
        return
    if got.rows.get(PRICES):
        assert got.rows[PRICES] <= want - len(got.quarantined), (got.rows, [q.reason for q in got.quarantined])
    else:
        assert got.rows.get(USAGE, 0) + len(got.quarantined) == want, (got.rows, [q.reason for q in got.quarantined])


@fuzz(120)
@given(data=st.sampled_from(CSVS).flatmap(lambda name: p.strategies_of(lambda: p.mutated_csv(FIX / name))))
@example(data=UNHASHABLE_TAGS)
@example(data=DEEP_TAGS)
@example(data=LAST_HOUR)
def test_csv_export(fuzz_ctx: RunContext, tmp_path: Path, data: bytes) -> None:
    check_ingest(fuzz_ctx, tmp_path / "export.csv", data)


@fuzz(100)
@given(
    data=st.sampled_from(sorted(JSONS)).flatmap(
        lambda name: p.strategies_of(lambda: pj.mutated_json(JSONS[name][:6], array=True))
    )
)
@example(data=DEEP_ARRAY)
def test_json_array_export(fuzz_ctx: RunContext, tmp_path: Path, data: bytes) -> None:
    check_ingest(fuzz_ctx, tmp_path / "export.json", data)


@fuzz(100)
@given(
    data=st.sampled_from(sorted(JSONS)).flatmap(
        lambda name: p.strategies_of(lambda: pj.mutated_json(JSONS[name][:6], array=False))
    )
)
@example(data=EPOCH_1E20)
@example(data=HUGE_QUANTITY)
@example(data=OFFSET_YEAR_1)
@example(data=SEPARATOR)
@example(data=SURROGATE)
def test_ndjson_export(fuzz_ctx: RunContext, tmp_path: Path, data: bytes) -> None:
    check_ingest(fuzz_ctx, tmp_path / "export.ndjson", data)


@fuzz(80)
@given(data=st.sampled_from(sorted(TABLES)).flatmap(lambda name: pp.mutated_parquet(TABLES[name])))
@example(data=FAR_START)
@example(data=BAD_PAGE)
@example(data=NOT_UTF8)
def test_parquet_export(fuzz_ctx: RunContext, tmp_path: Path, data: bytes) -> None:
    check_ingest(fuzz_ctx, tmp_path / "export.parquet", data)


def test_cli_refuses_a_bad_export_with_a_message(tmp_path: Path) -> None:
    """A latin-1 CSV, a cut JSON array, a usage export without usage_end_time: each a clear error, no traceback."""
    bad = {
        "latin1.csv": (FIX / "usage.csv").read_text().replace("llm-finetune", "llm-finétune").encode("latin-1"),
        "cut.json": (FIX / "usage.json").read_bytes()[:500],
        "missing.csv": (FIX / "usage_missing_column.csv").read_bytes(),
    }
    for name, data in bad.items():
        (tmp_path / name).write_bytes(data)
        check_refused(cli_collect(tmp_path / name.replace(".", "_"), "databricks", tmp_path / name))
