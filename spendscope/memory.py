"""Arrow's memory pool, the daemon's malloc settings, giving freed memory back to the OS between daemon jobs, and
where the process's memory is (`usage`, the daemon's per-job debug line).

The daemon's jobs allocate and free a few hundred MB each (an hour of GPU minutes in Arrow, DuckDB scans);
allocators keep freed pages for reuse, so without this the daemon's RSS only ever grows to the largest sum of what
the jobs once held (bench/daemon_soak.py: +130 MB in 30 minutes).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os
from typing import Any, Literal

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
_MALLINFO2 = _libc("mallinfo2")  # glibc 2.33+
_M_ARENA_MAX = -8  # glibc's malloc.h
_M_MMAP_THRESHOLD = -3
# The daemon's arenas. glibc gives each thread that contends for malloc an arena of its own, up to 8 per core; the
# daemon's 32 scrape threads, the exporter's and the jobs' each fragment theirs. In a replay of its jobs (30 cycles,
# 1,536 GPUs) RSS rose 297 → 319 MB from cycle 10 to 30 with the default, 296 → 307 MB with 2 arenas.
DAEMON_ARENAS = 2
# Blocks this big or bigger get a mapping of their own, unmapped when freed. Setting it fixes glibc's threshold, which
# otherwise rises to the largest block freed so far (up to 32 MiB), after which such blocks come from the arenas and
# stay as free space in them: 500-800 MB of free arena space after 30 minutes of the daemon's jobs (the per-job
# debug line's malloc_free), 25-60 MB with the threshold fixed.
DAEMON_MMAP_THRESHOLD = 128 << 10


# pyarrow's own choice (mimalloc in the Linux wheels), taken before anything here changes it.
_BUILD_DEFAULT = pa.default_memory_pool()


def use_pool(work: Literal["batch", "daemon"]) -> str:
    """Pick Arrow's allocator for the kind of work this process does; returns the pool's backend name.

    - "batch" (one-shot commands: a 5M-row file ingest): jemalloc where the build has it. On the ingest benchmark
      (bench/ingest.py, 2 cores) it spent 3.1-3.8 s of system time where mimalloc spent 5.6-6.5 s (fewer pages
      faulted in for the sort's and the writer's fresh buffers), and the command ran 1-1.5 s faster.
    - "daemon" (`spendscope run`): the system allocator, glibc's malloc, with its arenas capped at DAEMON_ARENAS
      and its mmap threshold fixed at DAEMON_MMAP_THRESHOLD (MALLOC_ARENA_MAX / MALLOC_MMAP_THRESHOLD_ in the
      environment win). Arrow's big buffers then get mappings of their own, unmapped when freed, and
      `release_unused` trims the rest after each job. With mimalloc (pyarrow's default) the 30-minute soak on a
      fresh lake grew +15-29 % by its end, most of it after minute 10, while malloc's live blocks, Arrow's and
      DuckDB's stayed flat; with this, +4.8 % (what each minute kept between jobs: +3 %). jemalloc's pages had
      stayed resident for longer still (60-100 MB after every alert evaluation in a replay of the jobs).

    ARROW_DEFAULT_MEMORY_POOL, Arrow's own switch, overrides both.
    """
    if work == "daemon" and _MALLOPT is not None:
        # Each takes effect from now on (arenas created, blocks allocated later); 0 (refused) changes nothing.
        if not os.environ.get("MALLOC_ARENA_MAX"):
            _MALLOPT(_M_ARENA_MAX, DAEMON_ARENAS)
        if not os.environ.get("MALLOC_MMAP_THRESHOLD_"):
            _MALLOPT(_M_MMAP_THRESHOLD, DAEMON_MMAP_THRESHOLD)
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return pa.default_memory_pool().backend_name
    pool = pa.system_memory_pool() if work == "daemon" else _BUILD_DEFAULT
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


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                     "keepcost")
    ]  # fmt: skip


if _MALLINFO2 is not None:
    _MALLINFO2.restype = _MallInfo2


def rss_parts(pid: int | str = "self") -> dict[str, float]:
    """A process's resident anonymous, file and shared-memory pages in MB (`rssanon`, `rssfile`, `rssshmem`), from
    /proc/<pid>/status; {} where there is none (not Linux, or the process is gone)."""
    out: dict[str, float] = {}
    try:  # errors="replace": the Name line is the executable's name, whatever its bytes
        with open(f"/proc/{pid}/status", encoding="utf-8", errors="replace") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("RssAnon", "RssFile", "RssShmem"):
                    out[key.lower()] = int(value.split()[0]) / 1024
    except (OSError, ValueError, IndexError):
        return {}
    return out


def usage() -> dict[str, float]:
    """Where this process's memory is, in MB: resident anonymous and file pages, what malloc has handed out
    (`malloc_used`) and holds free in its arenas (`malloc_free`) across all arenas, and Arrow's pool. For the
    daemon's per-job debug line: RSS that grows while `malloc_used` and `arrow` stay flat is allocator
    fragmentation or another allocator's cache, not objects kept alive."""
    out = rss_parts()  # the allocator figures below say something even where /proc does not
    if _MALLINFO2 is not None:
        info = _MALLINFO2()
        out["malloc_used"] = (info.uordblks + info.hblkhd) / 2**20
        out["malloc_free"] = info.fordblks / 2**20
    out["arrow"] = pa.total_allocated_bytes() / 2**20
    out.update(_duckdb_jemalloc())
    return out


@functools.cache
def _duckdb_mallctl() -> Any:
    """DuckDB's `duckdb_je_mallctl` (its Linux wheels link jemalloc in, symbols prefixed), or None; looked up once."""
    try:
        import _duckdb  # the extension module; imported already wherever DuckDB ran

        return ctypes.CDLL(_duckdb.__file__).duckdb_je_mallctl
    except (ImportError, OSError, AttributeError):  # another build (no jemalloc) or platform
        return None


def _duckdb_jemalloc() -> dict[str, float]:
    """DuckDB's own jemalloc: live and resident MB."""
    ctl = _duckdb_mallctl()
    if ctl is None:
        return {}
    epoch = ctypes.c_uint64(1)
    ctl(b"epoch", None, None, ctypes.byref(epoch), ctypes.c_size_t(8))  # refreshes the stats read below
    out: dict[str, float] = {}
    for key in ("allocated", "resident"):
        value, size = ctypes.c_size_t(0), ctypes.c_size_t(ctypes.sizeof(ctypes.c_size_t))
        if ctl(f"stats.{key}".encode(), ctypes.byref(value), ctypes.byref(size), None, ctypes.c_size_t(0)) == 0:
            out[f"duckdb_{key}"] = value.value / 2**20
    return out
