"""Host resolution: a GPU sample's host to its inventory item (HostIndex, the one matcher; resolve, one-off)."""

from __future__ import annotations

import datetime as dt

from collectors.inventory.hosts import HostIndex, matches, resolve
from collectors.inventory.item import new_row

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)


def _items() -> list[dict]:
    return [
        new_row(NOW, "gce", "instance", "t", resource_id="1", resource_name="a3-train-01",
                hosts=["a3-train-01", "10.128.0.7"], price_usd_per_hour=88.0),
        new_row(NOW, "gke", "node_pool", "t", resource_id="pool", resource_name="h100-pool",
                hosts=["gke-train-h100-pool-5e2b9c1d-*"], price_usd_per_hour=120.0),
        new_row(NOW, "gke", "node_pool", "t", resource_id="broad", resource_name="fallback",
                hosts=["gke-train-*"]),
        new_row(NOW, "databricks", "cluster", "t", resource_id="1120-060000-h100ft01",
                hosts=["10.4.0.12", "1120-060000-h100ft01-*"]),
    ]  # fmt: skip


def test_exact_name_beats_any_pattern_and_longer_pattern_beats_shorter() -> None:
    assert matches("a3-train-01", "A3-TRAIN-01") > matches("a3-*", "a3-train-01") > 0
    assert matches("gke-train-h100-*", "gke-train-h100-x") > matches("gke-train-*", "gke-train-h100-x")
    assert matches("*", "anything") == 0  # an empty prefix claims nothing


def test_resolve_picks_the_most_specific_item() -> None:
    items = _items()
    assert resolve(items, "a3-train-01")["resource_id"] == "1"
    assert resolve(items, "10.128.0.7")["resource_id"] == "1"
    assert resolve(items, "a3-train-01.us-central1-a.c.ml-prod-4821.internal")["resource_id"] == "1"
    assert resolve(items, "gke-train-h100-pool-5e2b9c1d-x7k2")["resource_id"] == "pool"
    assert resolve(items, "gke-train-other-9f-abcd")["resource_id"] == "broad"
    assert resolve(items, "1120-060000-h100ft01-10-4-0-13")["resource_id"] == "1120-060000-h100ft01"
    assert resolve(items, "unknown-host") is None


def test_a_fqdn_matches_its_instance_by_short_name_before_any_pattern() -> None:
    index = HostIndex([*_items(), new_row(NOW, "gke", "node_pool", "t", resource_id="a3-pool", hosts=["a3-*"])])
    hit = index.lookup("a3-train-01.us-central1-a.c.ml-prod-4821.internal")
    assert hit is not None and hit["resource_id"] == "1"  # the exact short name, not the broader pattern
    other = index.lookup("a3-other-07.c.ml-prod-4821.internal")
    assert other is not None and other["resource_id"] == "a3-pool"  # no exact name: the pattern


def test_an_ip_address_is_matched_whole_never_by_its_first_octet() -> None:
    index = HostIndex([new_row(NOW, "gce", "instance", "t", resource_id="odd", hosts=["10"]), *_items()])
    hit = index.lookup("10.128.0.7")
    assert hit is not None and hit["resource_id"] == "1"
    assert index.lookup("10.9.9.9") is None  # "10" is no name of 10.9.9.9


def test_empty_hosts_and_bare_patterns_claim_nothing() -> None:
    index = HostIndex([new_row(NOW, "gce", "instance", "t", resource_id="x", hosts=["", "*"])])
    assert index.lookup("anything") is None and index.lookup("") is None and index.lookup(None) is None
    assert not index
