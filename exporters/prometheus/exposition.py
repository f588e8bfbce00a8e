"""Prometheus text exposition format 0.0.4, rendered by hand from a Snapshot (no timestamps).

No timestamps are written: node_exporter's textfile collector rejects them, and a scrape's own time is the
right one for values computed moments ago. Families with no samples are left out.
"""

from __future__ import annotations

import math

from exporters.prometheus.snapshot import Family, Snapshot

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def escape_label(value: str) -> str:
    """Label values escape backslash, double quote and newline."""
    if "\\" in value or '"' in value or "\n" in value:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return value


def escape_help(text: str) -> str:
    """HELP text escapes backslash and newline (quotes stay)."""
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(v: float) -> str:
    """Go-compatible float text: integers without a fraction, NaN and ±Inf spelled as Prometheus parses them."""
    v = float(v)
    if v != v:
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(float(v))


def render_family(fam: Family, out: list[str]) -> None:
    spec = fam.spec
    name = spec.name
    out.append(f"# HELP {name} {escape_help(spec.help)}\n# TYPE {name} {spec.type}\n")
    if not spec.labels:
        out.extend(f"{name} {format_value(v)}\n" for _, v in fam.samples)
        return
    heads = [f'{k}="' for k in spec.labels]
    for values, v in fam.samples:
        labels = '",'.join(h + escape_label(x) for h, x in zip(heads, values, strict=True))
        out.append(f'{name}{{{labels}"}} {format_value(v)}\n')


def render(snapshot: Snapshot) -> bytes:
    """The whole exposition, UTF-8."""
    out: list[str] = []
    for fam in snapshot.families:
        if fam.samples:
            render_family(fam, out)
    return "".join(out).encode("utf-8")
