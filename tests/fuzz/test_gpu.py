"""Fuzz the GPU parsers with mutated real captures: dcgm-exporter scrapes and saved nvidia-smi CSV files.

tests/gpu/test_dcgm_text_fuzz.py and tests/gpu/test_smi_csv.py already feed arbitrary text to the pure
parsers; here the inputs are the real fixtures broken line by line, and nvidia-smi files go through the
collector's `--from-file` entry point. A scrape is never quarantined (its skipped lines are counted), so
for dcgm the property is: no exception, a valid table, and every sample line of a stored family counted.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from collectors.base import RunContext
from collectors.common.files import read_text
from collectors.gpu.dcgm_text import parse_scrape
from collectors.gpu.fields import FIELDS
from collectors.gpu.nvidia_smi import NvidiaSmiCollector
from collectors.gpu.rows import to_table
from collectors.gpu.smi_csv import canonical
from spendscope.errors import SpendscopeError
from tests.fuzz import payloads as p
from tests.fuzz import payloads_text as pt
from tests.fuzz.conftest import fuzz
from tests.fuzz.props import attempt, check_quarantined, check_refused, cli_collect, drain

DCGM = sorted((p.FIXTURES / "dcgm").glob("*.txt"))
SMI = p.FIXTURES / "nvidia_smi"
SMI_CSVS = ["a3-highgpu-8g-0001.csv", "bad-rows.csv", "mig-h100.csv", "older-driver.csv", "real-h100-580-load.csv"]
TS = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)


def _family(line: str) -> str:
    name, brace, _ = line.partition("{")
    return name if brace else next(iter(line.split()), "")


def sample_lines(text: str) -> list[str]:
    """Lines that are neither blank nor comments, indented ones stripped (the parser reads those too)."""
    out = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.strip() if raw[:1] in (" ", "\t") else raw
        if line and not line.startswith("#"):
            out.append(line)
    return out


@fuzz(150)
@given(text=st.sampled_from(DCGM).flatmap(lambda f: pt.mutated_exposition(f.read_text(encoding="utf-8"))))
def test_dcgm_scrape(text: str) -> None:
    rows, stats = parse_scrape(text, "host")
    table = to_table(rows.metas, rows.values, TS, "dcgm", "t", "dcgm")
    assert table.num_rows == stats.rows == len(rows)
    counted = stats.samples + stats.non_finite + stats.non_numeric + stats.garbage_lines + stats.not_gpu
    lines = sample_lines(text)
    assert sum(1 for line in lines if _family(line) in FIELDS) <= counted <= len(lines)


def smi_data_lines(text: str) -> int:
    """Data lines of a saved output: after the first (header) line, not blank, comments or repeated headers."""
    header: list[str] | None = None
    n = 0
    for raw in text.split("\n"):
        line = raw.rstrip("\r").strip().lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        cells = [canonical(c) for c in line.split(",")]
        if header is None:
            header = cells
        elif cells != header:
            n += 1
    return n


def _smi(*cells: str) -> bytes:
    return ("index, uuid, clocks_event_reasons.active\n" + ", ".join(cells) + "\n").encode()


# Regressions the fuzz found (each escaped as a traceback).
INDEX_PAST_INT32 = _smi("99999999999", "GPU-1", "0x0")  # OverflowError building the int32 gpu_index column
INDEX_5000_DIGITS = _smi("9" * 5000, "GPU-1", "0x0")  # ValueError: Python's 4,300-digit int limit
HUGE_BITMASK = _smi("0", "GPU-1", "0x" + "f" * 300)  # OverflowError: int too large to convert to float


@fuzz(120)
@given(data=st.sampled_from(SMI_CSVS).flatmap(lambda name: p.strategies_of(lambda: p.mutated_csv(SMI / name))))
@example(data=INDEX_PAST_INT32)
@example(data=INDEX_5000_DIGITS)
@example(data=HUGE_BITMASK)
def test_nvidia_smi_file(fuzz_ctx: RunContext, tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "gpu-node-1.csv"
    path.write_bytes(data)
    got = attempt(
        lambda: drain(NvidiaSmiCollector.from_settings(fuzz_ctx.settings).collect_files(fuzz_ctx, [str(path)]))
    )
    if isinstance(got, SpendscopeError):
        return
    assert set(got.rows) <= {"gpu_samples"}
    check_quarantined(got.quarantined, str(path))
    assert got.total + len(got.quarantined) == smi_data_lines(read_text(path))


def test_a_non_finite_reading_is_quarantined_not_stored(fuzz_ctx: RunContext, tmp_path: Path) -> None:
    """`1e999 W` read as inf and was stored as the GPU's power; it is a bad value, quarantined with its line."""
    path = tmp_path / "gpu-node-1.csv"
    path.write_text("timestamp, index, uuid, power.draw [W]\n2026/11/20 12:00:01.001, 0, GPU-1, 1e999 W\n")
    got = drain(NvidiaSmiCollector.from_settings(fuzz_ctx.settings).collect_files(fuzz_ctx, [str(path)]))
    assert got.total == 0
    assert [(q.line, q.reason) for q in got.quarantined] == [(2, "power.draw: not a finite number: '1e999 W'")]


def test_cli_refuses_a_bad_nvidia_smi_file(tmp_path: Path) -> None:
    """A UTF-16 capture and one without a uuid column: a clear error each, exit non-zero, no traceback."""
    bad = {
        "utf16.csv": (SMI / "a3-highgpu-8g-0001.csv").read_text().encode("utf-16"),
        "no-uuid.csv": (SMI / "no-uuid.csv").read_bytes(),
    }
    for name, data in bad.items():
        (tmp_path / name).write_bytes(data)
        check_refused(cli_collect(tmp_path / name.replace(".", "_"), "nvidia-smi", tmp_path / name))
