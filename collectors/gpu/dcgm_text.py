"""Parse a dcgm-exporter `/metrics` answer (Prometheus text exposition 0.0.4) into gpu_samples rows. Pure.

Takes every variant seen in the wild (formats.md §3.2–3.3): with or without `# HELP`/`# TYPE`, `Hostname` or
`hostname`, exporter 3.x and 4.x label sets, MIG instances, Kubernetes labels, empty and escaped label values,
optional timestamps, CRLF line ends. A sample whose value is not a number, and a line that is not a sample,
are skipped and counted in `ParseStats`, never raised.

Why it is fast (≈40,000 samples per 1,536-GPU cycle, measured in bench/dcgm_scrape.py): per line only
`partition("{")`, a dict lookup of the name (families we do not store stop there), `rpartition("}")` (the
LAST `}`: label values may hold one), a dict lookup of the label block and `float()`. Every GPU repeats
one label block across its ~26 metrics, so each distinct block is parsed once and cached as a direct
reference to its row's value list. No regex runs per sample; unusual lines leave the loop at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from collectors.gpu.fields import FIELDS
from collectors.gpu.rows import GpuRows, Value, combine

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|\Z)', re.DOTALL)
_PLAIN = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="([^"\\]*)"')
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_UNESCAPED = {"n": "\n", "\\": "\\", '"': '"'}


@dataclass
class ParseStats:
    """What one parse took and what it skipped (reported by the collector; a scrape is not quarantined)."""

    samples: int = 0  # metric values stored
    rows: int = 0  # GPU / MIG-instance rows
    non_numeric: int = 0  # samples whose value was not a number (skipped)
    non_finite: int = 0  # NaN / ±Inf values (stored as null: not measured)
    garbage_lines: int = 0  # lines that are neither a sample nor a comment (skipped)
    not_gpu: int = 0  # samples of a known field whose labels name no GPU (NVLink/NVSwitch entities)
    unmapped: set[str] = field(default_factory=set)  # metric families with no gpu_samples column (ignored)

    @property
    def skipped(self) -> int:
        return self.non_numeric + self.garbage_lines

    def add(self, other: ParseStats) -> None:
        """Accumulate another parse's counts (the collector sums its targets)."""
        self.samples += other.samples
        self.rows += other.rows
        self.non_numeric += other.non_numeric
        self.non_finite += other.non_finite
        self.garbage_lines += other.garbage_lines
        self.not_gpu += other.not_gpu
        self.unmapped |= other.unmapped


class _Skip:
    """A cached label block that yields no row; falsy, so the hot loop tests it with one `not`."""

    def __init__(self, garbage: bool) -> None:
        self.garbage = garbage

    def __bool__(self) -> bool:
        return False


_BAD_LABELS, _NOT_GPU = _Skip(garbage=True), _Skip(garbage=False)


def _unescape(value: str) -> str:
    if "\\" not in value:
        return value
    return _ESCAPE.sub(lambda m: _UNESCAPED.get(m[1], m[0]), value)


def parse_labels(block: str) -> dict[str, str] | None:
    """`a="1",b="x\\"y"` → {"a": "1", "b": 'x"y'}; None when the block is malformed."""
    if "\\" not in block:
        # Common case, one C-level findall; accepted only if the pairs rebuild the block exactly.
        pairs = _PLAIN.findall(block)
        plain = ",".join([f'{k}="{v}"' for k, v in pairs])
        if plain == block or plain + "," == block:
            return dict(pairs)
    labels: dict[str, str] = {}
    pos, end = 0, len(block)
    while pos < end:
        m = _LABEL.match(block, pos)
        if m is None:
            return None if block[pos:].strip() else labels
        labels[m[1]] = _unescape(m[2])
        pos = m.end()
        if not m[3]:  # matched at the end of the block
            break
    return labels


def _is_timestamp(text: str) -> bool:
    """Exposition timestamps are integer milliseconds (ignored: rows take the scrape time)."""
    body = text[1:] if text[:1] == "-" else text
    return body.isascii() and body.isdigit()


def parse_scrape(text: str, default_host: str | None = None) -> tuple[GpuRows, ParseStats]:
    """Rows (one per GPU, MIG instance and pod) of one scrape; `default_host` where no host label is present."""
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    rows, stats = GpuRows(), ParseStats()
    cache: dict[str, list[Value] | _Skip] = {}
    indented: list[str] = []
    _fill(text.split("\n"), rows, cache, stats, default_host, indented)
    if indented:
        _fill(indented, rows, cache, stats, default_host, None)
    stats.rows = len(rows)
    return rows, stats


def _fill(
    lines: Iterable[str],
    rows: GpuRows,
    cache: dict[str, list[Value] | _Skip],
    stats: ParseStats,
    default_host: str | None,
    indented: list[str] | None,
) -> None:
    """Store each line's sample into its row. The hot loop: every unusual line leaves it at once."""
    fields = FIELDS
    samples = non_finite = 0
    for line in lines:
        if not line:
            continue
        if line[0] in "# \t":
            if line[0] != "#" and indented is not None:
                indented.append(line.strip())  # leading blanks: taken in a second pass
            continue
        name, brace, rest = line.partition("{")
        if not brace:
            _no_labels(line, stats)
            continue
        spec = fields.get(name)
        block, closed, raw = rest.rpartition("}")  # the LAST `}`: label values may hold one
        if spec is None or not closed:
            _unmapped(name, bool(closed), stats)
            continue
        row = cache.get(block)
        if row is None:
            row = cache[block] = _resolve(block, rows, default_host)
        if not row:
            if row is _BAD_LABELS:
                stats.garbage_lines += 1
            else:
                stats.not_gpu += 1
            continue
        try:
            v = float(raw)  # also strips the blanks around it
        except ValueError:
            got = _value_with_timestamp(raw, stats)
            if got is None:
                continue
            v = got
        col, factor, divide, mode = spec
        v = v / factor if divide else v * factor
        if v - v:  # NaN or ±Inf (x - x is 0.0 only for finite x): not measured
            non_finite += 1
            if mode == 0:
                row[col] = None  # type: ignore[index]
            continue
        if mode == 0:
            row[col] = v  # type: ignore[index]
        else:
            combine(row, col, v, mode)  # type: ignore[arg-type]
        samples += 1
    stats.samples += samples
    stats.non_finite += non_finite


def _value_with_timestamp(raw: str, stats: ParseStats) -> float | None:
    """`VALUE TIMESTAMP` (the timestamp is ignored: rows take the scrape time); None, counted, otherwise."""
    parts = raw.split()
    if len(parts) > 2 or (len(parts) == 2 and not _is_timestamp(parts[1])):
        stats.garbage_lines += 1
        return None
    if len(parts) == 2:
        try:
            return float(parts[0])
        except ValueError:
            pass
    stats.non_numeric += 1  # one token that is not a number, a missing value, or `N/A 1700000000000`
    return None


def _unmapped(name: str, closed: bool, stats: ParseStats) -> None:
    """A labelled line of a family we do not store, or a broken one."""
    if closed and _valid_name(name):
        stats.unmapped.add(name)
    else:
        stats.garbage_lines += 1


def _resolve(block: str, rows: GpuRows, default_host: str | None) -> list[Value] | _Skip:
    labels = parse_labels(block)
    if labels is None:
        return _BAD_LABELS
    row = rows.row_for_labels(labels, default_host)
    return _NOT_GPU if row is None else row


def _valid_name(name: str) -> bool:
    return _NAME.fullmatch(name) is not None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _no_labels(line: str, stats: ParseStats) -> None:
    """`name value [timestamp]` with no labels: names no GPU, so it is never a row."""
    parts = line.split()
    well_formed = len(parts) in (2, 3) and _valid_name(parts[0]) and _is_number(parts[1])
    if not well_formed or (len(parts) == 3 and not _is_timestamp(parts[2])):
        stats.garbage_lines += 1
    elif parts[0] in FIELDS:
        stats.not_gpu += 1
    else:
        stats.unmapped.add(parts[0])
