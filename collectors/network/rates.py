"""Counter readings → per-second rates, with counter resets and 32-bit wraps told apart. Pure.

Policy (why): a rate we are not sure of is null, never negative and never a bogus spike.

* First reading of an interface, a previous reading older than `MAX_GAP`, or a clock that did not move
  forward: no rates, `interval_seconds` null, `counter_reset` false (nothing was observed going back).
* A counter that went backwards is a **reset** (reboot, driver reload, a veth re-created under the same
  name): `counter_reset` true and every rate of that interval null. Prometheus' `rate()` instead assumes the
  counter restarted at 0, which over-counts when the reset happened late in the interval; we do not guess.
* Except a **32-bit wrap**, recognised only when all of these hold, so a reboot is never mistaken for one:
  the previous value was in the top half of the 32-bit range (2^31 ≤ prev < 2^32); the companion counter
  of the same direction (bytes ↔ packets) kept increasing, which a reboot would have reset too; and, for
  bytes with a known link speed, the wrapped delta (cur + 2^32 − prev) fits in the interval at that speed.
  Then the wrapped delta is used and the interval is not a reset. 64-bit counters (Linux /proc/net/dev,
  node_exporter on 64-bit kernels) take years to wrap at 400 Gbit/s, so a 64-bit decrease is a reset.
  psutil already unwraps its own counters within one process (`nowrap=True`); this covers node_exporter
  on 32-bit hosts and stateless one-shot runs.
* `saturation_ratio` = max(rx, tx) bytes/s ÷ link speed bytes/s, when both are known and the speed is > 0.
  It is not clamped: a value a little above 1 is timing jitter between two readings, and is left visible.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from exporters.warehouse.schema.telemetry import NET_COUNTERS

DIRECTIONS = ("rx", "tx")
COUNTERS = tuple(f"{d}_{c}_total" for c in NET_COUNTERS for d in DIRECTIONS)
RATES = tuple(f"{d}_{c}_per_second" for c in NET_COUNTERS for d in DIRECTIONS)
RATE_OF = dict(zip(COUNTERS, RATES, strict=True))
WRAP_32 = 2.0**32
MAX_GAP = dt.timedelta(hours=24)
# bytes ↔ packets of one direction witness each other: a reboot resets both, a wrap only one.
_COMPANION = {f"{d}_bytes_total": f"{d}_packets_total" for d in DIRECTIONS} | {
    f"{d}_packets_total": f"{d}_bytes_total" for d in DIRECTIONS
}


@dataclass(frozen=True)
class Reading:
    """Counters of one interface at one time; a counter the source did not report is None or absent."""

    ts: dt.datetime
    counters: Mapping[str, float | None]


@dataclass(frozen=True)
class Rates:
    """What two readings say: per-second rates (keys as in `RATES`), the interval, reset and saturation."""

    per_second: dict[str, float | None]
    interval_seconds: float | None
    counter_reset: bool
    saturation_ratio: float | None
    wrapped: tuple[str, ...] = ()  # counters taken as 32-bit wraps in this interval


def _none(reset: bool = False, interval: float | None = None) -> Rates:
    return Rates(dict.fromkeys(RATES), interval, reset, None)


def is_wrap(
    name: str, prev: Mapping[str, float | None], cur: Mapping[str, float | None], seconds: float, speed: float | None
) -> bool:
    """Whether `name` going backwards is a 32-bit counter wrapping (see the module docstring)."""
    p, c = prev.get(name), cur.get(name)
    if p is None or c is None or not (WRAP_32 / 2 <= p < WRAP_32) or c >= p:
        return False
    companion = _COMPANION.get(name)
    cp, cc = (prev.get(companion), cur.get(companion)) if companion else (None, None)
    if cp is None or cc is None or cc <= cp:
        return False
    delta = c + WRAP_32 - p
    return not (name.endswith("_bytes_total") and speed and delta > speed * seconds)


def compute(prev: Reading | None, cur: Reading, speed: float | None = None) -> Rates:
    """Rates of `cur` against `prev` (the previous reading of the same host, interface and source)."""
    if prev is None:
        return _none()
    gap = cur.ts - prev.ts
    if gap <= dt.timedelta(0) or gap > MAX_GAP:
        return _none()
    seconds = gap.total_seconds()
    rates: dict[str, float | None] = {}
    wrapped: list[str] = []
    for name in COUNTERS:
        p, c = prev.counters.get(name), cur.counters.get(name)
        if p is None or c is None:
            rates[RATE_OF[name]] = None
            continue
        delta = c - p
        if delta < 0:
            if not is_wrap(name, prev.counters, cur.counters, seconds, speed):
                return _none(reset=True, interval=seconds)
            delta += WRAP_32
            wrapped.append(name)
        rates[RATE_OF[name]] = delta / seconds
    return Rates(rates, seconds, False, saturation(rates, speed), tuple(wrapped))


def saturation(rates: Mapping[str, float | None], speed: float | None) -> float | None:
    """max(rx, tx) bytes/s over the link speed; None when either side is unknown."""
    if not speed or speed <= 0:
        return None
    known = [r for r in (rates.get("rx_bytes_per_second"), rates.get("tx_bytes_per_second")) if r is not None]
    return max(known) / speed if known else None
