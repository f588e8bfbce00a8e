"""GPU series identity: one series per GPU (UUID, else host + index) and one source per GPU, as in gpu_minutes."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from exporters.prometheus.snapshot import Snapshot, SnapshotBuilder
from exporters.warehouse.duckdb import DuckDbLake
from tests.exporters.conftest import H100, NOW, gpu_row


def util(snap: Snapshot, host: str) -> dict[str, float]:
    """gpu label → utilization for one host."""
    fam = snap.family("spendscope_gpu_utilization_ratio")
    assert fam is not None
    return {labels[1]: v for labels, v in fam.samples if labels[0] == host}


def ago(seconds: int) -> dt.datetime:
    return NOW - dt.timedelta(seconds=seconds)


def test_two_gpus_without_an_index_on_one_host_are_two_series_labelled_by_uuid(
    builder: SnapshotBuilder, seeded: DuckDbLake
) -> None:
    rows = [
        gpu_row("pcie-box-1", 0, ago(20), 0.3, gpu_index=None, gpu_uuid="GPU-aaa", source="prometheus"),
        gpu_row("pcie-box-1", 0, ago(20), 0.8, gpu_index=None, gpu_uuid="GPU-bbb", source="prometheus"),
    ]
    seeded.append("gpu_samples", pa.Table.from_pylist(rows))
    snap = builder.build()
    assert util(snap, "pcie-box-1") == {"GPU-aaa": 0.3, "GPU-bbb": 0.8}
    busy = snap.family("spendscope_gpu_busy")
    assert busy is not None
    assert sorted(labels[1:3] for labels, _ in busy.samples if labels[0] == "pcie-box-1") == [
        ("GPU-aaa", H100),
        ("GPU-bbb", H100),
    ]


def test_a_gpu_reported_by_dcgm_and_nvml_shows_dcgms_values_even_when_nvmls_are_newer(
    builder: SnapshotBuilder, seeded: DuckDbLake
) -> None:
    both = {"gpu_uuid": "GPU-ccc"}
    seeded.append("gpu_samples", pa.Table.from_pylist([
        gpu_row("a3-node-2", 0, ago(60), 0.4, source="dcgm", power_watts=300.0, **both),
        gpu_row("a3-node-2", 0, ago(10), 0.9, source="nvml", power_watts=310.0, **both),
    ]))  # fmt: skip
    first = builder.build()
    seeded.append("gpu_samples", pa.Table.from_pylist([gpu_row("a3-node-2", 0, ago(5), 0.95, source="nvml", **both)]))
    second = builder.build()
    for snap in (first, second):  # no flapping: the same source on every snapshot
        assert util(snap, "a3-node-2") == {"0": 0.4}
        assert snap.value("spendscope_gpu_power_watts", host="a3-node-2") == 300.0


def test_one_gpu_seen_with_and_without_its_uuid_is_one_series_from_the_better_source(
    builder: SnapshotBuilder, seeded: DuckDbLake
) -> None:
    seeded.append("gpu_samples", pa.Table.from_pylist([
        gpu_row("a3-node-3", 1, ago(90), 0.6, source="dcgm", gpu_uuid="GPU-ddd"),
        gpu_row("a3-node-3", 1, ago(10), 0.1, source="nvidia-smi", gpu_uuid=None),  # same GPU, no UUID parsed
    ]))  # fmt: skip
    snap = builder.build()
    fam = snap.family("spendscope_gpu_utilization_ratio")
    assert fam is not None
    assert [v for labels, v in fam.samples if labels[0] == "a3-node-3"] == [0.6]  # one series: a scrape stays valid


def test_mig_instances_of_one_gpu_stay_separate_series(builder: SnapshotBuilder, seeded: DuckDbLake) -> None:
    mig = {"gpu_uuid": "GPU-eee", "gpu_util_ratio": None, "mig_profile": "3g.40gb"}
    seeded.append("gpu_samples", pa.Table.from_pylist([
        gpu_row("a3-node-4", 2, ago(15), 0.0, mig_instance="1", gr_engine_active_ratio=0.2, **mig),
        gpu_row("a3-node-4", 2, ago(15), 0.0, mig_instance="2", gr_engine_active_ratio=0.7, **mig),
    ]))  # fmt: skip
    assert util(builder.build(), "a3-node-4") == {"2/1": 0.2, "2/2": 0.7}
