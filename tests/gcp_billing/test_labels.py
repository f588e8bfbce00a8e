"""Every accepted text form of a repeated field in CSV exports parses to the same key/value list."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from collectors.gcp_billing.labels import LabelTextError, parse_list_cell, parse_record_cell
from collectors.gcp_billing.parse_csv import parse_csv

WANT = [{"key": "team", "value": "ml"}, {"key": "env", "value": "prod"}]


@pytest.mark.parametrize(
    "text",
    [
        '[{"key":"team","value":"ml"},{"key":"env","value":"prod"}]',  # strict JSON (BigQuery)
        "[{'key': 'team', 'value': 'ml'}, {'key': 'env', 'value': 'prod'}]",  # Python repr (pandas round trip)
        '{"team":"ml","env":"prod"}',  # JSON object
        "{'team': 'ml', 'env': 'prod'}",  # Python dict repr
        "team:ml,env:prod",
        "team=ml;env=prod",
        " team = ml , env = prod ,",
    ],
)
def test_each_label_serialization_parses(text: str) -> None:
    assert parse_list_cell(text, key_value=True) == WANT


@pytest.mark.parametrize("text", ["", "[]", "null", "None", "  "])
def test_empty_label_forms_are_an_empty_list(text: str) -> None:
    assert parse_list_cell(text, key_value=True) == []


def test_system_label_keys_with_dots_and_slashes_parse_in_the_flat_form() -> None:
    got = parse_list_cell("compute.googleapis.com/machine_spec:a3-highgpu-8g,compute.googleapis.com/cores:208", True)
    assert got == [
        {"key": "compute.googleapis.com/machine_spec", "value": "a3-highgpu-8g"},
        {"key": "compute.googleapis.com/cores", "value": "208"},
    ]


def test_credits_take_json_or_repr_lists_but_not_the_flat_form() -> None:
    credits = '[{"name": "Sustained usage discount", "amount": "-0.15", "type": "SUSTAINED_USAGE_DISCOUNT"}]'
    assert parse_list_cell(credits, key_value=False)[0]["amount"] == "-0.15"
    assert parse_list_cell(credits.replace('"', "'"), key_value=False)[0]["type"] == "SUSTAINED_USAGE_DISCOUNT"
    with pytest.raises(LabelTextError):
        parse_list_cell("amount:-0.15", key_value=False)


@pytest.mark.parametrize("text", ["team:ml,broken", "[{'key': 'team'", "{not json}", "42"])
def test_unparsable_label_cells_raise(text: str) -> None:
    with pytest.raises(LabelTextError, match="cannot parse"):
        parse_list_cell(text, key_value=True)


def test_a_record_written_as_one_cell_parses() -> None:
    assert parse_record_cell('{"id": "6F81-5844-456A", "description": "Compute Engine"}') == {
        "id": "6F81-5844-456A",
        "description": "Compute Engine",
    }
    assert parse_record_cell("") is None


def test_csv_rows_with_every_label_form_and_flattened_credit_columns_ingest_alike() -> None:
    head = "billing_account_id,usage_start_time,usage_end_time,cost,labels,service,credits.amount,credits.type\n"
    rows = [
        '"[{""key"":""team"",""value"":""ml""},{""key"":""env"",""value"":""prod""}]"',
        "\"[{'key': 'team', 'value': 'ml'}, {'key': 'env', 'value': 'prod'}]\"",
        '"{""team"":""ml"",""env"":""prod""}"',
        '"team:ml,env:prod"',
        "team=ml;env=prod",
    ]
    body = "".join(
        f'A,2026-11-18 0{i}:00:00 UTC,2026-11-18 0{i + 1}:00:00,1.5,{labels},"{{""id"": ""6F81-5844-456A""}}",'
        '"[-0.25, ""-0.5""]","[""PROMOTION"", ""SUSTAINED_USAGE_DISCOUNT""]"\n'
        for i, labels in enumerate(rows)
    )
    parsed = parse_csv(io.StringIO(head + body, newline=""), "labels.csv")
    assert not parsed.quarantined
    out = parsed.table.to_pylist()
    assert [r["labels"] for r in out] == [WANT] * len(rows)
    assert {r["service"]["id"] for r in out} == {"6F81-5844-456A"}
    assert out[0]["credits"] == [
        {"name": None, "amount": -0.25, "full_name": None, "id": None, "type": "PROMOTION"},
        {"name": None, "amount": -0.5, "full_name": None, "id": None, "type": "SUSTAINED_USAGE_DISCOUNT"},
    ]
    assert out[0]["usage_end_time"] == dt.datetime(2026, 11, 18, 1, tzinfo=dt.UTC)  # zone-less text is UTC


def test_flattened_credit_columns_of_different_lengths_are_quarantined() -> None:
    text = (
        "billing_account_id,usage_start_time,usage_end_time,cost,credits.amount,credits.type\n"
        'A,2026-11-18 00:00:00 UTC,2026-11-18 01:00:00 UTC,1,"[-1, -2]","[""PROMOTION""]"\n'
    )
    parsed = parse_csv(io.StringIO(text, newline=""), "flat.csv")
    assert parsed.table.num_rows == 0
    assert [(q.line, q.reason) for q in parsed.quarantined] == [
        (2, "credits.amount, credits.type: lists of different lengths")
    ]
