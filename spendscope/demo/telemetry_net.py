"""`net_samples` for the demo's GPU hosts: node_exporter's eth0 every 5 minutes (the demo's resolution).

Real scrapes are every 30 s; 5-minute samples keep the demo small and are still consistent: each counter
starts near zero at VM boot (the run's start), grows by rate × 300 s per sample, and the rates are exactly
the counter deltas over `interval_seconds` (null for a boot's first sample). Link speed is the VM's
gVNIC bandwidth: 200 Gbit/s on a3-highgpu-8g, 24 Gbit/s on a2-highgpu-1g. Traffic follows the GPUs'
profile: data loading and checkpoints while training, request traffic for inference, near zero when idle.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from exporters.warehouse.schema import conform
from exporters.warehouse.schema.telemetry import NET_SAMPLES
from spendscope.demo.export_row import crc
from spendscope.demo.plan import diurnal
from spendscope.demo.telemetry_hosts import H100_MODEL, Segment

STEP = 300
US = 1_000_000
GBPS = 1e9 / 8  # bytes per second in 1 Gbit/s
# Mean receive / transmit bytes per second by profile; packets average ~1,400 bytes (MTU 1460 VPC).
RX = {"train": 1.6e9, "batch": 0.9e9, "notebook": 0.12e9, "inference": 0.04e9, "idle": 2.0e4}
TX = {"train": 0.45e9, "batch": 0.25e9, "notebook": 0.02e9, "inference": 0.06e9, "idle": 1.5e4}
PACKET = 1400.0


def _segment(seg: Segment, seed: int) -> dict[str, np.ndarray]:
    start, end = int(seg.start.timestamp()), int(seg.end.timestamp())
    ts = np.arange(start - start % STEP + STEP, end, STEP, dtype=np.int64)
    n = len(ts)
    rng = np.random.default_rng([seed, crc(seg.host), start, 5])
    load = np.ones(n)
    if seg.profile == "inference":
        load = np.array([diurnal(int(h)) for h in range(24)])[(ts // 3600) % 24]
    out: dict[str, np.ndarray] = {"ts": ts}
    interval = np.diff(ts, prepend=start).astype(float)
    for d, mean in (("rx", RX[seg.profile]), ("tx", TX[seg.profile])):
        rate = np.maximum(mean * load * rng.lognormal(0, 0.15, n), 0).round()
        total = np.cumsum(rate * interval) + rng.integers(20_000, 60_000)  # boot traffic before the first sample
        packets = np.cumsum(np.round(rate * interval / PACKET)) + 40
        drops = np.cumsum(rng.poisson(0.02 if seg.profile != "idle" else 0.0, n)).astype(float)
        out[f"{d}_bytes_total"] = total
        out[f"{d}_packets_total"] = packets
        out[f"{d}_errors_total"] = np.zeros(n)
        out[f"{d}_drops_total"] = drops
        for c in ("bytes", "packets", "errors", "drops"):
            col = out[f"{d}_{c}_total"]
            rates = np.diff(col, prepend=np.nan) / interval
            out[f"{d}_{c}_per_second"] = rates  # the first sample's NaN becomes null
    out["interval_seconds"] = np.concatenate([[np.nan], interval[1:]])
    speed = 200 * GBPS if seg.model == H100_MODEL else 24 * GBPS
    out["speed"] = np.full(n, speed)
    return out


def net_samples(segs: list[Segment], seed: int, source: str = "demo") -> pa.Table:
    """eth0 samples of every segment's host, in segment order."""
    parts = [_segment(s, seed) for s in segs]
    parts_hosts = [(s.host, len(p["ts"])) for s, p in zip(segs, parts, strict=True)]
    if not parts or not sum(n for _, n in parts_hosts):
        return NET_SAMPLES.empty_table()
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    idx = pa.array(np.repeat(np.arange(len(segs)), [n for _, n in parts_hosts]))
    n = len(cols["ts"])
    speed = cols.pop("speed")
    saturation = np.fmax(cols["rx_bytes_per_second"], cols["tx_bytes_per_second"]) / speed
    table = {
        "ts": pa.array(cols.pop("ts") * US, pa.timestamp("us", tz="UTC")),
        "host": pa.array([h for h, _ in parts_hosts], pa.string()).take(idx),
        "interface": pa.repeat(pa.scalar("eth0"), n),
        "source": pa.repeat(pa.scalar("node_exporter"), n),
        "target": pa.array([f"http://{h}:9100/metrics" for h, _ in parts_hosts], pa.string()).take(idx),
        "counter_reset": pa.repeat(pa.scalar(False), n),
        "speed_bytes_per_second": pa.array(speed),
        "saturation_ratio": pa.array(saturation, from_pandas=True),
    }
    for k, v in cols.items():
        table[k] = pa.array(v, pa.float64(), from_pandas=True)
    table["_day"] = table["ts"].cast(pa.date32())
    table["_source"] = pa.repeat(pa.scalar(source), n)
    return conform(pa.table(table), NET_SAMPLES)
