"""Arrow's allocator per kind of work (spendscope/memory.py): jemalloc for one-shot commands, default for the daemon."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

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


def test_the_daemon_goes_back_to_pyarrows_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    monkeypatch.setattr(memory, "_MALLOPT", lambda option, value: 1)  # this test process keeps its arenas
    memory.use_pool("batch")
    assert memory.use_pool("daemon") == memory._BUILD_DEFAULT.backend_name
    assert pa.default_memory_pool().backend_name == memory._BUILD_DEFAULT.backend_name


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


def test_only_the_daemon_caps_mallocs_arenas_and_the_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(memory, "_MALLOPT", lambda option, value: calls.append((option, value)) or 1)
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    memory.use_pool("batch")
    assert calls == []
    memory.use_pool("daemon")
    assert calls == [(-8, memory.DAEMON_ARENAS)]  # M_ARENA_MAX
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")  # glibc read it at start: ours must not override it
    memory.use_pool("daemon")
    assert calls == [(-8, memory.DAEMON_ARENAS)]
