"""Arrow's memory pool: which allocator, and giving freed memory back to the OS between daemon jobs.

The daemon's jobs allocate and free a few hundred MB each (an hour of GPU minutes in Arrow, DuckDB scans);
Arrow's pool (jemalloc or mimalloc) and glibc's malloc keep freed pages for reuse, so without this the daemon's RSS only
ever grows to the largest sum of what the jobs once held (bench/daemon_soak.py: +130 MB in 30 minutes).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
from typing import Literal

import pyarrow as pa

log = logging.getLogger(__name__)


def _load_libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


_LIBC = _load_libc()  # looked up once: find_library searches the system's library cache


def _libc(function: str) -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    return getattr(_LIBC, function, None)  # glibc only; musl and macOS have neither function


_TRIM = _libc("malloc_trim")
_MALLOPT = _libc("mallopt")
_M_ARENA_MAX = -8  # glibc's malloc.h
# The daemon's arenas. glibc gives each thread that contends for malloc an arena of its own, up to 8 per core; the
# daemon's 32 scrape threads, the exporter's and the jobs' each fragment theirs. In a replay of its jobs (30 cycles,
# 1,536 GPUs) RSS rose 297 → 319 MB from cycle 10 to 30 with the default, 296 → 307 MB with 2 arenas.
DAEMON_ARENAS = 2


# pyarrow's own choice (mimalloc in the Linux wheels), taken before anything here changes it.
_BUILD_DEFAULT = pa.default_memory_pool()


def use_pool(work: Literal["batch", "daemon"]) -> str:
    """Pick Arrow's allocator for the kind of work this process does; returns the pool's backend name.

    - "batch" (one-shot commands: a 5M-row file ingest): jemalloc where the build has it. On the ingest benchmark
      (bench/ingest.py, 2 cores) it spent 3.1-3.8 s of system time where mimalloc spent 5.6-6.5 s (fewer pages
      faulted in for the sort's and the writer's fresh buffers), and the command ran 1-1.5 s faster.
    - "daemon" (`spendscope run`): pyarrow's default, mimalloc. After each job `release_unused` gives its pages
      back at once; jemalloc's stayed resident — in a replay of the daemon's jobs over an hour of 1,536 GPUs'
      minutes, RSS stayed 60-100 MB higher after every alert evaluation until later allocations reused it.
      The daemon also caps glibc's malloc arenas at DAEMON_ARENAS (MALLOC_ARENA_MAX in the environment wins).

    ARROW_DEFAULT_MEMORY_POOL, Arrow's own switch, overrides both.
    """
    if work == "daemon" and _MALLOPT is not None and not os.environ.get("MALLOC_ARENA_MAX"):
        _MALLOPT(_M_ARENA_MAX, DAEMON_ARENAS)  # arenas created from now on; 0 (refused) changes nothing
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return pa.default_memory_pool().backend_name
    pool = _BUILD_DEFAULT
    if work == "batch":
        try:
            pool = pa.jemalloc_memory_pool()
        except NotImplementedError:  # a build without jemalloc (pa.ArrowNotImplementedError is one)
            log.debug("memory:jemalloc-unavailable pool:%s", _BUILD_DEFAULT.backend_name)
    pa.set_memory_pool(pool)
    return pool.backend_name


def release_unused() -> None:
    """Return memory freed by Arrow's pool and by malloc to the OS (best effort; never raises)."""
    try:
        pa.default_memory_pool().release_unused()
        if _TRIM is not None:
            _TRIM(0)
    except Exception as exc:  # an optimization only: a failure must not fail the job that called it
        log.debug("memory:release-failed error:%s", exc)
