"""Fuzz the network parsers: node_exporter scrapes (mutated real ones; tests/network has the arbitrary-text
fuzz) and the sysfs link-speed file.

A scrape is never quarantined: a bad line is skipped and reported with its line number and reason. The
property: no exception; every problem names a line of the scrape and a reason; every counter kept is a
finite, non-negative number; a speed is positive or unknown.
"""

from __future__ import annotations

import math
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from collectors.network.local import sysfs_speed_bytes
from collectors.network.node_exporter_text import MAX_PROBLEMS, parse_node_exporter
from tests.fuzz import payloads as p
from tests.fuzz import payloads_text as pt
from tests.fuzz.conftest import fuzz

SCRAPES = sorted((p.FIXTURES / "node_exporter").glob("*.txt"))


@fuzz(150)
@given(text=st.sampled_from(SCRAPES).flatmap(lambda f: pt.mutated_exposition(f.read_text(encoding="utf-8"))))
def test_node_exporter_scrape(text: str) -> None:
    got = parse_node_exporter(text)
    lines = text.split("\n")
    assert len(got.problems) == min(got.skipped, MAX_PROBLEMS)
    for problem in got.problems:
        assert 1 <= problem.line <= len(lines) and problem.reason.strip()
        assert problem.raw == lines[problem.line - 1][:500]
    for iface in got.interfaces.values():
        assert iface.device
        assert all(math.isfinite(v) and v >= 0 for v in iface.counters.values())
        assert iface.speed_bytes_per_second is None or iface.speed_bytes_per_second > 0


@fuzz(60)
@given(data=st.one_of(st.binary(max_size=40), st.sampled_from(p.EVIL_CELLS).map(str.encode)))
@example(data=b"9" * 400)  # OverflowError: the Mbit/s → bytes/s division past the float range
def test_sysfs_speed_file(tmp_path: Path, data: bytes) -> None:
    """`/sys/class/net/<iface>/speed` holding anything: a positive speed or unknown (None), never a traceback."""
    (tmp_path / "eth0").mkdir(exist_ok=True)
    (tmp_path / "eth0" / "speed").write_bytes(data)
    got = sysfs_speed_bytes(tmp_path, "eth0")
    assert got is None or (math.isfinite(got) and got > 0)
