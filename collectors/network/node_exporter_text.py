"""Parse node_exporter's `/metrics` (Prometheus text exposition 0.0.4) into per-interface network counters.

Pure: text in, `NodeScrape` out, never raises and never logs. Kept families (node_exporter ≥ 0.16 names,
plus the pre-0.16 names without `_total`): `node_network_{receive,transmit}_{bytes,packets,errs,drop}_total`,
`node_network_speed_bytes`, `node_network_up`, `node_network_info{operstate}` and `node_uname_info{nodename}`.
Every other family is ignored. A kept sample with a value that is not a finite number (NaN, +Inf, text),
a negative counter or no `device` label, and any line that is not a sample, comment or blank, is skipped
and counted; the rest of the scrape is used. Label values may be any UTF-8 (node_exporter prints device
names as they are, e.g. `device="💩0"` in its own e2e fixture) with `\\`, `\"` and `\n` escapes; names in
the Prometheus 3 quoted form (`{"node_network_up", device="eth0"} 1`) are read too.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

# family → our column; ≥ 0.16 names first, then the 0.15-and-earlier names the same counters had.
_COUNTERS_NEW = {
    "node_network_receive_bytes_total": "rx_bytes_total",
    "node_network_transmit_bytes_total": "tx_bytes_total",
    "node_network_receive_packets_total": "rx_packets_total",
    "node_network_transmit_packets_total": "tx_packets_total",
    "node_network_receive_errs_total": "rx_errors_total",
    "node_network_transmit_errs_total": "tx_errors_total",
    "node_network_receive_drop_total": "rx_drops_total",
    "node_network_transmit_drop_total": "tx_drops_total",
}
COUNTER_FAMILIES = {**_COUNTERS_NEW, **{k.removesuffix("_total"): v for k, v in _COUNTERS_NEW.items()}}
SPEED = "node_network_speed_bytes"
UP = "node_network_up"
INFO = "node_network_info"
UNAME = "node_uname_info"
_KEPT = frozenset([*COUNTER_FAMILIES, SPEED, UP, INFO, UNAME])
MAX_PROBLEMS = 20  # problems kept with their text; all are counted

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_QUOTED = r'"(?:[^"\\]|\\.)*"'
# name{labels} value [timestamp]; the label block is greedy up to the last '}', values never contain one.
_SAMPLE = re.compile(rf"(?:({_NAME})(\{{.*\}})?|(\{{.*\}}))[ \t]+(\S+)(?:[ \t]+(-?\d+))?[ \t]*")
_LABEL = re.compile(rf"[ \t]*(?:({_NAME})|({_QUOTED}))[ \t]*(?:=[ \t]*({_QUOTED}))?[ \t]*(,|$)")
_ESCAPES = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}
_ESCAPE = re.compile(r"\\.")


@dataclass(frozen=True)
class Problem:
    """One skipped line: its 1-based number, why, and the text."""

    line: int
    reason: str
    raw: str


@dataclass
class Interface:
    """What one scrape says about one device; a counter it did not report is absent from `counters`."""

    device: str
    counters: dict[str, float] = field(default_factory=dict)
    speed_bytes_per_second: float | None = None  # None: unknown (absent, or ≤ 0 as drivers say for "unknown")
    up: bool | None = None
    operstate: str | None = None


@dataclass
class NodeScrape:
    """The network part of one node_exporter scrape."""

    interfaces: dict[str, Interface] = field(default_factory=dict)
    nodename: str | None = None
    skipped: int = 0
    problems: list[Problem] = field(default_factory=list)

    def skip(self, line: int, reason: str, raw: str) -> None:
        self.skipped += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(line, reason, raw[:500]))

    def counted(self) -> dict[str, Interface]:
        """Interfaces with at least one counter (info-only devices give no net_samples row)."""
        return {k: v for k, v in self.interfaces.items() if v.counters}


def _unescape(quoted: str) -> str:
    body = quoted[1:-1]
    # Unknown escapes are kept as written (the Python prometheus_client parser does the same).
    return _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(0), m.group(0)), body) if "\\" in body else body


def parse_labels(block: str) -> tuple[str | None, dict[str, str]] | None:
    """`{a="x",b="y"}` → (quoted metric name or None, labels); None when the block is malformed."""
    inner = block[1:-1]
    labels: dict[str, str] = {}
    name: str | None = None
    pos = 0
    while pos < len(inner) and inner[pos:].strip():
        m = _LABEL.match(inner, pos)
        if m is None or m.end() == pos:
            return None
        key = m.group(1) or (_unescape(m.group(2)) if m.group(2) else None)
        if m.group(3) is None:  # a bare quoted string: the metric name, allowed only first
            if m.group(2) is None or labels or name is not None:
                return None
            name = key
        elif key is not None:
            labels[key] = _unescape(m.group(3))
        pos = m.end()
    return name, labels


def parse_value(token: str) -> float | None:
    """A Go-style float ("1.234e+09", "NaN", "+Inf"); None for anything else. Python-only forms are refused."""
    if "_" in token:
        return None
    try:
        return float(token)
    except ValueError:
        return None


def parse_node_exporter(text: str) -> NodeScrape:
    """Read the network families of a node_exporter scrape; bad lines are skipped and counted, never fatal."""
    out = NodeScrape()
    # Split on "\n" only: str.splitlines would also break inside label values at U+2028, \x1c and the like.
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip(" \t\r")
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.fullmatch(line)
        if m is None:
            out.skip(number, "not a sample line", raw)
            continue
        name, block = m.group(1), m.group(2) or m.group(3)
        if name is not None and name not in _KEPT:
            continue  # another family: not parsed further
        parsed = parse_labels(block) if block else (None, {})
        if parsed is None:
            out.skip(number, "malformed labels", raw)
            continue
        quoted_name, labels = parsed
        name = name or quoted_name
        if name is None:
            out.skip(number, "no metric name", raw)
        elif name in _KEPT:
            _take(out, number, raw, name, labels, m.group(4))
    return out


def _take(out: NodeScrape, number: int, raw: str, name: str, labels: dict[str, str], token: str) -> None:
    value = parse_value(token)
    if value is None or not math.isfinite(value):
        out.skip(number, f"value is not a finite number: {token[:40]}", raw)
        return
    if name == UNAME:
        out.nodename = labels.get("nodename") or out.nodename
        return
    device = labels.get("device")
    if not device:
        out.skip(number, "no device label", raw)
        return
    iface = out.interfaces.get(device)
    if iface is None:
        iface = out.interfaces[device] = Interface(device)
    column = COUNTER_FAMILIES.get(name)
    if column is not None:
        if value < 0:
            out.skip(number, "negative counter", raw)
        else:
            iface.counters[column] = value
    elif name == SPEED:
        iface.speed_bytes_per_second = value if value > 0 else None
    elif name == UP:
        iface.up = value == 1
    elif name == INFO:
        iface.operstate = labels.get("operstate") or iface.operstate
