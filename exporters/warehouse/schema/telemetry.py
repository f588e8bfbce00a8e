"""Telemetry tables: GPU samples and their per-minute rollup, network samples, inventory, workload metrics.

Units are base units (DESIGN §6): ratios 0–1 (DCGM and nvidia-smi percentages are divided by 100), bytes
(DCGM's MiB multiplied out), watts (NVML's milliwatts divided), joules, hertz, seconds. A metric a source
does not report is null, never zero: "not measured" and "idle" must stay apart.
"""

from __future__ import annotations

import pyarrow as pa

from exporters.warehouse.schema.types import KV_LIST, PROVENANCE, TS

S, F, I32, I64, B = pa.string(), pa.float64(), pa.int32(), pa.int64(), pa.bool_()

# Identity of one GPU (or one MIG instance of it) in every GPU table.
GPU_IDENTITY = [
    pa.field("host", S),  # hostname as the source reports it (DCGM Hostname/hostname label, NVML's node)
    pa.field("gpu_index", I32),
    pa.field("gpu_uuid", S),
    pa.field("gpu_model", S),  # e.g. "NVIDIA H100 80GB HBM3"
    pa.field("mig_instance", S),  # GPU_I_ID of a MIG instance; null for a whole GPU
    pa.field("mig_profile", S),  # GPU_I_PROFILE, e.g. "1g.10gb"; null for a whole GPU
]

# metric column → unit; the order is the column order of gpu_samples.
GPU_METRICS: dict[str, str] = {
    "gpu_util_ratio": "ratio",  # DCGM_FI_DEV_GPU_UTIL / nvml utilization.gpu
    "mem_copy_util_ratio": "ratio",  # DCGM_FI_DEV_MEM_COPY_UTIL / nvml utilization.memory
    "enc_util_ratio": "ratio",
    "dec_util_ratio": "ratio",
    "gr_engine_active_ratio": "ratio",  # DCGM_FI_PROF_GR_ENGINE_ACTIVE (also reported for MIG instances)
    "sm_active_ratio": "ratio",
    "sm_occupancy_ratio": "ratio",
    "tensor_active_ratio": "ratio",
    "dram_active_ratio": "ratio",
    "fb_used_bytes": "bytes",
    "fb_free_bytes": "bytes",
    "fb_reserved_bytes": "bytes",
    "power_watts": "watts",
    "energy_joules_total": "joules",  # counter since driver load
    "gpu_temp_celsius": "celsius",
    "memory_temp_celsius": "celsius",
    "sm_clock_hz": "hertz",
    "mem_clock_hz": "hertz",
    "xid_last": "code",  # DCGM_FI_DEV_XID_ERRORS: the last XID number seen (0 = none), not a count
    "xid_errors_total": "count",  # DCGM_EXP_XID_ERRORS_COUNT / NVML XID events counted by us
    "pcie_tx_bytes_per_second": "bytes_per_second",
    "pcie_rx_bytes_per_second": "bytes_per_second",
    "pcie_replay_total": "count",
    "nvlink_bandwidth_total": "count",  # DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL (counter)
    "throttle_reasons": "bitmask",  # NVML clocks-event reasons / nvidia-smi clocks_throttle_reasons.active
    "ecc_sbe_total": "count",  # and ecc_dbe: aggregate (lifetime) counts; volatile only where a source has none
    "ecc_dbe_total": "count",
    "retired_pages_total": "count",
    "remapped_rows_correctable_total": "count",
    "remapped_rows_uncorrectable_total": "count",
    "row_remap_failure": "flag",
}

GPU_SAMPLES = pa.schema(
    [
        pa.field("ts", TS, nullable=False),
        *GPU_IDENTITY,
        pa.field("pci_bus_id", S),
        pa.field("driver_version", S),
        pa.field("namespace", S),  # Kubernetes attribution (dcgm-exporter's pod mapping); null when absent
        pa.field("pod", S),
        pa.field("container", S),
        pa.field("source", S),  # dcgm | prometheus | nvml | nvidia-smi
        pa.field("target", S),  # the endpoint or file it came from
        *(pa.field(name, F) for name in GPU_METRICS),
        *PROVENANCE,
    ]
)

# One row per GPU (or MIG instance) per minute; `hour` makes the rollup replaceable an hour at a time.
GPU_MINUTES = pa.schema(
    [
        pa.field("minute", TS, nullable=False),
        pa.field("hour", TS),
        *GPU_IDENTITY,
        pa.field("namespace", S),
        pa.field("pod", S),
        pa.field("source", S),
        pa.field("samples", I64),
        pa.field("gpu_util_ratio", F),
        pa.field("gr_engine_active_ratio", F),
        pa.field("sm_active_ratio", F),
        pa.field("tensor_active_ratio", F),
        pa.field("dram_active_ratio", F),
        pa.field("fb_used_bytes", F),
        pa.field("fb_total_bytes", F),
        pa.field("power_watts", F),
        pa.field("gpu_temp_celsius_max", F),
        pa.field("xid_last", F),  # the highest non-zero XID seen in the minute, else 0 / null
        pa.field("busy", B),
        *PROVENANCE,
    ]
)

NET_COUNTERS = ("bytes", "packets", "errors", "drops")

NET_SAMPLES = pa.schema(
    [
        pa.field("ts", TS, nullable=False),
        pa.field("host", S),
        pa.field("interface", S),
        pa.field("source", S),  # psutil | node_exporter
        pa.field("target", S),
        *(pa.field(f"{d}_{c}_total", F) for c in NET_COUNTERS for d in ("rx", "tx")),
        *(pa.field(f"{d}_{c}_per_second", F) for c in NET_COUNTERS for d in ("rx", "tx")),
        pa.field("interval_seconds", F),  # time since the previous sample the rates are over; null for the first
        pa.field("counter_reset", B),  # a counter went backwards (reboot, wrap): that interval's rate is null
        pa.field("speed_bytes_per_second", F),  # link speed (sysfs, node_network_speed_bytes or config)
        pa.field("saturation_ratio", F),  # max(rx, tx) bytes/s over link speed
        *PROVENANCE,
    ]
)

INVENTORY = pa.schema(
    [
        pa.field("observed_at", TS, nullable=False),
        pa.field("platform", S),  # gce | gke | databricks
        pa.field("kind", S),  # instance | node_pool | cluster
        pa.field("resource_id", S),  # GCE instance id, GKE node pool self link / name, Databricks cluster_id
        pa.field("resource_name", S),
        pa.field("cluster", S),  # GKE cluster name, Databricks cluster name; null for a lone VM
        pa.field("state", S),  # upstream status, e.g. RUNNING, TERMINATED
        pa.field("project", S),  # GCP project or Databricks workspace
        pa.field("location", S),  # zone or region
        pa.field("machine_type", S),  # GCE machine type / GKE node machine type / Databricks node_type_id
        pa.field("driver_machine_type", S),  # Databricks driver_node_type_id
        pa.field("nodes", I64),  # VMs behind it (Databricks: workers + driver; GKE: node count)
        pa.field("gpus_per_node", I64),
        pa.field("gpu_model", S),
        pa.field("gpu_count", I64),
        pa.field("is_spot", B),
        pa.field("autotermination_minutes", I64),
        pa.field("creator", S),
        pa.field("started_at", TS),
        pa.field("labels", KV_LIST),  # GCE labels / GKE node labels / Databricks custom_tags
        pa.field("hosts", pa.list_(S)),  # hostnames that belong to it: how GPU samples join to money
        pa.field("price_usd_per_hour", F),
        pa.field("price_source", S),  # billing (observed $/h over the last complete day) | config | null
        *PROVENANCE,
    ]
)

WORKLOAD_METRICS = pa.schema(
    [
        pa.field("ts", TS, nullable=False),
        pa.field("workload", S),  # e.g. llm-pretrain, embeddings-serving
        pa.field("metric", S),  # training_throughput | inference_latency_seconds | gpu_busy_ratio | …
        pa.field("value", F),
        pa.field("unit", S),  # samples_per_second, seconds, ratio, …
        pa.field("platform", S),  # gce | gke | databricks
        pa.field("team", S),
        pa.field("run_id", S),  # MLflow run id; null for Prometheus series
        pa.field("source", S),  # prometheus | mlflow
        pa.field("labels", KV_LIST),
        *PROVENANCE,
    ]
)
