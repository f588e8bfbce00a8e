"""The HTML version of the daily cost email: table layout with inline CSS only, every value escaped.

Mail clients (Outlook's Word engine, Gmail) drop <style> blocks, flexbox and most modern CSS, so the layout
is nested tables with inline `style` attributes and fixed widths; the chart is an <img> whose `src` is a
`cid:` reference to the inline PNG part (mail) or a data: URI (a standalone file from `--out`).
"""

from __future__ import annotations

import base64
from html import escape

from dashboards.report import fmt
from dashboards.report.model import DailyReport
from dashboards.report.sections import Section, Table, footer, sections

FONT = "font-family:Arial,Helvetica,sans-serif;color:#222222;"
CELL = "padding:4px 8px;border-bottom:1px solid #e5e5e5;font-size:13px;"
HEAD = "padding:4px 8px;border-bottom:2px solid #999999;font-size:12px;color:#555555;text-align:left;"
WIDTH = 760


def data_uri(png: bytes) -> str:
    """The PNG as a data: URI, for an HTML file opened in a browser."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _e(text: str) -> str:
    return escape(text, quote=True)


def _table(t: Table) -> str:
    def align(i: int) -> str:
        return "text-align:right;white-space:nowrap;" if i in t.right else "text-align:left;"

    head = "".join(f'<th style="{HEAD}{align(i)}">{_e(h)}</th>' for i, h in enumerate(t.headers))
    body = []
    for n, row in enumerate(t.rows):
        link = t.links[n] if n < len(t.links) else None
        cells = []
        for i, cell in enumerate(row):
            text = _e(cell)
            if i == 0 and link:
                text = f'<a href="{_e(link)}" style="color:#0b5cad;">{text}</a>'
            cells.append(f'<td style="{CELL}{align(i)}">{text}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    caption = (
        f'<p style="{FONT}font-size:13px;font-weight:bold;margin:12px 0 4px 0;">{_e(t.caption)}</p>'
        if t.caption
        else ""
    )
    more = f'<p style="{FONT}font-size:12px;color:#666666;margin:4px 0;">{_e(t.more)}</p>' if t.more else ""
    return (
        f'{caption}<table role="presentation" cellpadding="0" cellspacing="0" border="0" '
        f'style="border-collapse:collapse;{FONT}"><tr>{head}</tr>{"".join(body)}</table>{more}'
    )


def _section(s: Section, first: bool) -> str:
    size = "20px" if first else "16px"
    parts = [f'<h2 style="{FONT}font-size:{size};margin:22px 0 8px 0;">{_e(s.title)}</h2>']
    parts += [f'<p style="{FONT}font-size:14px;margin:4px 0;">{_e(line)}</p>' for line in s.lines]
    parts += [_table(t) for t in s.tables]
    parts += [f'<p style="{FONT}font-size:12px;color:#666666;margin:4px 0;">{_e(line)}</p>' for line in s.after]
    return "\n".join(parts)


def _chart(img_src: str, report: DailyReport) -> str:
    alt = f"Billed spend per day by provider, the 14 days to {report.day}, with the 7-day average"
    return (
        f'<p style="margin:12px 0;"><img src="{_e(img_src)}" width="720" height="300" alt="{_e(alt)}" '
        'style="display:block;border:0;max-width:100%;height:auto;"></p>'
    )


def render_html(report: DailyReport, img_src: str) -> str:
    """The whole report as an HTML document; `img_src` is `cid:<id>` in mail or a data: URI in a file."""
    parts = sections(report)
    link, generated = footer(report)
    body = [_section(parts[0], True), _chart(img_src, report), *(_section(s, False) for s in parts[1:])]
    body.append(
        f'<p style="{FONT}font-size:14px;margin:24px 0 4px 0;">'
        f'<a href="{_e(link)}" style="color:#0b5cad;">Open the spendscope dashboard</a></p>'
        f'<p style="{FONT}font-size:12px;color:#666666;margin:4px 0;">{_e(generated)}</p>'
    )
    title = fmt.subject(report, "")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title></head>\n"
        f'<body style="margin:0;padding:0;background:#f4f4f4;">\n'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="background:#f4f4f4;">'
        f'<tr><td align="center" style="padding:16px;">\n'
        f'<table role="presentation" width="{WIDTH}" cellpadding="0" cellspacing="0" border="0" '
        f'style="background:#ffffff;max-width:{WIDTH}px;"><tr><td style="padding:16px 24px;{FONT}">\n'
        + "\n".join(body)
        + "\n</td></tr></table>\n</td></tr></table>\n</body></html>\n"
    )
