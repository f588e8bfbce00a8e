"""The plain-text version of the daily cost email (the text/plain alternative, and what the CLI prints)."""

from __future__ import annotations

from collections.abc import Sequence

from dashboards.report.model import DailyReport
from dashboards.report.sections import Table, footer, sections


def aligned(headers: Sequence[str], rows: Sequence[Sequence[str]], right: frozenset[int] = frozenset()) -> list[str]:
    """Columns padded to their widest cell (the `right` ones right-aligned), indented by two spaces."""
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
        return ("  " + "  ".join(parts)).rstrip()

    return [line(headers), "  " + "  ".join("-" * w for w in widths), *(line(r) for r in rows)]


def _table(t: Table) -> list[str]:
    out = [f"  {t.caption}"] if t.caption else []
    out += aligned(t.headers, t.rows, t.right)
    if t.more:
        out.append(f"  {t.more}")
    out += [f"  <{link}> {row[0]}" for row, link in zip(t.rows, t.links, strict=False) if link]
    return out


def render_text(report: DailyReport) -> str:
    """The whole report as plain text."""
    out: list[str] = []
    for i, s in enumerate(sections(report)):
        out += [s.title, ("=" if i == 0 else "-") * len(s.title)]
        out += [f"  {line}" for line in s.lines]
        for t in s.tables:
            out += ["", *_table(t)]
        out += [f"  {line}" for line in s.after]
        out.append("")
    link, generated = footer(report)
    out += [f"Dashboard: {link}", generated, ""]
    return "\n".join(out)
