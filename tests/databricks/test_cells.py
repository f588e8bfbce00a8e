"""Pure parsers: cells in their usual spellings, Statement API values by type, legacy rows, pull plans."""

from __future__ import annotations

import datetime as dt

import pytest

from collectors.databricks import cells, pull
from collectors.databricks.cells import CellError
from collectors.databricks.legacy_csv import legacy_record, parse_tags
from collectors.databricks.parse_results import convert
from collectors.databricks.rows import normalize_sku, price_row

UTC = dt.UTC


@pytest.mark.parametrize(
    "text",
    [
        '{"team":"ml","env":"prod"}',
        "{'team': 'ml', 'env': 'prod'}",
        "{team -> ml, env -> prod}",
        '[{"key":"team","value":"ml"},{"key":"env","value":"prod"}]',
    ],
)
def test_map_cell_spellings_read_the_same(text: str) -> None:
    assert cells.mapping(text, "custom_tags") == {"team": "ml", "env": "prod"}


def test_map_cell_from_parquet_pairs_and_nulls() -> None:
    assert cells.mapping([("team", "ml")], "t") == {"team": "ml"}
    assert cells.mapping("{a -> null}", "t") == {"a": None}
    assert cells.mapping("", "t") is None and cells.mapping("null", "t") is None


def test_unreadable_map_cell_is_an_error() -> None:
    with pytest.raises(CellError, match="custom_tags: cannot read"):
        cells.mapping('{"team": "ml"', "custom_tags")


@pytest.mark.parametrize(
    "text",
    ["2026-11-14T10:00:00.000Z", "2026-11-14 10:00:00", "2026-11-14T11:00:00+01:00", "2026-11-14 10:00:00 UTC"],
)
def test_timestamp_spellings_are_utc(text: str) -> None:
    assert cells.timestamp(text, "t") == dt.datetime(2026, 11, 14, 10, tzinfo=UTC)


def test_numbers_reject_garbage_and_non_finite() -> None:
    assert cells.number("259.295800000000000000", "q") == pytest.approx(259.2958)
    for bad in ("abc", "inf", True):
        with pytest.raises(CellError):
            cells.number(bad, "q")


@pytest.mark.parametrize(
    ("value", "type_name", "expected"),
    [
        ("12.500000000000000000", "DECIMAL", 12.5),
        ("42", "LONG", 42),
        ("true", "BOOLEAN", True),
        ("2026-11-14", "DATE", dt.date(2026, 11, 14)),
        ("2026-11-14T10:00:00.000Z", "TIMESTAMP", dt.datetime(2026, 11, 14, 10, tzinfo=UTC)),
        ('{"team":"ml"}', "MAP", {"team": "ml"}),
        ('{"cluster_id":null}', "STRUCT", {"cluster_id": None}),
        ("PREMIUM_JOBS_COMPUTE", "STRING", "PREMIUM_JOBS_COMPUTE"),
        (None, "DECIMAL", None),
    ],
)
def test_statement_values_convert_by_manifest_type(value: str | None, type_name: str, expected: object) -> None:
    assert convert(value, type_name, "c") == expected


def test_sku_names_normalize_to_system_table_spelling() -> None:
    assert normalize_sku(" Premium All-Purpose Compute ") == "PREMIUM_ALL_PURPOSE_COMPUTE"
    assert normalize_sku("standard_all_purpose_compute") == "STANDARD_ALL_PURPOSE_COMPUTE"


def test_legacy_tags_accept_json_and_key_value_pairs() -> None:
    assert parse_tags('{"team":"ml"}') == {"team": "ml"}
    assert parse_tags("team:ml;env:prod") == {"team": "ml", "env": "prod"}
    assert parse_tags("team=ml, env=prod") == {"team": "ml", "env": "prod"}
    with pytest.raises(CellError):
        parse_tags("no pairs here")


def test_legacy_row_maps_to_one_usage_hour() -> None:
    rec = legacy_record(
        {"workspaceId": "1", "timestamp": "2026-11-10T08:00:00.000Z", "clusterId": "c-1", "clusterName": "n",
         "clusterNodeType": "a2-highgpu-1g", "clusterCustomTags": "", "sku": "Premium Jobs Compute", "dbus": "2.5"},
        "GCP",
    )  # fmt: skip
    assert rec["usage_end_time"] == dt.datetime(2026, 11, 10, 9, tzinfo=UTC)
    assert (rec["sku_name"], rec["usage_quantity"], rec["cloud"]) == ("PREMIUM_JOBS_COMPUTE", 2.5, "GCP")
    assert rec["custom_tags"] == {"ClusterName": "n"}


def test_price_row_needs_a_price() -> None:
    base = {"sku_name": "S", "price_start_time": "2023-01-01T00:00:00Z"}
    assert price_row({**base, "pricing.default": "0.1"})["pricing"]["default"] == 0.1
    with pytest.raises(CellError, match="neither default nor effective_list"):
        price_row({**base, "pricing": '{"promotional":{"default":"0.07"}}'})


def test_pull_starts_trailing_days_before_last_pulled_day_or_initial_days_ago() -> None:
    today = dt.date(2026, 11, 20)
    assert pull.start_day(None, today, 10, 62) == dt.date(2026, 9, 19)
    assert pull.start_day(dt.date(2026, 11, 19), today, 10, 62) == dt.date(2026, 11, 9)


def test_windows_cover_every_day_once_and_end_open() -> None:
    got = list(pull.windows(dt.date(2026, 11, 1), dt.date(2026, 11, 20), 7))
    assert got == [
        (dt.date(2026, 11, 1), dt.date(2026, 11, 8)),
        (dt.date(2026, 11, 8), dt.date(2026, 11, 15)),
        (dt.date(2026, 11, 15), None),
    ]
    assert pull.window_days(dt.date(2026, 11, 15), None, dt.date(2026, 11, 20))[-1] == dt.date(2026, 11, 20)


def test_bad_statement_rows_are_quarantined_with_statement_and_row_number() -> None:
    from collectors.databricks.parse_results import result_table

    cols = [("sku_name", "STRING"), ("usage_start_time", "TIMESTAMP"), ("usage_end_time", "TIMESTAMP"),
            ("usage_quantity", "DECIMAL")]  # fmt: skip
    data = [
        ["PREMIUM_JOBS_COMPUTE", "2026-11-14T10:00:00.000Z", "2026-11-14T11:00:00.000Z", "1.5"],
        ["PREMIUM_JOBS_COMPUTE", "not-a-time", "2026-11-14T11:00:00.000Z", "1.5"],
        [None, "2026-11-14T10:00:00.000Z", "2026-11-14T11:00:00.000Z", "1.5"],
    ]
    table, bad = result_table("usage", cols, data, "databricks:h", "databricks:h statement s-1")

    assert table.num_rows == 1 and table.column("_day").to_pylist() == [dt.date(2026, 11, 14)]
    assert [(q.file, q.line, q.reason) for q in bad] == [
        ("databricks:h statement s-1", 2, "usage_start_time: not a timestamp: 'not-a-time'"),
        ("databricks:h statement s-1", 3, "sku_name is empty"),
    ]
