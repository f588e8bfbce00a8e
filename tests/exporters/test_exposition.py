"""Golden-text tests of our hand-written text format 0.0.4 (escaping, HELP/TYPE lines, values, no timestamps)."""

from __future__ import annotations

import datetime as dt

from prometheus_client.parser import text_string_to_metric_families

from exporters.prometheus.catalog import MetricSpec, parse_catalog
from exporters.prometheus.exposition import escape_help, escape_label, format_value, render
from exporters.prometheus.snapshot import Family, Snapshot

T0 = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)


def test_golden_text_with_escaped_labels_and_help_gauge_and_counter() -> None:
    snap = Snapshot(
        [
            Family(
                MetricSpec(
                    "spendscope_demo_ratio",
                    "gauge",
                    "ratio",
                    'Help with \\ backslash,\nnewline and "quotes"',
                    ("host", "interface"),
                ),
                [(("h1", 'a\\b"c\nd'), 0.25), (("h2", "ünïcode ☃"), 1.0)],
            ),
            Family(MetricSpec("spendscope_demo_runs_total", "counter", "", "Runs", ("job",)), [(("x",), 3.0)]),
            Family(MetricSpec("spendscope_demo_seconds", "gauge", "seconds", "No labels", ()), [((), 1.5e-7)]),
            Family(MetricSpec("spendscope_demo_empty", "gauge", "", "Nothing", ()), []),
        ],
        T0,
    )
    assert render(snap).decode("utf-8") == (
        '# HELP spendscope_demo_ratio Help with \\\\ backslash,\\nnewline and "quotes"\n'
        "# TYPE spendscope_demo_ratio gauge\n"
        'spendscope_demo_ratio{host="h1",interface="a\\\\b\\"c\\nd"} 0.25\n'
        'spendscope_demo_ratio{host="h2",interface="ünïcode ☃"} 1\n'
        "# HELP spendscope_demo_runs_total Runs\n"
        "# TYPE spendscope_demo_runs_total counter\n"
        'spendscope_demo_runs_total{job="x"} 3\n'
        "# HELP spendscope_demo_seconds No labels\n"
        "# TYPE spendscope_demo_seconds gauge\n"
        "spendscope_demo_seconds 1.5e-07\n"
    )


def test_escaped_label_values_parse_back_to_the_original_with_prometheus_client() -> None:
    raw = 'a\\b"c\nd'
    spec = MetricSpec("spendscope_demo_ratio", "gauge", "ratio", "x", ("interface",))
    text = render(Snapshot([Family(spec, [((raw,), 0.5)])], T0)).decode()
    (fam,) = text_string_to_metric_families(text)
    assert fam.samples[0].labels == {"interface": raw}
    assert fam.samples[0].value == 0.5


def test_escape_helpers_and_value_formatting() -> None:
    assert escape_label("plain") == "plain"
    assert escape_label('\\"\n') == '\\\\\\"\\n'
    assert escape_help('a\\b\n"q"') == 'a\\\\b\\n"q"'
    assert [format_value(v) for v in (0.0, 42.0, -3.0, 0.1, 1e21, float("nan"), float("inf"), float("-inf"))] == [
        "0", "42", "-3", "0.1", "1e+21", "NaN", "+Inf", "-Inf",
    ]  # fmt: skip
    assert format_value(7) == "7"  # ints from Arrow columns


def test_no_sample_line_carries_a_timestamp() -> None:
    spec = MetricSpec("spendscope_demo_seconds", "gauge", "seconds", "x", ("a",))
    lines = render(Snapshot([Family(spec, [(("v w",), 1.0)])], T0)).decode().splitlines()
    sample = next(ln for ln in lines if not ln.startswith("#"))
    assert sample.rsplit("} ", 1)[1] == "1"  # value only, nothing after it


def test_catalog_parser_reads_labels_and_rejects_duplicates() -> None:
    text = 'name,type,unit,help,labels\nspendscope_a_ratio,gauge,ratio,"A, with comma",x;y\nspendscope_b,gauge,,B,\n'
    cat = parse_catalog(text)
    assert cat["spendscope_a_ratio"] == MetricSpec("spendscope_a_ratio", "gauge", "ratio", "A, with comma", ("x", "y"))
    assert cat["spendscope_b"].labels == ()
    dup = text + "spendscope_b,gauge,,B again,\n"
    try:
        parse_catalog(dup)
    except ValueError as exc:
        assert "spendscope_b" in str(exc)
    else:
        raise AssertionError("a duplicated catalog row must be rejected")
