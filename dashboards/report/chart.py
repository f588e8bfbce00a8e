"""The email's inline chart: the last 14 days' billed spend by provider (stacked bars) with the 7-day average.

Drawn with matplotlib's Agg canvas on a Figure object (not pyplot): no display, no browser, no global state,
so the daemon can draw it from any thread.
"""

from __future__ import annotations

import datetime as dt
import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from dashboards.report.model import DailyReport
from dashboards.report.timing import DAY

WIDTH_PX, HEIGHT_PX, DPI = 720, 300, 100
# Colour-blind-safe (Okabe–Ito), in the order providers are drawn.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


def _usd(x: float, _pos: int) -> str:
    return f"${x / 1000:,.0f}K" if abs(x) >= 10_000 else f"${x:,.0f}"


def render_chart(report: DailyReport, days: int = 14) -> bytes:
    """PNG bytes of the chart (WIDTH_PX × HEIGHT_PX)."""
    first = report.day - (days - 1) * DAY
    axis = [first + i * DAY for i in range(days)]
    totals: dict[str, float] = {}
    for p in report.daily:
        totals[p.provider] = totals.get(p.provider, 0.0) + p.cost
    providers = sorted(totals, key=lambda name: (-totals[name], name))  # the largest at the bottom
    spend = {(p.day, p.provider): p.cost for p in report.daily}
    fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    x = list(range(days))
    bottom = [0.0] * days
    for i, provider in enumerate(providers):
        values = [spend.get((d, provider), 0.0) for d in axis]
        ax.bar(x, values, bottom=bottom, color=COLOURS[i % len(COLOURS)], label=provider, width=0.75)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.axhline(report.avg_7d, color="#444444", linestyle="--", linewidth=1.2,
               label=f"7-day average before {report.day}: ${report.avg_7d:,.0f}")  # fmt: skip
    ax.set_xticks(x, [_tick(d, report.day) for d in axis], fontsize=8)
    ax.yaxis.set_major_formatter(FuncFormatter(_usd))
    ax.tick_params(axis="y", labelsize=8)
    ax.set_title(f"Billed spend per day ({report.currency}), {first} to {report.day}", fontsize=10)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(fontsize=8, frameon=False, loc="upper left", ncols=min(3, len(providers) + 1))
    ax.margins(y=0.25)  # room for the legend above the bars
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _tick(d: dt.date, last: dt.date) -> str:
    return d.strftime("%a\n%d") if d != last else d.strftime("%a\n%d ▲")
