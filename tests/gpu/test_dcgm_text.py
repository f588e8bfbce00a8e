"""The dcgm-exporter text parser on real and documented-format scrapes (tests/fixtures/dcgm/README.md)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from collectors.gpu.dcgm_text import parse_labels, parse_scrape
from collectors.gpu.fields import FIELDS
from collectors.gpu.rows import to_table

FIX = Path(__file__).parents[1] / "fixtures" / "dcgm"
MIB = 1048576
TS = dt.datetime(2026, 11, 20, 12, 0, 30, tzinfo=dt.UTC)


def rows_of(name: str, host: str | None = "10.0.0.9") -> list[dict[str, object]]:
    """Parse a fixture into gpu_samples dicts, sorted by (gpu_index, mig_instance)."""
    rows, _ = parse_scrape((FIX / name).read_text(), host)
    table = to_table(rows.metas, rows.values, TS, "dcgm", "http://10.0.0.9:9400/metrics", "dcgm")
    return sorted(table.to_pylist(), key=lambda r: (r["gpu_index"], r["mig_instance"] or ""))


def test_h100_exporter3_stores_every_default_counter_in_base_units() -> None:
    rows = rows_of("h100_8gpu_exporter3.txt")
    assert [r["gpu_index"] for r in rows] == list(range(8))
    g3 = rows[3]
    assert g3["host"] == "a3-highgpu-8g-0001"
    assert g3["gpu_uuid"] == "GPU-3b1e8a55-a1c2-4a07-9b5e-0c8d2f6e71a3"
    assert g3["gpu_model"] == "NVIDIA H100 80GB HBM3"
    assert g3["pci_bus_id"] == "00000000:5D:00.0"
    assert g3["driver_version"] == "535.129.03"
    assert g3["mig_instance"] is None and g3["mig_profile"] is None
    assert g3["gpu_util_ratio"] == 0.37  # 37 %
    assert g3["mem_copy_util_ratio"] == 0.15
    assert g3["enc_util_ratio"] == 0.0
    assert g3["fb_used_bytes"] == 24576 * MIB
    assert g3["fb_free_bytes"] == (81559 - 24576) * MIB
    assert g3["fb_reserved_bytes"] == 520 * MIB
    assert g3["power_watts"] == 251.25
    assert g3["energy_joules_total"] == 123456.792  # 123456792 mJ
    assert g3["gpu_temp_celsius"] == 53.0 and g3["memory_temp_celsius"] == 43.0
    assert g3["sm_clock_hz"] == 1.98e9 and g3["mem_clock_hz"] == 2.619e9
    assert g3["gr_engine_active_ratio"] == 0.375
    assert g3["tensor_active_ratio"] == 0.1875
    assert g3["dram_active_ratio"] == 0.25
    assert g3["pcie_tx_bytes_per_second"] == 3000.0 and g3["pcie_rx_bytes_per_second"] == 6000.0
    assert g3["pcie_replay_total"] == 3.0
    assert g3["nvlink_bandwidth_total"] == 1000003.0
    assert g3["remapped_rows_uncorrectable_total"] == 0.0 and g3["row_remap_failure"] == 0.0
    assert g3["sm_active_ratio"] is None  # not enabled by default: not measured, not zero
    assert g3["ts"] == TS and g3["_day"] == TS.date() and g3["source"] == "dcgm"
    assert rows[6]["xid_last"] == 79.0 and rows[5]["sm_clock_hz"] == 345e6
    assert rows[2]["remapped_rows_correctable_total"] == 2.0


def test_h100_exporter3_stats_count_samples_and_unmapped_families() -> None:
    _, stats = parse_scrape((FIX / "h100_8gpu_exporter3.txt").read_text())
    assert stats.rows == 8
    assert stats.samples == 24 * 8  # 25 families, vGPU license status has no column
    assert stats.unmapped == {"DCGM_FI_DEV_VGPU_LICENSE_STATUS"}
    assert (stats.non_numeric, stats.garbage_lines, stats.non_finite, stats.not_gpu) == (0, 0, 0, 0)


def test_exporter4_lowercase_hostname_without_help_and_exporter_fields() -> None:
    rows = rows_of("h100_exporter4_lowercase.txt")
    g0, g1 = rows
    assert g0["host"] == g1["host"] == "gke-gpu-pool-a3-7f2k"
    assert g0["gpu_util_ratio"] == 1.0 and g1["gpu_util_ratio"] == 0.03
    assert g0["fb_used_bytes"] == 79872 * MIB and g1["fb_used_bytes"] == 0.0
    assert g0["power_watts"] == 699.123
    assert g0["throttle_reasons"] == 4.0 and g1["throttle_reasons"] == 1.0
    assert g0["ecc_sbe_total"] == 12.0  # the aggregate count wins over the volatile one
    assert g1["ecc_dbe_total"] == 1.0  # volatile used where no aggregate is enabled
    assert g1["retired_pages_total"] == 3.0  # single + double bit retirements
    assert g1["xid_last"] == 48.0
    assert g1["xid_errors_total"] == 3.0  # one series per xid label, summed per GPU
    assert g0["xid_errors_total"] is None
    assert g0["driver_version"] == "550.90.07"


def test_mig_instances_are_rows_apart_from_whole_gpus_with_pod_attribution() -> None:
    rows = rows_of("h100_mig_k8s.txt")
    keys = [(r["gpu_index"], r["mig_instance"]) for r in rows]
    assert keys == [(0, "1"), (0, "2"), (1, None), (2, None)]
    mig1, mig2, whole, idle = rows
    assert mig1["mig_profile"] == mig2["mig_profile"] == "3g.40gb"
    assert mig1["gpu_uuid"] == mig2["gpu_uuid"] == "GPU-1c2d3e4f-0a1b-4c2d-9e8f-7a6b5c4d3e20"
    assert (mig1["namespace"], mig1["pod"], mig1["container"]) == (
        "serving",
        "embed-predictor-7d9f8-abcde",
        "kserve-container",
    )
    assert mig1["fb_used_bytes"] == 30720 * MIB and mig1["gr_engine_active_ratio"] == 0.4125
    assert mig1["gpu_util_ratio"] is None  # DEV utilization is not reported under MIG
    assert (mig2["pod"], mig2["namespace"]) == (None, None)
    assert mig2["gr_engine_active_ratio"] == 0.0
    assert whole["mig_profile"] is None and whole["pod"] == "llm-finetune-0"
    assert whole["gpu_util_ratio"] == 0.92 and whole["fb_used_bytes"] == 71680 * MIB
    assert (idle["pod"], idle["namespace"], idle["container"]) == (None, None, None)  # empty labels → null


def test_real_issue512_mig_sample() -> None:
    rows = rows_of("issue512_h100_mig_k8s.txt")
    assert [r["mig_instance"] for r in rows] == ["7", "8"]
    assert all(r["mig_profile"] == "1g.10gb" and r["host"] == "gsrh100-074" for r in rows)
    assert rows[0]["pod"] == "text-embedding-predictor-00008-deployment-57946f6c67-vdtjl"
    assert rows[0]["namespace"] == "model-playground-stg" and rows[0]["container"] == "kserve-container"
    assert rows[1]["pod"] is None
    assert [r["gr_engine_active_ratio"] for r in rows] == [0.0, 0.0]


def test_real_issue250_sample_without_pci_bus_id() -> None:
    (row,) = rows_of("issue250_v100_no_pci_bus_id.txt")
    assert row["host"] == "r6i3n0" and row["gpu_model"] == "Tesla V100-SXM2-32GB"
    assert row["pci_bus_id"] is None and row["driver_version"] is None
    assert row["gpu_util_ratio"] == 0.0 and row["pcie_replay_total"] == 0.0


def test_real_pr736_sample_with_lowercase_hostname() -> None:
    (row,) = rows_of("pr736_a30_mig_lowercase_hostname.txt")
    assert row["host"] == "dcgm-exporter-wwwjh"
    assert (row["gpu_index"], row["mig_instance"], row["mig_profile"]) == (2, "3", "1g.6gb")
    assert row["fb_free_bytes"] == 2207 * MIB
    assert row["pod"] == "triton-server-f7cb5d77-95xcf" and row["namespace"] == "default"


def test_bad_lines_are_skipped_and_counted_and_the_rest_is_kept() -> None:
    rows, stats = parse_scrape((FIX / "bad_lines.txt").read_text(), "10.0.0.9")
    assert stats.non_numeric == 1  # `N/A`
    assert stats.garbage_lines == 2  # the HTML line and the unterminated label block
    assert stats.non_finite == 2  # NaN, +Inf
    assert stats.not_gpu == 1  # DCGM_FI_DEV_GPU_TEMP without labels
    assert stats.unmapped == {"dcgm_exporter_build_info"}
    assert stats.samples == 3
    by_gpu = {m.gpu_index: (m, v) for m, v in zip(rows.metas, rows.values, strict=True)}
    meta0, _ = by_gpu[0]
    assert meta0.host == "node-with-}-brace"  # a `}` inside a label value
    assert meta0.gpu_model == 'NVIDIA "H100" 80GB \\ HBM3\nrev B'  # \" \\ \n unescaped
    table = to_table(rows.metas, rows.values, TS, "dcgm", "t", "dcgm").to_pylist()
    g0, g1 = sorted(table, key=lambda r: r["gpu_index"])
    assert g0["gpu_util_ratio"] == 0.55 and g0["mem_clock_hz"] == 2.619e9  # the indented sample counts
    assert g1["host"] == "10.0.0.9"  # empty Hostname: the target's host
    assert g1["gpu_util_ratio"] is None  # N/A skipped
    assert g1["fb_used_bytes"] == 1024 * MIB  # value before a timestamp
    assert g1["power_watts"] is None and g1["gpu_temp_celsius"] is None  # NaN / +Inf: not measured


def test_crlf_line_ends_parse_the_same() -> None:
    text = (FIX / "h100_8gpu_exporter3.txt").read_text()
    lf, lf_stats = parse_scrape(text)
    crlf, crlf_stats = parse_scrape(text.replace("\n", "\r\n"))
    assert crlf.values == lf.values and crlf.metas == lf.metas
    assert crlf_stats == lf_stats


def test_no_host_label_takes_the_target_host() -> None:
    rows, _ = parse_scrape('DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-x",device="nvidia0"} 12\n', "dgx-07")
    assert rows.metas[0].host == "dgx-07" and rows.values[0][0] == 0.12


@pytest.mark.parametrize("label", ["UUID", "uuid", "gpu_uuid"])
def test_every_uuid_label_name_is_accepted(label: str) -> None:
    rows, _ = parse_scrape(f'DCGM_FI_DEV_GPU_TEMP{{gpu="3",{label}="GPU-abc",Hostname="h"}} 61\n')
    assert rows.metas[0].gpu_uuid == "GPU-abc" and rows.metas[0].gpu_index == 3


def test_nvlink_entity_series_are_not_gpu_rows() -> None:
    text = 'DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL{gpu="0",nvlink="3",UUID="GPU-a",Hostname="h"} 10\n'
    rows, stats = parse_scrape(text)
    assert len(rows) == 0 and stats.not_gpu == 1


def test_labels_with_escapes_and_a_trailing_comma() -> None:
    assert parse_labels('a="1",b="x\\"y\\\\z\\nw",') == {"a": "1", "b": 'x"y\\z\nw'}
    assert parse_labels('a="1" b="2"') is None
    assert parse_labels("") == {}


def test_values_agree_with_prometheus_client_on_the_same_text() -> None:
    """Cross-check with the reference parser: every mapped sample lands scaled in its row and column."""
    text = (FIX / "h100_8gpu_exporter3.txt").read_text()
    rows, _ = parse_scrape(text)
    by_gpu = {m.gpu_index: v for m, v in zip(rows.metas, rows.values, strict=True)}
    checked = 0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            # prometheus_client names a counter's samples `<name>_total`; the exporter does not.
            spec = FIELDS.get(s.name) or FIELDS.get(s.name.removesuffix("_total"))
            if spec is None:
                continue
            want = s.value / spec.factor if spec.divide else s.value * spec.factor
            assert by_gpu[int(s.labels["gpu"])][spec.column] == want
            checked += 1
    assert checked == 24 * 8
