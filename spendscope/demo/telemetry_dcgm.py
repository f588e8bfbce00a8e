"""Raw GPU samples for the demo: each dcgm host's last scrape as real dcgm-exporter text, parsed the real way.

The last scrape of every dcgm-exporter host in the window is written as its `/metrics` text (formats.md §3.2–3.3:
exporter 3.x/4.x label set with `Hostname`, HELP/TYPE lines, integer and `%f` values) under
`<demo>/telemetry/dcgm/<host>.metrics`, then parsed by `collectors.gpu.dcgm_text.parse_scrape` into
`gpu_samples`. Since the gpu_minutes rollup recomputes a whole hour from the samples of that hour, every GPU
running in an hour that holds a last scrape also gets its 30-second samples for that hour (generated
straight as rows, values equal to the minute's), so the rollup SQL reproduces the generated minutes exactly
and a later daemon refresh of those hours changes nothing.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from collectors.gpu.dcgm_text import parse_scrape
from collectors.gpu.rows import to_table
from exporters.warehouse.schema import conform
from exporters.warehouse.schema.telemetry import GPU_SAMPLES
from spendscope.demo.telemetry_hosts import H100_MODEL

MIB = 2**20
RESERVED_MIB = {True: 329, False: 252}  # framebuffer the driver reserves: H100 80GB, A100 40GB
DRIVER = "550.90.07"
HOUR_US = 3600 * 1_000_000
# (metric, type, help) in dcgm-exporter's default-counters.csv order (formats.md §3.1).
METRICS = (
    ("DCGM_FI_DEV_SM_CLOCK", "gauge", "SM clock frequency (in MHz)."),
    ("DCGM_FI_DEV_MEM_CLOCK", "gauge", "Memory clock frequency (in MHz)."),
    ("DCGM_FI_DEV_MEMORY_TEMP", "gauge", "Memory temperature (in C)."),
    ("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C)."),
    ("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W)."),
    ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "counter", "Total energy consumption since boot (in mJ)."),
    ("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", "counter", "Total number of PCIe retries."),
    ("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %)."),
    ("DCGM_FI_DEV_MEM_COPY_UTIL", "gauge", "Memory utilization (in %)."),
    ("DCGM_FI_DEV_ENC_UTIL", "gauge", "Encoder utilization (in %)."),
    ("DCGM_FI_DEV_DEC_UTIL", "gauge", "Decoder utilization (in %)."),
    ("DCGM_FI_DEV_XID_ERRORS", "gauge", "Value of the last XID error encountered."),
    ("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB)."),
    ("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB)."),
    ("DCGM_FI_DEV_FB_RESERVED", "gauge", "Framebuffer memory reserved (in MiB)."),
    ("DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL", "counter", "Total number of NVLink bandwidth counters for all lanes."),
    ("DCGM_FI_DEV_VGPU_LICENSE_STATUS", "gauge", "vGPU License status"),
    ("DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", "counter", "Number of remapped rows for uncorrectable errors"),
    ("DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", "counter", "Number of remapped rows for correctable errors"),
    ("DCGM_FI_DEV_ROW_REMAP_FAILURE", "gauge", "Whether remapping of rows has failed"),
    ("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "gauge", "Ratio of time the graphics engine is active."),
    ("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "gauge", "Ratio of cycles the tensor (HMMA) pipe is active."),
    ("DCGM_FI_PROF_DRAM_ACTIVE", "gauge",
     "Ratio of cycles the device memory interface is active sending or receiving data."),
    ("DCGM_FI_PROF_PCIE_TX_BYTES", "gauge",
     "The rate of data transmitted over the PCIe bus - including both protocol headers and data payloads - in bytes per second."),  # noqa: E501
    ("DCGM_FI_PROF_PCIE_RX_BYTES", "gauge",
     "The rate of data received over the PCIe bus - including both protocol headers and data payloads - in bytes per second."),  # noqa: E501
)  # fmt: skip
# A3's eight H100s (GCE a3-highgpu-8g) and a2-highgpu-1g's one A100, as lspci shows them.
PCI = ("04", "05", "0A", "0B", "84", "85", "8A", "8B")


def last_scrapes(minutes: pa.Table) -> dict[str, dt.datetime]:
    """host → time of its last scrape, for every dcgm-exporter host (30 s scrapes: :00 and :30)."""
    dcgm = minutes.filter(pc.equal(minutes["source"], "dcgm")).select(["host", "minute", "samples"])
    if dcgm.num_rows == 0:
        return {}
    last = dcgm.group_by("host").aggregate([("minute", "max")]).rename_columns(["host", "minute"])
    rows = last.join(dcgm, ["host", "minute"]).group_by(["host", "minute"]).aggregate([("samples", "max")])
    out = {}
    for r in rows.to_pylist():
        out[r["host"]] = r["minute"] + dt.timedelta(seconds=30 if r["samples_max"] == 2 else 0)
    return dict(sorted(out.items()))


def hour_samples(minutes: pa.Table, hours: set[dt.datetime]) -> pa.Table:
    """gpu_samples rows for every GPU minute in `hours`: one row per 30-second scrape, the minute's values."""
    hour_us = pa.array([int(h.timestamp()) * 1_000_000 for h in sorted(hours)], pa.int64())
    rows = minutes.filter(pc.is_in(minutes["hour"].cast(pa.int64()), hour_us))
    second = rows.filter(pc.equal(rows["samples"], 2))
    ts = pa.concat_arrays(
        [
            rows["minute"].combine_chunks(),
            pc.add(second["minute"], pa.scalar(dt.timedelta(seconds=30))).combine_chunks(),
        ]
    )
    both = pa.concat_tables([rows, second])
    used = both["fb_used_bytes"].to_numpy(zero_copy_only=False)
    total = both["fb_total_bytes"].to_numpy(zero_copy_only=False)
    h100 = pc.equal(both["gpu_model"], H100_MODEL).to_numpy(zero_copy_only=False)
    reserved = np.where(h100, RESERVED_MIB[True], RESERVED_MIB[False]) * float(MIB)
    is_dcgm = pc.equal(both["source"], "dcgm")
    target = pc.if_else(
        is_dcgm,
        pc.binary_join_element_wise("http://", both["host"], ":9400/metrics", ""),
        pc.binary_join_element_wise("nvidia-smi://", both["host"], ""),
    )
    out = {name: both[name] for name in both.column_names if name in GPU_SAMPLES.names}
    out.update(
        ts=ts,
        gpu_temp_celsius=both["gpu_temp_celsius_max"],
        fb_free_bytes=pa.array(total - used - reserved),
        fb_reserved_bytes=pa.array(reserved),
        target=target,
        driver_version=pa.repeat(pa.scalar(DRIVER), both.num_rows),
        _day=pc.cast(ts, pa.date32()),
    )
    return conform(pa.table(out), GPU_SAMPLES)


def _value(v: float, typ: str) -> str:
    return f"{v:f}" if typ == "float" else str(round(v))


def render(host: str, rows: list[dict[str, object]]) -> str:
    """dcgm-exporter `/metrics` text for one host's scrape (`rows`: its GPUs' gpu_samples values)."""
    lines = []
    for metric, kind, help_text in METRICS:
        lines.append(f"# HELP {metric} {help_text}")
        lines.append(f"# TYPE {metric} {kind}")
        for r in rows:
            i = int(r["gpu_index"])  # type: ignore[call-overload]
            bus = PCI[i] if r["gpu_model"] == H100_MODEL else "00"
            labels = (
                f'gpu="{i}",UUID="{r["gpu_uuid"]}",pci_bus_id="00000000:{bus}:00.0",device="nvidia{i}",'
                f'modelName="{r["gpu_model"]}",Hostname="{host}",DCGM_FI_DRIVER_VERSION="{DRIVER}"'
            )
            if r.get("pod"):
                labels += f',container="main",namespace="{r["namespace"]}",pod="{r["pod"]}"'
            lines.append(f"{metric}{{{labels}}} {_metric_value(metric, r)}")
    return "\n".join(lines) + "\n"


def _metric_value(metric: str, r: dict[str, object]) -> str:
    f = {k: float(v) for k, v in r.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    gr, h100 = f["gr_engine_active_ratio"], r["gpu_model"] == H100_MODEL
    power = f["power_watts"]
    values: dict[str, tuple[float, str]] = {
        "DCGM_FI_DEV_SM_CLOCK": ((1980 if h100 else 1410) if gr >= 0.05 else 345, "int"),
        "DCGM_FI_DEV_MEM_CLOCK": (2619 if h100 else 1215, "int"),
        "DCGM_FI_DEV_MEMORY_TEMP": (f["gpu_temp_celsius"] + 4, "int"),
        "DCGM_FI_DEV_GPU_TEMP": (f["gpu_temp_celsius"], "int"),
        "DCGM_FI_DEV_POWER_USAGE": (power, "float"),
        "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION": (power * 3_600_000 * 6, "int"),  # ~6 h since boot
        "DCGM_FI_DEV_GPU_UTIL": (f["gpu_util_ratio"] * 100, "int"),
        "DCGM_FI_DEV_MEM_COPY_UTIL": (f["dram_active_ratio"] * 100, "int"),
        "DCGM_FI_DEV_FB_FREE": (f["fb_free_bytes"] / MIB, "int"),
        "DCGM_FI_DEV_FB_USED": (f["fb_used_bytes"] / MIB, "int"),
        "DCGM_FI_DEV_FB_RESERVED": (f["fb_reserved_bytes"] / MIB, "int"),
        "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL": (gr * 9.1e12 if h100 else 0, "int"),
        "DCGM_FI_PROF_GR_ENGINE_ACTIVE": (gr, "float"),
        "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE": (f["tensor_active_ratio"], "float"),
        "DCGM_FI_PROF_DRAM_ACTIVE": (f["dram_active_ratio"], "float"),
        "DCGM_FI_PROF_PCIE_TX_BYTES": (gr * 2.1e9, "int"),
        "DCGM_FI_PROF_PCIE_RX_BYTES": (gr * 6.4e9, "int"),
    }
    v, typ = values.get(metric, (0.0, "int"))
    return _value(v, typ)


def write_and_parse(samples: pa.Table, last: dict[str, dt.datetime], folder: Path) -> tuple[pa.Table, list[Path]]:
    """Write each host's last scrape as dcgm-exporter text, parse it back; `samples` with those rows swapped in."""
    folder.mkdir(parents=True, exist_ok=True)
    parsed, files = [], []
    keep = pa.array(np.ones(samples.num_rows, dtype=bool))
    for host, ts in last.items():
        at = pa.scalar(ts, GPU_SAMPLES.field("ts").type)
        mask = pc.and_(pc.equal(samples["host"], host), pc.equal(samples["ts"], at))
        rows = sorted(samples.filter(mask).to_pylist(), key=lambda r: r["gpu_index"])
        keep = pc.and_(keep, pc.invert(mask))
        path = folder / f"{host}.metrics"
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(render(host, rows), encoding="utf-8")
        tmp.replace(path)
        files.append(path)
        gpu_rows, _ = parse_scrape(path.read_text(encoding="utf-8"), host)
        table = to_table(gpu_rows.metas, gpu_rows.values, ts, "dcgm", f"http://{host}:9400/metrics", "demo")
        parsed.append(table)
    return conform(pa.concat_tables([samples.filter(keep), *parsed]), GPU_SAMPLES), files
