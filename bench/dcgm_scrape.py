"""dcgm-exporter scrape benchmark (issue 3): 192 nodes × 8 H100s with the default counters, ~40,000 samples.

Prints, from one run, the median over `--runs` cycles of:
  * baseline: `prometheus_client.parser.text_string_to_metric_families` over the 192 answers (samples consumed);
  * ours, parse: `parse_scrape` over the same 192 answers plus building the cycle's gpu_samples Arrow table;
  * ours, parse + store: one collector cycle as the daemon runs it — `DcgmCollector.collect` with the HTTP
    fetch replaced by the pre-fetched answers, and its batch appended to a local Delta lake — and the Delta
    append alone, to show where the time goes;
  * the whole runner cycle as the daemon runs it (`spendscope.ingest.run` with the rollup deferred to the
    daemon's gpu-rollup job), and, for information, one run of that job (`gpu_rollup.refresh_recent`:
    the hour's gpu_minutes from gpu_samples, every `telemetry.rollup_interval_minutes`, default 5);
and the ratio baseline / ours.

    .venv/bin/python -m bench.dcgm_scrape --runs 15
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence

import deltalake
import psutil
import pyarrow as pa
from prometheus_client.parser import text_string_to_metric_families

from collectors.base import RunContext
from collectors.common.http import Scrape
from collectors.gpu.dcgm import DcgmCollector
from collectors.gpu.dcgm_text import parse_scrape
from collectors.gpu.fields import Meta
from collectors.gpu.rows import Value
from exporters.warehouse import gpu_rollup
from exporters.warehouse.duckdb import DuckDbLake
from spendscope import ingest
from spendscope.clock import fixed_clock
from spendscope.config import Settings
from spendscope.config_telemetry import DcgmConfig

# etc/default-counters.csv's enabled fields (formats.md §3.1) plus DCGM_FI_PROF_SM_ACTIVE, which H100 fleets
# commonly enable: 26 families. (name, type, help, value maker)
_INT, _FLOAT = "%d", "%f"
FAMILIES: list[tuple[str, str, str, str, Callable[[random.Random], float]]] = [
    ("DCGM_FI_DEV_SM_CLOCK", "gauge", "SM clock frequency (in MHz).", _INT, lambda r: r.choice([345, 1980])),
    ("DCGM_FI_DEV_MEM_CLOCK", "gauge", "Memory clock frequency (in MHz).", _INT, lambda r: 2619),
    ("DCGM_FI_DEV_MEMORY_TEMP", "gauge", "Memory temperature (in C).", _INT, lambda r: r.randint(30, 60)),
    ("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C).", _INT, lambda r: r.randint(28, 70)),
    ("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W).", _FLOAT, lambda r: r.uniform(68, 690)),
    ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "counter", "Total energy consumption since boot (in mJ).", _INT,
     lambda r: r.randint(10**9, 10**12)),
    ("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", "counter", "Total number of PCIe retries.", _INT, lambda r: 0),
    ("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %).", _INT, lambda r: r.randint(0, 100)),
    ("DCGM_FI_DEV_MEM_COPY_UTIL", "gauge", "Memory utilization (in %).", _INT, lambda r: r.randint(0, 60)),
    ("DCGM_FI_DEV_ENC_UTIL", "gauge", "Encoder utilization (in %).", _INT, lambda r: 0),
    ("DCGM_FI_DEV_DEC_UTIL", "gauge", "Decoder utilization (in %).", _INT, lambda r: 0),
    ("DCGM_FI_DEV_XID_ERRORS", "gauge", "Value of the last XID error encountered.", _INT, lambda r: 0),
    ("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB).", _INT, lambda r: r.randint(0, 81000)),
    ("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB).", _INT, lambda r: r.randint(0, 81000)),
    ("DCGM_FI_DEV_FB_RESERVED", "gauge", "Framebuffer memory reserved (in MiB).", _INT, lambda r: 547),
    ("DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL", "counter", "Total number of NVLink bandwidth counters for all lanes.",
     _INT, lambda r: r.randint(0, 10**9)),
    ("DCGM_FI_DEV_VGPU_LICENSE_STATUS", "gauge", "vGPU License status", _INT, lambda r: 0),
    ("DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", "counter", "Number of remapped rows for uncorrectable errors",
     _INT, lambda r: 0),
    ("DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", "counter", "Number of remapped rows for correctable errors",
     _INT, lambda r: 0),
    ("DCGM_FI_DEV_ROW_REMAP_FAILURE", "gauge", "Whether remapping of rows has failed", _INT, lambda r: 0),
    ("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "gauge", "Ratio of time the graphics engine is active.", _FLOAT,
     lambda r: r.random()),
    ("DCGM_FI_PROF_SM_ACTIVE", "gauge", "The ratio of cycles an SM has at least 1 warp assigned.", _FLOAT,
     lambda r: r.random()),
    ("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "gauge", "Ratio of cycles the tensor (HMMA) pipe is active.", _FLOAT,
     lambda r: r.random()),
    ("DCGM_FI_PROF_DRAM_ACTIVE", "gauge",
     "Ratio of cycles the device memory interface is active sending or receiving data.", _FLOAT,
     lambda r: r.random()),
    ("DCGM_FI_PROF_PCIE_TX_BYTES", "gauge", "The rate of data transmitted over the PCIe bus - including both "
     "protocol headers and data payloads - in bytes per second.", _INT, lambda r: r.randint(0, 10**9)),
    ("DCGM_FI_PROF_PCIE_RX_BYTES", "gauge", "The rate of data received over the PCIe bus - including both "
     "protocol headers and data payloads - in bytes per second.", _INT, lambda r: r.randint(0, 10**9)),
]  # fmt: skip

_BUS = ["18", "2A", "3A", "5D", "9A", "AB", "BA", "DB"]


def node_scrape(node: int, gpus: int = 8, seed: int = 0) -> str:
    """One node's dcgm-exporter 3.x answer (HELP/TYPE per family, `Hostname` label, driver version label)."""
    rng = random.Random(seed * 100_003 + node)
    host = f"a3-highgpu-8g-{node:04d}"
    labels = [
        f'gpu="{g}",UUID="GPU-{rng.getrandbits(32):08x}-{node:04x}-{g:04x}-{rng.getrandbits(16):04x}-'
        f'{rng.getrandbits(48):012x}",pci_bus_id="00000000:{_BUS[g % 8]}:00.0",device="nvidia{g}",'
        f'modelName="NVIDIA H100 80GB HBM3",Hostname="{host}",DCGM_FI_DRIVER_VERSION="550.90.07"'
        for g in range(gpus)
    ]
    out: list[str] = []
    for name, kind, help_text, fmt, value in FAMILIES:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")
        out.extend(f"{name}{{{lab}}} {fmt % value(rng)}" for lab in labels)
    return "\n".join(out) + "\n"


def fleet(nodes: int, gpus: int) -> list[tuple[str, str]]:
    """(target URL, answer text) for every node."""
    return [(f"http://10.8.{n // 250}.{n % 250}:9400/metrics", node_scrape(n, gpus)) for n in range(nodes)]


def baseline(answers: Sequence[tuple[str, str]]) -> int:
    """prometheus_client's parser over every answer, consuming every sample."""
    n = 0
    for _, text in answers:
        for family in text_string_to_metric_families(text):
            n += len(family.samples)
    return n


def ours_parse(answers: Sequence[tuple[str, str]], ts: dt.datetime) -> pa.Table:
    """Our parser over every answer plus the cycle's Arrow table (what the collector builds)."""
    metas: list[Meta] = []
    values: list[list[Value]] = []
    targets: list[str] = []
    for target, text in answers:
        rows, _ = parse_scrape(text, None)
        metas += rows.metas
        values += rows.values
        targets += [target] * len(rows)
    return DcgmCollector.table(metas, values, ts, targets)


CPU: dict[str, float] = {}  # label → median CPU ms of this process (steadier than wall time on a shared box)


def median_ms(fn: Callable[[], object], runs: int, label: str) -> float:
    """Median wall-clock ms of `runs` calls; the median CPU ms goes to CPU[label]."""
    wall, cpu = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    CPU[label] = statistics.median(cpu) * 1000
    return statistics.median(wall) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=192)
    ap.add_argument("--gpus", type=int, default=8)
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()

    answers = fleet(args.nodes, args.gpus)
    samples = baseline(answers)
    size = sum(len(t) for _, t in answers)
    ts0 = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB RAM, "
        f"Python {platform.python_version()}, pyarrow {pa.__version__}, deltalake {deltalake.__version__}"
    )
    print(
        f"scrape: {args.nodes} nodes x {args.gpus} GPUs, {len(FAMILIES)} families, {samples:,} samples, "
        f"{size / 2**20:.1f} MiB of text; median of {args.runs} runs"
    )
    base = median_ms(lambda: baseline(answers), args.runs, "base")
    parse = median_ms(lambda: ours_parse(answers, ts0), args.runs, "parse")

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.model_validate({"home": f"{tmp}/home", "warehouse": {"path": f"{tmp}/lake"}})
        lake = DuckDbLake(settings.warehouse.path)
        scrapes = [Scrape(t, text, None, 0.0) for t, text in answers]
        collector = DcgmCollector(DcgmConfig(), fetch=lambda targets, timeout, n: scrapes)
        pending: set[dt.datetime] = set()
        options = {"targets": [t for t, _ in answers], "defer_rollup": pending.update}  # as the daemon runs them
        cycle = [0]

        def now() -> dt.datetime:
            return ts0 + dt.timedelta(seconds=30 * cycle[0])

        def context() -> RunContext:
            cycle[0] += 1  # each cycle 30 s after the last, as the daemon runs it
            return RunContext(settings, lake, fixed_clock(now()), options)

        writes: list[float] = []

        def parse_and_store() -> None:
            """The collector's cycle and the write the runner makes of it (no derived tables)."""
            for batch in collector.collect(context()):
                t = time.perf_counter()
                lake.replace(batch.table, batch.data, batch.keys)  # type: ignore[union-attr]
                writes.append(time.perf_counter() - t)

        full = median_ms(parse_and_store, args.runs, "full")
        append = statistics.median(writes) * 1000
        runner = median_ms(lambda: ingest.run(collector, context()), args.runs, "runner")
        rollup = median_ms(lambda: gpu_rollup.refresh_recent(lake, now()), max(3, args.runs // 5), "rollup")
        stored = lake.query("SELECT COUNT(*) AS n FROM gpu_samples").column("n")[0].as_py()
        lake.close()

    print(f"\n  {'median per cycle':60s} {'wall ms':>9s} {'cpu ms':>9s}  baseline / ours (wall, cpu)")
    for label, name, wall in (
        ("base", "prometheus_client text_string_to_metric_families (baseline)", base),
        ("parse", "ours: parse + Arrow table", parse),
        ("full", "ours: parse + store (collector cycle + Delta append)", full),
        ("runner", "spendscope runner cycle, as the daemon runs it", runner),
    ):
        ratio = "" if label == "base" else f"  {base / wall:5.1f}x, {CPU['base'] / CPU[label]:5.1f}x"
        print(f"  {name:60s} {wall:9.1f} {CPU[label]:9.1f}{ratio}")
    print(f"  {'  the Delta append within parse + store (1 commit)':60s} {append:9.1f}")
    print(f"  {'gpu-rollup job (every 5 min, not per cycle): the hour so far':60s} {rollup:9.1f} {CPU['rollup']:9.1f}")
    print(f"  rows stored over all cycles: {stored:,}")
    print("\ntargets: parse + store >= 3x faster than the baseline and < 150 ms per cycle on 2 cores")


if __name__ == "__main__":
    main()
