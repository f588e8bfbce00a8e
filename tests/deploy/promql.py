"""A small PromQL lexer for tests: which metric names (and which label matchers) an expression selects.

Skips function and aggregation names (an identifier followed by `(`), keywords and modifiers, the label lists
of `by`/`without`/`on`/`ignoring`/`group_left`/`group_right`, label matchers `{...}` (names and values), range
and subquery brackets `[...]`, durations, numbers, string literals and Grafana variables (`$var`, `${var}`,
`$__rate_interval`). An unknown function name is an error, so a typo is caught too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# PromQL functions and aggregation operators (Prometheus 2.x), so a typo in a function name is caught too.
AGGREGATIONS = frozenset({"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
                          "bottomk", "topk", "quantile"})  # fmt: skip
FUNCTIONS = AGGREGATIONS | frozenset({
    "abs", "absent", "absent_over_time", "avg_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min",
    "count_over_time", "day_of_month", "day_of_week", "day_of_year", "days_in_month", "delta", "deriv", "exp",
    "floor", "histogram_quantile", "holt_winters", "hour", "idelta", "increase", "irate", "label_join",
    "label_replace", "last_over_time", "ln", "log10", "log2", "mad_over_time", "max_over_time", "min_over_time",
    "minute", "month", "predict_linear", "present_over_time", "quantile_over_time", "rate", "resets", "round",
    "scalar", "sgn", "sort", "sort_desc", "sqrt", "stddev_over_time", "stdvar_over_time", "sum_over_time", "time",
    "timestamp", "vector", "year", "start", "end",
})  # fmt: skip
KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "atan2"})
LABEL_LIST_MODIFIERS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
NUMBER_WORDS = frozenset({"inf", "nan"})

TOKEN = re.compile(
    r"""
    (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
  | (?P<var>\$\{[^}]*\}|\$\w+)
  | (?P<duration>(?:\d+(?:ms|[smhdwy]))+(?![\w.]))
  | (?P<number>(?:0x[0-9a-fA-F]+|\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))
  | (?P<ident>[A-Za-z_:][\w:]*)
  | (?P<lbrace>\{) | (?P<rbrace>\}) | (?P<lbrack>\[) | (?P<rbrack>\]) | (?P<lparen>\() | (?P<rparen>\))
  | (?P<op>=~|!~|!=|==|<=|>=|[-+*/%^<>=,@])
  | (?P<space>\s+)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Selector:
    """One metric name and the label names its `{...}` matchers use (Grafana variables allowed as values)."""

    metric: str
    labels: frozenset[str]


def tokens(expr: str) -> list[tuple[str, str]]:
    """(kind, text) pairs, whitespace dropped; ValueError at a character no token matches."""
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(expr):
        m = TOKEN.match(expr, pos)
        if m is None:
            raise ValueError(f"cannot read {expr[pos : pos + 20]!r} in {expr!r}")
        kind = m.lastgroup or ""
        if kind != "space":
            out.append((kind, m.group()))
        pos = m.end()
    return out


def _matcher_labels(toks: list[tuple[str, str]], start: int) -> tuple[frozenset[str], int]:
    """Label names inside the `{...}` opening at `start`; returns them and the index after `}`."""
    names: set[str] = set()
    i = start + 1
    while toks[i][0] != "rbrace":
        kind, text = toks[i]
        if kind == "ident" and i + 1 < len(toks) and toks[i + 1][1] in {"=", "!=", "=~", "!~"}:
            names.add(text)
        i += 1
    return frozenset(names), i + 1


def selectors(expr: str) -> list[Selector]:
    """Every metric selector of `expr`, in order (a bare `{__name__=...}` selector is not resolved)."""
    toks = tokens(expr)
    found: list[Selector] = []
    i = 0
    while i < len(toks):
        kind, text = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else ("", "")
        if kind == "lbrack":  # range or subquery: durations and Grafana interval variables
            while toks[i][0] != "rbrack":
                i += 1
        elif kind == "lbrace":  # matchers without a metric name before them
            _, i = _matcher_labels(toks, i)
            continue
        elif kind == "ident" and text in LABEL_LIST_MODIFIERS and nxt[0] == "lparen":
            while toks[i][0] != "rparen":
                i += 1
        elif kind == "ident" and text in AGGREGATIONS and nxt[1] in {"by", "without"}:
            pass  # `sum by (a) (x)`: the aggregation, its label list is skipped next
        elif kind == "ident" and nxt[0] == "lparen":
            if text not in FUNCTIONS:
                raise ValueError(f"unknown function {text!r} in {expr!r}")
        elif kind == "ident" and text.lower() not in KEYWORDS | NUMBER_WORDS | {"group_left", "group_right"}:
            labels: frozenset[str] = frozenset()
            if nxt[0] == "lbrace":
                labels, end = _matcher_labels(toks, i + 1)
                found.append(Selector(text, labels))
                i = end
                continue
            found.append(Selector(text, labels))
        i += 1
    return found


def metric_names(expr: str) -> set[str]:
    """The metric (and recording-rule) names `expr` selects."""
    return {s.metric for s in selectors(expr)}
