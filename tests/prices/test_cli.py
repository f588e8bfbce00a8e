"""`spendscope prices sync|list` as a user runs them (the installed console script), the Catalog being the loopback
stand-in (not Google) reached by the real client; exit codes 2 (bad config) and 4 (unreachable API)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.common.servers import free_port
from tests.inventory.api_stub import ApiStub
from tests.prices.conftest import PAGE_SIZE
from tests.test_cli import run_cli, write_config

pytestmark = pytest.mark.integration


def prices_section(endpoint: str, extra: str = "") -> str:
    return (
        f'[prices]\napi_endpoint = "{endpoint}"\nregions = ["us-central1", "europe-west4"]\npage_size = {PAGE_SIZE}\n'
        f"{extra}"
    )


def test_sync_then_list_and_a_second_sync_adds_nothing(tmp_path: Path, catalog: ApiStub) -> None:
    cfg = write_config(tmp_path, prices_section(catalog.url, "[prices.discounts.resource_group]\nGPU = 10\n"))

    dry = run_cli(cfg, "prices", "sync", "--dry-run")
    first = run_cli(cfg, "prices", "sync")
    second = run_cli(cfg, "prices", "sync")
    listed = run_cli(cfg, "prices", "list", "--sku", "h100", "--sku", "4B7F-9D20-6E81", "--format", "json")

    assert dry.returncode == 0, dry.stderr
    assert "would add 28, would close 0" in dry.stdout and "nothing written" in dry.stdout
    assert first.returncode == 0, first.stderr
    assert "catalog services/6F81-5844-456A: 28 SKU(s) read" in first.stdout
    assert "added 28, closed 0, unchanged 0" in first.stdout
    assert second.returncode == 0 and "added 0, closed 0, unchanged 28" in second.stdout
    assert catalog.problems == []
    rows = json.loads(listed.stdout)
    assert {(r["sku_id"], r["region"], r["usage_type"]) for r in rows} == {
        ("9A2C-41E7-8B3D", "us-central1", "OnDemand"), ("3F60-B9C4-7D15", "us-central1", "Preemptible"),
        ("C1D7-0E55-A9F2", "europe-west4", "OnDemand"), ("6B0A-D2F8-3C71", "europe-west4", "Preemptible"),
        ("8D3E-A6C0-51F7", "us-central1", "Commit1Yr"), ("4B7F-9D20-6E81", "us-central1", "OnDemand"),
    }  # fmt: skip
    h100 = next(r for r in rows if r["sku_id"] == "9A2C-41E7-8B3D")
    assert (h100["discount_pct"], h100["list_rate"], h100["rate"]) == (10, 11.0612, pytest.approx(11.0612 * 0.9))


def test_an_unreachable_catalog_exits_4_with_a_clear_message(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, prices_section(f"http://127.0.0.1:{free_port()}"))

    res = run_cli(cfg, "prices", "sync")

    assert res.returncode == 4
    assert "Cloud Billing Catalog API" in res.stderr and "list services failed" in res.stderr
    assert "Traceback" not in res.stderr


def test_a_bad_prices_section_exits_2_naming_the_key(tmp_path: Path) -> None:
    bad = '[prices]\nregions = ["us-central1"]\n[prices.discounts.sku]\n"9A2C-41E7-8B3D" = 150\n'
    cfg = write_config(tmp_path, bad)

    res = run_cli(cfg, "prices", "sync")

    assert res.returncode == 2
    assert "prices.discounts.sku" in res.stderr and "0 to 100" in res.stderr and "Traceback" not in res.stderr


def test_a_service_the_catalog_does_not_know_exits_2(tmp_path: Path, catalog: ApiStub) -> None:
    cfg = write_config(tmp_path, prices_section(catalog.url, 'services = ["AAAA-BBBB-CCCC"]\n'))

    res = run_cli(cfg, "prices", "sync")

    assert res.returncode == 2
    assert "prices.services: not a Cloud Billing Catalog service: AAAA-BBBB-CCCC" in res.stderr
