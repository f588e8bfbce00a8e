"""Per-minute GPU rows (`gpu_minutes`) for the demo's billed GPU hosts, vectorized with numpy.

Each segment (one host, one billed run) gets a row per GPU for every minute it has at least one 30-second
scrape, so minutes ≈ billed seconds / 60 (a run's last, partial minute counts once). Activity follows the
segment's profile: training and batch near-saturated after a few minutes of setup, notebooks in bursts,
inference following the diurnal load, idle stretches with compute at ~0 while the notebook kernel still holds
framebuffer memory. Databricks nodes report through nvidia-smi (no DCP fields: graphics-engine, tensor and
DRAM activity are null, and busy falls back to utilization), GCE and GKE through dcgm-exporter.
"""

from __future__ import annotations

import hashlib
import uuid

import numpy as np
import pyarrow as pa

from exporters.warehouse.schema import conform
from exporters.warehouse.schema.telemetry import GPU_MINUTES
from spendscope.config_telemetry import TelemetryConfig
from spendscope.demo.export_row import crc
from spendscope.demo.plan import diurnal
from spendscope.demo.telemetry_hosts import FB_TOTAL_MIB, H100_MODEL, Degradation, Segment

MIB = 2**20
US = 1_000_000
SETUP_MINUTES = {"train": 4, "batch": 3}
BASE = {"train": 0.88, "batch": 0.78}
TENSOR_SHARE = {"train": 0.58, "batch": 0.45, "notebook": 0.35, "inference": 0.32, "idle": 0.0}
FB_USED_GIB = {"train": 74.5, "batch": 62.0, "notebook": 31.0, "inference": 30.5, "idle": 21.0}


def gpu_uuid(host: str, index: int) -> str:
    """A stable GPU UUID for host/index, in NVML's `GPU-xxxxxxxx-…` form."""
    return "GPU-" + str(uuid.UUID(bytes=hashlib.md5(f"{host}/{index}".encode()).digest()))


def _activity(seg: Segment, minutes: np.ndarray, rng: np.random.Generator, episode: Degradation | None) -> np.ndarray:
    """Host-level graphics-engine activity per minute (0–1) for the segment's profile."""
    n = len(minutes)
    if seg.profile == "idle":
        return rng.uniform(0.0, 0.008, n)
    if seg.profile == "inference":
        hours = (minutes // 3600) % 24
        load = np.array([diurnal(int(h)) for h in range(24)])[hours]
        return np.clip(0.30 * load + rng.normal(0, 0.03, n), 0.08, 0.95)
    if seg.profile == "notebook":
        out = np.empty(n)
        i, busy = 0, True
        while i < n:  # interactive bursts: 8–35 busy minutes, then 5–25 idle
            k = int(rng.integers(8, 36) if busy else rng.integers(5, 26))
            out[i : i + k] = rng.uniform(0.25, 0.7) if busy else 0.004
            i, busy = i + k, not busy
        return np.clip(out + rng.normal(0, 0.02, n) * (out > 0.05), 0.0, 1.0)
    gr = np.clip(BASE[seg.profile] + rng.normal(0, 0.025, n), 0.0, 0.97)
    if episode is not None and seg.key == episode.key:
        start, end = episode.start.timestamp(), episode.end.timestamp()
        hit = (minutes >= start) & (minutes < end)
        gr[hit] = np.clip(0.62 + rng.normal(0, 0.03, int(hit.sum())), 0.0, 1.0)  # input pipeline stalls
    setup = min(SETUP_MINUTES[seg.profile], n)
    gr[:setup] = rng.uniform(0.0, 0.01, setup)
    return gr


def _segment(seg: Segment, seed: int, cfg: TelemetryConfig, episode: Degradation | None) -> dict[str, np.ndarray]:
    start, end = int(seg.start.timestamp()), int(seg.end.timestamp())
    first = start - start % 60
    minutes = np.arange(first, end, 60, dtype=np.int64)
    samples = 1 + ((minutes + 30 < end) & (minutes + 30 >= start)).astype(np.int64)
    rng = np.random.default_rng([seed, crc(seg.host), start])
    gr_host = _activity(seg, minutes, rng, episode)
    g, n = seg.gpus, len(minutes)
    gr = np.clip(gr_host[None, :] * (1 + rng.normal(0, 0.02, (g, n))), 0.0, 0.995).round(4)
    active = gr >= 0.05
    util = np.where(active, np.clip(0.55 + 0.6 * gr + rng.normal(0, 0.01, (g, n)), 0, 1), 0.0).round(2)
    h100 = seg.model == H100_MODEL
    fb_total = FB_TOTAL_MIB[seg.model] * MIB
    fb_gib = min(FB_USED_GIB[seg.profile], 0.8 * fb_total / 2**30)
    fb = np.floor(fb_gib * 2**30 * (1 + rng.normal(0, 0.01, (g, 1))) / MIB) * MIB * np.ones((g, n))
    if seg.profile in SETUP_MINUTES:
        fb[:, : SETUP_MINUTES[seg.profile]] = 0.6 * 2**30
    power = (72 + 610 * gr) if h100 else (52 + 300 * gr)
    power = np.clip(power + rng.normal(0, 6, (g, n)), 50, 700 if h100 else 400).round(1)
    temp = np.round(31 + 38 * gr + rng.normal(0, 1.0, (g, n)))
    dcp = seg.source == "dcgm"  # nvidia-smi has no DCP (profiling) fields
    busy = gr >= cfg.busy_gr_engine_active if dcp else util >= cfg.busy_utilization
    return {
        "minute": np.tile(minutes, g),
        "gpu_index": np.repeat(np.arange(g, dtype=np.int32), n),
        "samples": np.tile(samples, g),
        "gpu_util_ratio": util.ravel(),
        "gr_engine_active_ratio": gr.ravel() if dcp else np.full(g * n, np.nan),
        "tensor_active_ratio": (gr * TENSOR_SHARE[seg.profile]).round(4).ravel() if dcp else np.full(g * n, np.nan),
        "dram_active_ratio": (gr * 0.41).round(4).ravel() if dcp else np.full(g * n, np.nan),
        "fb_used_bytes": fb.ravel(),
        "fb_total_bytes": np.full(g * n, float(fb_total)),
        "power_watts": power.ravel(),
        "gpu_temp_celsius_max": temp.ravel(),
        "busy": busy.ravel(),
    }


def gpu_minutes(
    segs: list[Segment], seed: int, cfg: TelemetryConfig, episode: Degradation | None, source: str = "demo"
) -> pa.Table:
    """`gpu_minutes` rows for all segments, in segment order, then GPU, then minute."""
    if not segs:
        return GPU_MINUTES.empty_table()
    parts = [_segment(s, seed, cfg, episode) for s in segs]
    counts = np.array([len(p["minute"]) for p in parts], dtype=np.int64)
    seg_idx = pa.array(np.repeat(np.arange(len(segs)), counts))
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    minute_us = cols["minute"] * US

    def per_seg(values: list[str | None]) -> pa.Array:
        return pa.array(values, pa.string()).take(seg_idx)

    first_gpu = np.cumsum([0] + [s.gpus for s in segs])[:-1]  # each segment's first entry in `all_uuids`
    all_uuids = pa.array([gpu_uuid(s.host, i) for s in segs for i in range(s.gpus)], pa.string())
    uuids = all_uuids.take(pa.array(np.repeat(first_gpu, counts) + cols["gpu_index"]))
    nan_null = {k: pa.array(v, pa.float64(), from_pandas=True) for k, v in cols.items() if v.dtype == np.float64}
    table = pa.table(
        {
            "minute": pa.array(minute_us, pa.timestamp("us", tz="UTC")),
            "hour": pa.array(minute_us - minute_us % (3600 * US), pa.timestamp("us", tz="UTC")),
            "host": per_seg([s.host for s in segs]),
            "gpu_index": pa.array(cols["gpu_index"], pa.int32()),
            "gpu_uuid": uuids,
            "gpu_model": per_seg([s.model for s in segs]),
            "namespace": per_seg([s.namespace for s in segs]),
            "pod": per_seg([s.pod for s in segs]),
            "source": per_seg([s.source for s in segs]),
            "samples": pa.array(cols["samples"], pa.int64()),
            **nan_null,
            "xid_last": pa.array(np.zeros(len(minute_us)), pa.float64()),
            "busy": pa.array(cols["busy"], pa.bool_()),
            "_day": pa.array((cols["minute"] // 86400).astype(np.int32), pa.date32()),
            "_source": pa.array([source], pa.string()).take(pa.array(np.zeros(len(minute_us), dtype=np.int64))),
        }
    )
    return conform(table, GPU_MINUTES)
