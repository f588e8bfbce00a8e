"""Giving freed memory back to the OS between daemon jobs.

The daemon's jobs allocate and free a few hundred MB each (an hour of GPU minutes in Arrow, DuckDB scans);
Arrow's mimalloc pool and glibc's malloc keep freed pages for reuse, so without this the daemon's RSS only
ever grows to the largest sum of what the jobs once held (bench/daemon_soak.py: +130 MB in 30 minutes).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

import pyarrow as pa

log = logging.getLogger(__name__)


def _libc_trim() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None  # glibc only; musl and macOS have none
    except (OSError, AttributeError):
        return None


_TRIM = _libc_trim()


def release_unused() -> None:
    """Return memory freed by Arrow's pool and by malloc to the OS (best effort; never raises)."""
    try:
        pa.default_memory_pool().release_unused()
        if _TRIM is not None:
            _TRIM(0)
    except Exception as exc:  # an optimization only: a failure must not fail the job that called it
        log.debug("memory:release-failed error:%s", exc)
