"""DCGM field names → gpu_samples metric columns and the scale to base units; GPU identity from labels.

Shared by the dcgm-exporter scrape parser and the Prometheus `query_range` collector, so a sample lands in the
same column with the same unit whichever way it arrived (formats.md §3.1, schema/telemetry.py GPU_METRICS).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from exporters.warehouse.schema.telemetry import GPU_METRICS

COLUMNS: tuple[str, ...] = tuple(GPU_METRICS)
_INDEX = {name: i for i, name in enumerate(COLUMNS)}

# How a sample combines with a value already in its row's column.
SET, SUM, FILL = 0, 1, 2  # overwrite (last wins) | add up (XIDs per `xid` label) | only where still null


class Field(NamedTuple):
    """Where one DCGM field goes: column position, scale factor, whether to divide by it, combine mode."""

    column: int
    factor: float
    divide: bool
    mode: int


def _f(column: str, factor: float = 1.0, divide: bool = False, mode: int = SET) -> Field:
    return Field(_INDEX[column], factor, divide, mode)


# Dividing (45 / 100) rounds once, so ratios compare equal to their decimal literal; 45 * 0.01 would not.
FIELDS: dict[str, Field] = {
    "DCGM_FI_DEV_GPU_UTIL": _f("gpu_util_ratio", 100.0, divide=True),
    "DCGM_FI_DEV_MEM_COPY_UTIL": _f("mem_copy_util_ratio", 100.0, divide=True),
    "DCGM_FI_DEV_ENC_UTIL": _f("enc_util_ratio", 100.0, divide=True),
    "DCGM_FI_DEV_DEC_UTIL": _f("dec_util_ratio", 100.0, divide=True),
    # DCP (profiling) fields are 0–1 ratios already.
    "DCGM_FI_PROF_GR_ENGINE_ACTIVE": _f("gr_engine_active_ratio"),
    "DCGM_FI_PROF_SM_ACTIVE": _f("sm_active_ratio"),
    "DCGM_FI_PROF_SM_OCCUPANCY": _f("sm_occupancy_ratio"),
    "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE": _f("tensor_active_ratio"),
    "DCGM_FI_PROF_DRAM_ACTIVE": _f("dram_active_ratio"),
    "DCGM_FI_DEV_FB_USED": _f("fb_used_bytes", 1048576.0),  # MiB
    "DCGM_FI_DEV_FB_FREE": _f("fb_free_bytes", 1048576.0),
    "DCGM_FI_DEV_FB_RESERVED": _f("fb_reserved_bytes", 1048576.0),
    "DCGM_FI_DEV_POWER_USAGE": _f("power_watts"),
    "DCGM_FI_DEV_POWER_USAGE_INSTANT": _f("power_watts", mode=FILL),  # only where the averaged one is absent
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION": _f("energy_joules_total", 1000.0, divide=True),  # mJ
    "DCGM_FI_DEV_GPU_TEMP": _f("gpu_temp_celsius"),
    "DCGM_FI_DEV_MEMORY_TEMP": _f("memory_temp_celsius"),
    "DCGM_FI_DEV_SM_CLOCK": _f("sm_clock_hz", 1e6),  # MHz
    "DCGM_FI_DEV_MEM_CLOCK": _f("mem_clock_hz", 1e6),
    "DCGM_FI_DEV_XID_ERRORS": _f("xid_last"),  # a gauge holding the last XID number, not a count
    # One series per `xid` value (count in the exporter's window): summed into one per-GPU figure.
    "DCGM_EXP_XID_ERRORS_COUNT": _f("xid_errors_total", mode=SUM),
    "DCGM_FI_PROF_PCIE_TX_BYTES": _f("pcie_tx_bytes_per_second"),
    "DCGM_FI_PROF_PCIE_RX_BYTES": _f("pcie_rx_bytes_per_second"),
    "DCGM_FI_DEV_PCIE_REPLAY_COUNTER": _f("pcie_replay_total"),
    "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL": _f("nvlink_bandwidth_total"),
    # Field 112 was renamed from CLOCK_THROTTLE_REASONS to CLOCKS_EVENT_REASONS in DCGM 3.3; same bitmask.
    "DCGM_FI_DEV_CLOCKS_EVENT_REASONS": _f("throttle_reasons"),
    "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS": _f("throttle_reasons"),
    # Aggregate (lifetime) ECC counts win over volatile (since boot) ones when both are enabled.
    "DCGM_FI_DEV_ECC_SBE_AGG_TOTAL": _f("ecc_sbe_total"),
    "DCGM_FI_DEV_ECC_DBE_AGG_TOTAL": _f("ecc_dbe_total"),
    "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL": _f("ecc_sbe_total", mode=FILL),
    "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL": _f("ecc_dbe_total", mode=FILL),
    "DCGM_FI_DEV_RETIRED_SBE": _f("retired_pages_total", mode=SUM),
    "DCGM_FI_DEV_RETIRED_DBE": _f("retired_pages_total", mode=SUM),
    "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS": _f("remapped_rows_correctable_total"),
    "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS": _f("remapped_rows_uncorrectable_total"),
    "DCGM_FI_DEV_ROW_REMAP_FAILURE": _f("row_remap_failure"),
}

# The metrics enabled in dcgm-exporter's etc/default-counters.csv that we store (formats.md §3.1).
DEFAULT_COUNTERS: tuple[str, ...] = (
    "DCGM_FI_DEV_SM_CLOCK", "DCGM_FI_DEV_MEM_CLOCK", "DCGM_FI_DEV_MEMORY_TEMP", "DCGM_FI_DEV_GPU_TEMP",
    "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "DCGM_FI_DEV_PCIE_REPLAY_COUNTER",
    "DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_MEM_COPY_UTIL", "DCGM_FI_DEV_ENC_UTIL", "DCGM_FI_DEV_DEC_UTIL",
    "DCGM_FI_DEV_XID_ERRORS", "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_RESERVED",
    "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL", "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS",
    "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", "DCGM_FI_DEV_ROW_REMAP_FAILURE", "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
    "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "DCGM_FI_PROF_DRAM_ACTIVE", "DCGM_FI_PROF_PCIE_TX_BYTES",
    "DCGM_FI_PROF_PCIE_RX_BYTES",
)  # fmt: skip

UUID_LABELS = ("UUID", "uuid", "gpu_uuid")  # dcgm-exporter's UUID label name is configurable
# The node first: under Kubernetes dcgm-exporter's `Hostname`/`hostname` is its own pod's name
# ("dcgm-exporter-wwwjh"), while Prometheus relabelling adds the node (`node`, `kubernetes_node` from
# __meta_kubernetes_pod_node_name, or `exported_node` when the target had one too). `Hostname` up to
# 4.5.3-4.8.2, `hostname` after commit d5e5f51.
HOST_LABELS = ("node", "kubernetes_node", "exported_node", "Hostname", "hostname")
# Labels of NVLink / NVSwitch entity series: one link or switch, not a GPU row.
ENTITY_LABELS = ("nvlink", "nvswitch", "link")


class Meta(NamedTuple):
    """The identity and descriptive columns of one gpu_samples row."""

    host: str | None
    gpu_index: int | None
    gpu_uuid: str | None
    gpu_model: str | None
    mig_instance: str | None
    mig_profile: str | None
    pci_bus_id: str | None
    driver_version: str | None
    namespace: str | None
    pod: str | None
    container: str | None

    def key(self) -> tuple[str | int | None, ...]:
        """What makes two samples the same row: GPU (or MIG instance) and the pod it is attributed to."""
        return (self.host, self.gpu_index, self.gpu_uuid, self.mig_instance, self.namespace, self.pod, self.container)


def _first(labels: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = labels.get(name)
        if value:  # an empty label value is "absent" (dcgm-exporter prints pod_uid="" and the like)
            return value
    return None


def _index(raw: str | None) -> int | None:
    # ASCII digits only (int() takes other scripts' digits too) and short enough for int32.
    if raw is None or not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        return None
    return int(raw)


def _exporter_pod(pod: str, labels: Mapping[str, str], target_host: str | None) -> bool:
    """Whether a `pod` label read through Prometheus names the dcgm-exporter pod, not a workload."""
    if pod in (target_host, labels.get("Hostname"), labels.get("hostname")):
        return True  # the scrape target itself (GMP's instance is `<pod>:<port>`; dcgm's hostname is its pod)
    job = (labels.get("job") or "").lower()
    return "dcgm" in pod.lower() or (bool(job) and pod.lower().startswith(job))


def _pod(labels: Mapping[str, str], target_host: str | None, via_prometheus: bool) -> str | None:
    exported = labels.get("exported_pod")
    if exported:
        return exported
    pod = labels.get("pod") or None
    if pod and via_prometheus and _exporter_pod(pod, labels, target_host):
        return None
    return pod


def gpu_meta(labels: Mapping[str, str], default_host: str | None = None, via_prometheus: bool = False) -> Meta | None:
    """The row identity a series' labels name, or None when they name no GPU (a link, a switch, the exporter).

    Host: the node labels, then dcgm-exporter's host label, then `default_host` (the scrape target's host).
    Kubernetes attribution: dcgm-exporter sets pod, namespace and container together, and only for a GPU a
    workload holds. Scraped directly, those labels are the workload's. Read through Prometheus
    (`via_prometheus`), target labels may collide with them: then the exporter's own become `exported_*` and
    win; a `pod` without `exported_pod` that names the exporter itself (the target's pod, or a name with
    `dcgm` or starting with the `job` name) is the target's, so the GPU is unattributed, and a `namespace`
    with no pod is the target's namespace, never a workload's.
    """
    if any(name in labels for name in ENTITY_LABELS):
        return None
    gpu = labels.get("gpu") or None
    uuid = _first(labels, UUID_LABELS)
    if gpu is None and uuid is None:
        return None
    pod = _pod(labels, default_host, via_prometheus)
    return Meta(
        host=_first(labels, HOST_LABELS) or default_host,
        gpu_index=_index(gpu),
        gpu_uuid=uuid,
        gpu_model=labels.get("modelName") or labels.get("model_name") or None,
        mig_instance=labels.get("GPU_I_ID") or None,
        mig_profile=labels.get("GPU_I_PROFILE") or None,
        pci_bus_id=labels.get("pci_bus_id") or None,
        driver_version=labels.get("DCGM_FI_DRIVER_VERSION") or None,
        namespace=(labels.get("exported_namespace") or labels.get("namespace") or None) if pod else None,
        pod=pod,
        container=(labels.get("exported_container") or labels.get("container") or None) if pod else None,
    )


def merge_meta(old: Meta, new: Meta) -> Meta:
    """`old` with its null descriptive fields filled from `new` (series of one GPU may carry fewer labels)."""
    if None not in old:
        return old
    return Meta._make(a if a is not None else b for a, b in zip(old, new, strict=True))
