"""Pure FOCUS value parsing: dates, decimals, tags, headers (no lake involved)."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest

from collectors.focus.parse import canonical_name, map_header, missing_required, parse_batch
from collectors.focus.values import parse_decimals, parse_tags, parse_timestamps, tags_json

UTC = dt.UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01-01T00:00:00Z", dt.datetime(2025, 1, 1, tzinfo=UTC)),
        ("2025-01-01T00:00:00+00:00", dt.datetime(2025, 1, 1, tzinfo=UTC)),
        ("2025-01-01T05:30:00+05:30", dt.datetime(2025, 1, 1, tzinfo=UTC)),
        ("2025-01-01T00:00:00", dt.datetime(2025, 1, 1, tzinfo=UTC)),  # no zone = UTC
        ("2025-01-01 00:00:00", dt.datetime(2025, 1, 1, tzinfo=UTC)),
        ("2025-01-01 08:00:00 UTC", dt.datetime(2025, 1, 1, 8, tzinfo=UTC)),  # BigQuery CSV
        ("2025-01-01T00:00:00.1234567Z", dt.datetime(2025, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)),  # Azure
        ("2025-01-01T00:00Z", dt.datetime(2025, 1, 1, tzinfo=UTC)),  # OCI
        ("2025-01-01", dt.datetime(2025, 1, 1, tzinfo=UTC)),
        ("  2025-01-01T00:00:00z ", dt.datetime(2025, 1, 1, tzinfo=UTC)),
        ("", None),
    ],
)
def test_timestamp_spellings_parse_to_utc(text: str, expected: dt.datetime | None) -> None:
    values, errors = parse_timestamps(pa.array([text]))
    assert errors == []
    assert values.to_pylist() == [expected]


def test_unparsable_timestamps_are_reported_by_row_and_others_kept() -> None:
    values, errors = parse_timestamps(pa.array(["2025-01-01T00:00:00Z", "yesterday", "2025-02-30T00:00:00Z"]))
    assert errors == [(1, "yesterday"), (2, "2025-02-30T00:00:00Z")]
    assert values.to_pylist() == [dt.datetime(2025, 1, 1, tzinfo=UTC), None, None]


def test_decimal_text_parses_and_bad_values_are_reported() -> None:
    values, errors = parse_decimals(pa.array(["1.5", "", "-0.25", "1e-3", "NULL", "1,5", "nan", None]))
    assert values.to_pylist() == [1.5, None, -0.25, 0.001, None, None, None, None]
    assert errors == [(5, "1,5"), (6, "nan")]


def test_parquet_decimal_costs_cast_to_double() -> None:
    from decimal import Decimal

    values, errors = parse_decimals(pa.array([Decimal("63.200000000")], pa.decimal128(38, 9)))
    assert (values.to_pylist(), errors) == ([63.2], [])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('{"team":"ml"}', {"team": "ml"}),
        ("{}", {}),
        ("", None),
        ("null", None),
        (None, None),
        ('{"a":{"b":1},"n":3,"t":true,"z":null}', {"a": '{"b":1}', "n": "3", "t": "true", "z": None}),
        ('"team": "ml","env": "prod"', {"team": "ml", "env": "prod"}),  # Azure without braces
        ('"{\\"team\\":\\"ml\\"}"', {"team": "ml"}),  # double-encoded
        ([("team", "ml"), ("team", "other")], {"team": "ml"}),  # Parquet map: first key wins
        ([{"key": "team", "value": "ml"}], {"team": "ml"}),  # BigQuery ARRAY<STRUCT<key, value>>
    ],
)
def test_tags_normalize_to_json_objects_with_string_values(value: object, expected: dict | None) -> None:
    out = tags_json(value)
    assert (None if out is None else json.loads(out)) == expected


@pytest.mark.parametrize("value", ["[1, 2]", "not json", "42"])
def test_tags_that_are_not_objects_are_rejected(value: str) -> None:
    with pytest.raises(ValueError):
        tags_json(value)


def test_repeated_tags_are_converted_once_per_distinct_value_and_errors_keep_rows() -> None:
    values, errors = parse_tags(pa.array(['{"team":"ml"}', "oops", '{"team":"ml"}', "oops", None]))
    assert values.to_pylist() == ['{"team":"ml"}', None, '{"team":"ml"}', None, None]
    assert errors == [(1, "oops"), (3, "oops")]


def test_header_mapping_is_case_insensitive_strips_bom_and_ignores_unknown() -> None:
    header = [
        "\ufeffBilledCost",
        "chargeperiodstart",
        " ChargePeriodEnd ",
        "x_BilledCostInUsd",
        "oci_Ref",
        "billedcost",
    ]
    assert map_header(header) == {"BilledCost": 0, "ChargePeriodStart": 1, "ChargePeriodEnd": 2}
    assert canonical_name("SERVICEPROVIDERNAME") == "ServiceProviderName"
    assert missing_required(["BilledCost"]) == ["ChargePeriodStart", "ChargePeriodEnd"]


def test_parse_batch_prefers_provider_name_then_service_then_host_provider() -> None:
    cols = {
        "BilledCost": pa.array(["1", "2", "3"]),
        "ChargePeriodStart": pa.array(["2025-01-01T00:00:00Z"] * 3),
        "ChargePeriodEnd": pa.array(["2025-01-01T01:00:00Z"] * 3),
        "ProviderName": pa.array(["AWS", "", ""]),
        "ServiceProviderName": pa.array(["Databricks", "Databricks", ""]),
        "HostProviderName": pa.array(["AWS", "AWS", "Microsoft"]),
    }
    parsed = parse_batch(cols, "f.csv", "/x/f.csv")
    assert parsed.bad == []
    assert parsed.table.column("ProviderName").to_pylist() == ["AWS", "Databricks", "Microsoft"]
    assert parsed.table.column("x_SourceFile").to_pylist() == ["f.csv"] * 3
    assert parsed.table.column("_day").to_pylist() == [dt.date(2025, 1, 1)] * 3
