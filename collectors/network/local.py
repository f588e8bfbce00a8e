"""This host's interfaces: counters from psutil, link speed from sysfs. Both are injectable for tests.

psutil gives `net_io_counters(pernic=True)` → {name: snetio(bytes_sent, bytes_recv, packets_sent,
packets_recv, errin, errout, dropin, dropout)}; it unwraps 32-bit counters itself within one process.
`/sys/class/net/<iface>/speed` is in Mbit/s; it reads -1 (or fails with EINVAL) when the link is down or
the driver does not know, as virtio and most cloud NICs do: then the speed is unknown here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SYSFS_NET = "/sys/class/net"
NetIo = Callable[[], Mapping[str, Any]]

# our column → the snetio attribute it comes from
_FIELDS = {
    "rx_bytes_total": "bytes_recv",
    "tx_bytes_total": "bytes_sent",
    "rx_packets_total": "packets_recv",
    "tx_packets_total": "packets_sent",
    "rx_errors_total": "errin",
    "tx_errors_total": "errout",
    "rx_drops_total": "dropin",
    "tx_drops_total": "dropout",
}
_SPEED_UNKNOWN = (0, 0xFFFFFFFF, 0xFFFF)  # drivers report these (besides negatives) when they do not know


@dataclass(frozen=True)
class LocalInterface:
    """One local interface's counters and its sysfs link speed (None: unknown)."""

    name: str
    counters: dict[str, float | None]
    speed_bytes_per_second: float | None


def psutil_net_io() -> Mapping[str, Any]:
    """psutil's per-NIC counters (imported here so the module loads without psutil)."""
    import psutil

    return psutil.net_io_counters(pernic=True)


def clean_name(name: str) -> str:
    """The name as valid UTF-8 text: psutil decodes with surrogateescape, which Arrow cannot store."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return name


def sysfs_speed_bytes(root: str | os.PathLike[str], name: str) -> float | None:
    """Link speed in bytes/s from `<root>/<name>/speed` (Mbit/s); None when absent, unreadable or unknown."""
    if not name or "/" in name or name in (".", "..") or "\0" in name:
        return None  # not a kernel interface name; never build a path outside root from it
    try:
        text = (Path(root) / name / "speed").read_text(encoding="ascii", errors="replace").strip()
        mbit = int(text)
    except (OSError, ValueError):
        return None
    # Above 10**9 Mbit/s (a petabit) is no link: a longer number also overflowed the float division below.
    if mbit <= 0 or mbit in _SPEED_UNKNOWN or mbit > 10**9:
        return None
    return mbit * 1_000_000 / 8


def _counter(stats: Any, attr: str) -> float | None:
    value = getattr(stats, attr, None)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return float(value)


def read_local(net_io: NetIo = psutil_net_io, sysfs_root: str | os.PathLike[str] = SYSFS_NET) -> list[LocalInterface]:
    """Every interface psutil lists, with its counters and sysfs speed."""
    out = []
    for raw_name, stats in net_io().items():
        counters = {column: _counter(stats, attr) for column, attr in _FIELDS.items()}
        out.append(LocalInterface(clean_name(raw_name), counters, sysfs_speed_bytes(sysfs_root, raw_name)))
    return out
