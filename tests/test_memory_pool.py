"""Arrow's allocator per kind of work (spendscope/memory.py): jemalloc for one-shot commands, the system's for the
daemon; the daemon's malloc settings; the per-job memory figures."""

from __future__ import annotations

import platform
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from spendscope import memory


@pytest.fixture(autouse=True)
def _restore_pool() -> Iterator[None]:
    before = pa.default_memory_pool()
    yield
    pa.set_memory_pool(before)


def _has_jemalloc() -> bool:
    try:
        pa.jemalloc_memory_pool()
    except NotImplementedError:
        return False
    return True


def test_batch_work_allocates_from_jemalloc_where_the_build_has_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    want = "jemalloc" if _has_jemalloc() else memory._BUILD_DEFAULT.backend_name
    assert memory.use_pool("batch") == want
    assert pa.default_memory_pool().backend_name == want
    assert pa.array(range(1000)).nbytes > 0  # and it allocates


def test_the_daemon_allocates_from_the_system_allocator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    monkeypatch.setattr(memory, "_MALLOPT", lambda option, value: 1)  # this test process keeps its malloc settings
    memory.use_pool("batch")
    assert memory.use_pool("daemon") == "system"
    assert pa.default_memory_pool().backend_name == "system"
    assert pa.array(range(1000)).nbytes > 0


def test_arrows_own_switch_wins_over_both() -> None:
    # A fresh interpreter: Arrow reads the variable when pyarrow is first imported.
    code = (
        "from spendscope import memory; import pyarrow as pa; "
        "print(memory.use_pool('batch'), memory.use_pool('daemon'), pa.default_memory_pool().backend_name)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env={"ARROW_DEFAULT_MEMORY_POOL": "system", "PATH": ""}, capture_output=True,
        text=True, check=True, cwd=str(Path(__file__).resolve().parents[1]),
    )  # fmt: skip
    assert out.stdout.split() == ["system", "system", "system"]


def test_only_the_daemon_sets_mallocs_arenas_and_mmap_threshold_and_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(memory, "_MALLOPT", lambda option, value: calls.append((option, value)) or 1)
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    memory.use_pool("batch")
    assert calls == []
    memory.use_pool("daemon")
    assert calls == [(-8, memory.DAEMON_ARENAS), (-3, memory.DAEMON_MMAP_THRESHOLD)]  # M_ARENA_MAX, M_MMAP_THRESHOLD
    calls.clear()
    # glibc read these at start: ours must not override them
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    memory.use_pool("daemon")
    assert calls == []


@pytest.mark.skipif(sys.platform != "linux", reason="figures from /proc and glibc's mallinfo2")
def test_usage_sees_what_malloc_and_duckdbs_jemalloc_hold() -> None:
    before = memory.usage()
    assert before["rssanon"] > 0 and before["rssfile"] > 0
    block = bytearray(64 << 20)  # one block, from malloc (a mapping of its own at this size)
    # calloc's fresh mapping is zero already: pages count as resident only once written. A CI run saw +48 MB without
    # this; the margin below is for what other allocators' background threads give back meanwhile.
    block[:: 1 << 12] = b"\x01" * len(range(0, len(block), 1 << 12))
    held = memory.usage()
    assert held["malloc_used"] - before["malloc_used"] >= 60
    assert held["rssanon"] - before["rssanon"] >= 56
    del block
    assert memory.usage()["malloc_used"] < held["malloc_used"] - 60

    con = duckdb.connect()
    if platform.machine() == "x86_64":  # the Linux x86-64 wheels link jemalloc in
        empty = memory.usage()["duckdb_allocated"]
        con.execute("CREATE TABLE t AS SELECT range AS i FROM range(4000000)")  # ~32 MB of BIGINT
        assert memory.usage()["duckdb_allocated"] - empty >= 25
    con.close()
