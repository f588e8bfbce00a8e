"""The daily cost email as MIME, and its sending over SMTP (the email notifier's `send_mail`).

Structure (what mail clients expect for an HTML mail with an inline image and a text fallback):

    multipart/alternative
    ├── text/plain                 the plain-text report
    └── multipart/related
        ├── text/html              <img src="cid:…">
        └── image/png              Content-ID <…>, Content-Disposition: inline
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from email.message import EmailMessage, MIMEPart
from email.utils import formatdate, make_msgid

from alerts.routing.email import send_mail, smtp_credentials
from dashboards.report import fmt
from dashboards.report.chart import render_chart
from dashboards.report.html import render_html
from dashboards.report.model import DailyReport
from dashboards.report.text import render_text
from spendscope.config_report import ReportConfig
from spendscope.errors import ConfigError

log = logging.getLogger(__name__)
LABEL = "daily report"


def build_message(report: DailyReport, cfg: ReportConfig, png: bytes | None = None) -> EmailMessage:
    """The report as one message to every recipient of `cfg.to` (the chart drawn unless `png` is given)."""
    png = render_chart(report) if png is None else png
    domain = cfg.sender.rpartition("@")[2] or None
    cid = make_msgid(idstring="chart", domain=domain)  # "<…@domain>"
    msg = EmailMessage()
    msg["Subject"] = fmt.subject(report, cfg.subject_prefix)
    msg["From"] = cfg.sender
    msg["To"] = ", ".join(cfg.to)
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(idstring=f"report-{report.day}", domain=domain)
    msg.set_content(render_text(report))
    msg.add_alternative(render_html(report, f"cid:{cid[1:-1]}"), subtype="html")
    html_part = list(msg.iter_parts())[1]  # the html alternative just added
    assert isinstance(html_part, MIMEPart)
    html_part.add_related(png, maintype="image", subtype="png", cid=cid, filename="daily-spend.png",
                          disposition="inline")  # fmt: skip
    return msg


def send_report(report: DailyReport, cfg: ReportConfig, environ: Mapping[str, str] = os.environ) -> EmailMessage:
    """Mail the report to `cfg.to` through `cfg.smtp`; SourceError (no credential in it) when it does not go."""
    if not cfg.to:
        raise ConfigError('report.to is empty: list the recipients in [report] to = ["…"]')
    credentials = smtp_credentials(cfg.smtp, LABEL, environ)
    msg = build_message(report, cfg)
    refused = send_mail(msg, cfg.smtp, LABEL, credentials)
    log.info("report:sent day:%s recipients:%s refused:%s", report.day, len(cfg.to) - len(refused), len(refused))
    return msg
