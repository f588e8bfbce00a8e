"""The catalog (exporters/metrics.csv) is the contract: emitted ⊆ catalog ⊆ emitted, types match, DESIGN §6 names."""

from __future__ import annotations

import re

from prometheus_client.parser import text_string_to_metric_families

from collectors import load_all
from exporters.prometheus.catalog import catalog
from exporters.prometheus.exposition import render
from exporters.prometheus.snapshot import SnapshotBuilder

BASE_UNITS = {"usd", "usd_per_hour", "seconds", "bytes", "bytes_per_second", "ratio", "watts", "celsius"}
NOT_BASE = re.compile(r"(percent|pct|milli|micro|kilo|mega|giga|kib|mib|gib|_kb|_mb|_gb|minutes|hours?_total|cents)")
# Labels whose values grow without bound (per pod, per run, per resource): never on a metric we expose.
UNBOUNDED = {"pod", "container", "namespace", "gpu_uuid", "uuid", "resource_id", "run_id", "instance_id", "sku", "user"}


def emitted(builder: SnapshotBuilder) -> dict[str, str]:
    """Sample name → type, as a Prometheus parser reads our exposition."""
    text = render(builder.build()).decode()
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[s.name] = fam.type
    return out


def test_every_emitted_metric_is_in_the_catalog_and_every_catalog_entry_is_emitted(builder: SnapshotBuilder) -> None:
    names = set(emitted(builder))
    assert names - set(catalog()) == set(), "emitted but not in exporters/metrics.csv"
    assert set(catalog()) - names == set(), "in the catalog but not emitted by a fully seeded warehouse"


def test_no_snapshot_part_failed_on_the_seeded_warehouse(builder: SnapshotBuilder) -> None:
    snap = builder.build()
    fam = snap.family("spendscope_exporter_snapshot_errors_total")
    assert fam is not None
    assert {labels[0]: v for labels, v in fam.samples} == dict.fromkeys(builder.errors, 0.0)


def test_exposition_types_and_label_names_match_the_catalog(builder: SnapshotBuilder) -> None:
    text = render(builder.build()).decode()
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            spec = catalog()[s.name]
            assert fam.type == spec.type, s.name
            assert tuple(s.labels) == spec.labels, s.name
    for name, spec in catalog().items():
        assert f"# TYPE {name} {spec.type}\n" in text


def test_catalog_names_follow_the_naming_rules() -> None:
    for name, spec in catalog().items():
        assert re.fullmatch(r"spendscope_[a-z][a-z0-9_]*[a-z0-9]", name), name
        assert spec.type in {"gauge", "counter"}, name
        assert (spec.type == "counter") == name.endswith("_total"), f"{name}: _total only and always on counters"
        base = name.removesuffix("_total")
        if spec.unit:
            assert spec.unit in BASE_UNITS, f"{name}: {spec.unit} is not a base unit"
            assert base.endswith("_" + spec.unit), f"{name} must end in _{spec.unit}"
        assert not NOT_BASE.search(name), f"{name} uses a non-base unit"
        assert spec.help.strip(), f"{name} has no help"
        for label in spec.labels:
            assert re.fullmatch(r"[a-z][a-z0-9_]*", label), (name, label)
            assert label not in UNBOUNDED, f"{name}: label {label} is unbounded"


def test_every_registered_collector_has_an_enabled_series(builder: SnapshotBuilder) -> None:
    builder.collector_names = lambda: load_all().names()
    snap = builder.build()
    fam = snap.family("spendscope_collector_enabled")
    assert fam is not None
    assert set(load_all().names()) <= {labels[0] for labels, _ in fam.samples}
