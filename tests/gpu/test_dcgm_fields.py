"""The DCGM field map and the GPU identity read from labels (shared by the dcgm and prometheus collectors)."""

from __future__ import annotations

from collectors.gpu.fields import COLUMNS, DEFAULT_COUNTERS, FIELDS, SUM, gpu_meta, merge_meta
from exporters.warehouse.schema.telemetry import GPU_METRICS


def test_every_default_counter_with_a_column_is_mapped_and_columns_follow_the_schema() -> None:
    assert tuple(GPU_METRICS) == COLUMNS
    assert set(DEFAULT_COUNTERS) <= set(FIELDS)
    assert {COLUMNS[f.column] for f in FIELDS.values()} == set(GPU_METRICS)  # every metric column has a source


def test_scales_convert_to_base_units() -> None:
    def scaled(name: str, raw: float) -> float:
        f = FIELDS[name]
        return raw / f.factor if f.divide else raw * f.factor

    assert scaled("DCGM_FI_DEV_GPU_UTIL", 37) == 0.37
    assert scaled("DCGM_FI_PROF_GR_ENGINE_ACTIVE", 0.37) == 0.37
    assert scaled("DCGM_FI_DEV_FB_USED", 2) == 2 * 1024 * 1024
    assert scaled("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", 1500) == 1.5
    assert scaled("DCGM_FI_DEV_SM_CLOCK", 1980) == 1.98e9
    assert FIELDS["DCGM_EXP_XID_ERRORS_COUNT"].mode == SUM


def test_host_index_uuid_and_mig_come_from_their_labels() -> None:
    meta = gpu_meta(
        {"gpu": "4", "UUID": "GPU-x", "Hostname": "h1", "GPU_I_ID": "2", "GPU_I_PROFILE": "2g.20gb", "pod_uid": ""},
        "fallback",
    )
    assert meta is not None
    assert (meta.host, meta.gpu_index, meta.gpu_uuid, meta.mig_instance, meta.mig_profile) == (
        "h1",
        4,
        "GPU-x",
        "2",
        "2g.20gb",
    )
    assert gpu_meta({"gpu": "0", "hostname": "h2"}, None).host == "h2"  # type: ignore[union-attr]
    assert gpu_meta({"gpu": "0", "Hostname": ""}, "10.0.0.1").host == "10.0.0.1"  # type: ignore[union-attr]


def test_labels_naming_no_gpu_give_no_row() -> None:
    assert gpu_meta({"Hostname": "h"}, None) is None
    assert gpu_meta({"gpu": "0", "nvlink": "1"}, None) is None
    assert gpu_meta({"nvswitch": "0", "gpu_uuid": "GPU-a"}, None) is None


def test_odd_gpu_index_is_null_not_an_error() -> None:
    assert gpu_meta({"gpu": "²", "UUID": "GPU-a"}, None).gpu_index is None  # type: ignore[union-attr]
    assert gpu_meta({"gpu": "99999999999", "UUID": "GPU-a"}, None).gpu_index is None  # type: ignore[union-attr]


def test_exported_kubernetes_labels_win_and_a_lone_namespace_is_not_attribution() -> None:
    gmp = {"gpu": "0", "namespace": "gpu-operator", "exported_namespace": "research", "pod": "p", "container": "c"}
    meta = gpu_meta(gmp, None)
    assert meta is not None and (meta.namespace, meta.pod, meta.container) == ("research", "p", "c")
    lone = gpu_meta({"gpu": "0", "namespace": "gpu-operator"}, None)
    assert lone is not None and lone.namespace is None and lone.pod is None


def test_merge_meta_fills_only_missing_fields() -> None:
    a = gpu_meta({"gpu": "0", "UUID": "GPU-a", "Hostname": "h"}, None)
    b = gpu_meta({"gpu": "0", "UUID": "GPU-a", "Hostname": "h", "DCGM_FI_DRIVER_VERSION": "550.1"}, None)
    assert a is not None and b is not None
    merged = merge_meta(a, b)
    assert merged.driver_version == "550.1" and merged.key() == a.key()


def test_node_labels_win_over_the_exporters_hostname_then_the_target_host() -> None:
    base = {"gpu": "0", "UUID": "GPU-a", "hostname": "dcgm-exporter-wwwjh"}  # the exporter pod's name (formats §3.3)
    order = [("node", "n1"), ("kubernetes_node", "n2"), ("exported_node", "n3")]
    for i, (label, value) in enumerate(order):
        labels = {**base, **dict(order[i:])}
        assert gpu_meta(labels, "10.0.0.5").host == value, label  # type: ignore[union-attr]
    assert gpu_meta(base, "10.0.0.5").host == "dcgm-exporter-wwwjh"  # type: ignore[union-attr]
    assert gpu_meta({"gpu": "0"}, "10.0.0.5").host == "10.0.0.5"  # type: ignore[union-attr]


def test_direct_scrape_pod_labels_are_the_workloads() -> None:
    # Scraped straight from dcgm-exporter, pod/namespace/container exist only for a GPU a workload holds.
    labels = {"gpu": "2", "UUID": "GPU-63bc", "hostname": "dcgm-exporter-wwwjh", "container": "triton-server",
              "namespace": "default", "pod": "triton-server-f7cb5d77-95xcf"}  # fmt: skip
    meta = gpu_meta(labels, "10.8.0.12")
    assert meta is not None and (meta.namespace, meta.pod, meta.container) == (
        "default", "triton-server-f7cb5d77-95xcf", "triton-server")  # fmt: skip


def test_through_prometheus_exported_labels_are_the_workloads() -> None:
    # kube-prometheus target labels collided with dcgm-exporter's: the workload's became exported_*.
    labels = {"gpu": "0", "UUID": "GPU-a", "job": "nvidia-dcgm-exporter", "instance": "10.8.0.12:9400",
              "pod": "nvidia-dcgm-exporter-7xk2p", "namespace": "gpu-operator", "container": "nvidia-dcgm-exporter",
              "exported_pod": "llm-0", "exported_namespace": "research", "exported_container": "trainer"}  # fmt: skip
    meta = gpu_meta(labels, "10.8.0.12", via_prometheus=True)
    assert meta is not None and (meta.namespace, meta.pod, meta.container) == ("research", "llm-0", "trainer")


def test_through_prometheus_the_exporters_own_pod_leaves_the_gpu_unattributed() -> None:
    target = {"gpu": "0", "UUID": "GPU-a", "namespace": "gpu-operator", "container": "nvidia-dcgm-exporter"}
    cases = [
        {"job": "nvidia-dcgm-exporter", "pod": "nvidia-dcgm-exporter-7xk2p"},  # a name with dcgm in it
        {"job": "gpu-metrics", "pod": "gpu-metrics-5d9c8"},  # a pod of the scraped job
        {"job": "node-gpu", "pod": "exporter-x1", "instance": "exporter-x1:9400"},  # the target itself (GMP)
        {"job": "node-gpu", "pod": "exporter-x2", "Hostname": "exporter-x2"},  # dcgm's hostname is its pod
    ]
    for case in cases:
        meta = gpu_meta({**target, **case}, (case.get("instance") or "10.8.0.12").split(":")[0], via_prometheus=True)
        assert meta is not None and (meta.namespace, meta.pod, meta.container) == (None, None, None), case
    # GMP adds no pod target label: a pod that is not the exporter's is dcgm-exporter's workload pod.
    gmp = {
        "gpu": "0",
        "UUID": "GPU-a",
        "job": "dcgm-exporter",
        "instance": "dcgm-exporter-wwwjh:metrics",
        "namespace": "gpu-operator",
        "exported_namespace": "research",
        "pod": "llm-0",
        "container": "trainer",
    }
    meta = gpu_meta(gmp, "dcgm-exporter-wwwjh", via_prometheus=True)
    assert meta is not None and (meta.namespace, meta.pod, meta.container) == ("research", "llm-0", "trainer")
    # The same labels scraped directly are dcgm-exporter's own: kept as they are.
    direct = gpu_meta({**target, **cases[0]}, "10.8.0.12")
    assert direct is not None and direct.pod == "nvidia-dcgm-exporter-7xk2p"
