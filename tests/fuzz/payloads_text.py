"""Fuzz inputs for line-oriented text: Prometheus expositions, TOML configs and YAML rule files.

Each starts from a real document and edits lines: dropped, doubled, indented or cut; a value or a label
value replaced by one that breaks parsers; a key renamed, a value moved to another key.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.fuzz.payloads import DEEP, IDX, NAMES, at

# -- Prometheus text exposition (dcgm-exporter, node_exporter) ---------------------------------------------

EVIL_NUMBERS = ["NaN", "+Inf", "-Inf", "1e309", "-1e309", "9" * 400, "0x10", "1_000", "", "abc", "1 2 3", "-0",
                "1e-400", "١٢", "1.5 1700000000000", "1 -17", "1 x"]  # fmt: skip
EVIL_LABELS = ["\\", '\\"', "\\n", '"', "\n", "\x00", "é", "}", "{", ",", "=", "", " ", "\u2028", "99999999999", "-1"]
LINE_OPS = st.one_of(
    st.tuples(st.sampled_from(["drop", "dup", "indent", "cut", "crlf", "unclose", "unquote"]), IDX, IDX),
    st.tuples(st.just("value"), IDX, st.sampled_from(EVIL_NUMBERS)),
    st.tuples(st.just("label"), IDX, IDX, st.sampled_from(EVIL_LABELS)),
)


def _line_op(lines: list[str], op: tuple[Any, ...]) -> None:
    if not lines:
        return
    kind, i = op[0], at(lines, op[1])
    line = lines[i]
    if kind == "drop":
        del lines[i]
    elif kind == "dup":
        lines.insert(i, line)
    elif kind == "indent":
        lines[i] = "  " + line
    elif kind == "cut":
        lines[i] = line[: op[2] % (len(line) + 1)]
    elif kind == "crlf":
        lines[i] = line + "\r"
    elif kind == "unclose":
        lines[i] = line.replace("}", "", 1)
    elif kind == "unquote":
        lines[i] = line.replace('"', "", 1)
    elif kind == "value":
        head, _, _ = line.rpartition(" ")
        lines[i] = f"{head} {op[2]}" if head else line
    elif kind == "label":
        quotes = [k for k, ch in enumerate(line) if ch == '"']
        if len(quotes) >= 2:
            k = quotes[op[2] % (len(quotes) - 1)] + 1
            lines[i] = line[:k] + op[3] + line[k:]


@st.composite
def mutated_exposition(draw: st.DrawFn, text: str) -> str:
    """A real scrape with lines dropped, doubled, indented, cut; values and label values broken."""
    lines = text.split("\n")
    for op in draw(st.lists(LINE_OPS, min_size=1, max_size=6)):
        _line_op(lines, op)
    return "\n".join(lines)


# -- config (TOML) and rule files (YAML): line-level edits of a valid document ------------------------------

EVIL_TOML = [
    "inf", "-inf", "nan", "1e309", "9223372036854775808", "-9223372036854775809", "1" + "0" * 5000, '""', '"x"',
    "[]", "[1, 2]", '["a", 1]', "{}", "{a = 1}", "true", "1979-05-27T07:32:00Z", "1979-05-27", "07:32:00", "-1",
    "0", "0.0", "1e-400", '"1h"', '"99999999999999999d"', '"-5m"', '"1e400s"', '"*"', "'literal'", '"\\u0000"',
    '"a\\u2028b"', "[" * DEEP + "]" * DEEP, "{a = " * 200 + "1" + "}" * 200, '"Mars/Olympus"', '"' + "a" * 300 + '"',
    '"../../etc/passwd"', '"UTC\\u0000"', "[[1], [2]]", '"https://"', '"::"', "1_000", "0x7fffffffffffffff",
]  # fmt: skip
EVIL_YAML = [
    "2026-13-45", "2026-02-30 25:00:00", "1" + "0" * 5000, ".inf", "-.inf", ".nan", "~", "null", "[]", "{}",
    "[1, 2]", "{a: 1}", "!!python/object:os.system", "&a [*a]", "*undefined", "'x", '"\\x00"', "0x1F", "1_000",
    "0o17", "1e400", "yes", "on", "!!binary x", "!!timestamp 2026-02-30", "[" * DEEP + "]" * DEEP, "{" * DEEP,
    "99999999999999999999", "-1", "0", "1e20", '"99999999999999999d"', '"1e400s"', '"-5m"', "|\n  multi", ">-",
    "? [a, b]\n  : c", "\t1", "!!set {a, b}", "!!omap [{a: 1}]", "'Mars/Olympus'", "{[1]: 2}", "[{}: 1]",
]  # fmt: skip
KV_OPS = st.one_of(
    st.tuples(st.sampled_from(["drop", "dup", "tab", "cut", "unknown"]), IDX, IDX),
    st.tuples(st.just("rename"), IDX, NAMES),
    st.tuples(st.just("swap"), IDX, IDX),
)


def _kv_line(lines: list[str], sep: str) -> list[int]:
    return [i for i, line in enumerate(lines) if sep in line and not line.lstrip().startswith("#")]


def _kv_op(lines: list[str], sep: str, op: tuple[Any, ...], value: str) -> None:
    kv = _kv_line(lines, sep)
    if not kv:
        return
    kind, i = op[0], kv[op[1] % len(kv)]
    key, _, old = lines[i].partition(sep)
    if kind == "value":
        lines[i] = f"{key}{sep} {value}"
    elif kind == "drop":
        del lines[i]
    elif kind == "dup":
        lines.insert(i, lines[i])
    elif kind == "tab":
        lines[i] = "\t" + lines[i]
    elif kind == "cut":
        lines[i] = lines[i][: op[2] % (len(lines[i]) + 1)]
    elif kind == "unknown":
        lines.insert(i, f"{key[: len(key) - len(key.lstrip())]}x_unknown{sep} 1")
    elif kind == "rename":
        indent = key[: len(key) - len(key.lstrip())]
        lines[i] = f"{indent}{key.strip().upper() if op[2] == 'UPPER' else op[2]}{sep}{old}"
    elif kind == "swap":
        j = kv[op[2] % len(kv)]
        other = lines[j].partition(sep)[2]
        lines[i], lines[j] = f"{key}{sep}{other}", f"{lines[j].partition(sep)[0]}{sep}{old}"


@st.composite
def mutated_kv(draw: st.DrawFn, text: str, sep: str, values: list[str]) -> str:
    """A valid TOML (`sep` "=") or YAML (`sep` ":") document with values broken and keys dropped or renamed."""
    lines = text.split("\n")
    ops = st.one_of(st.tuples(st.just("value"), IDX), KV_OPS)
    for op in draw(st.lists(ops, min_size=1, max_size=4)):
        value = draw(st.one_of(st.sampled_from(values), st.text(max_size=10))) if op[0] == "value" else ""
        _kv_op(lines, sep, op, value)
    return "\n".join(lines)
