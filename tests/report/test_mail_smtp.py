"""`spendscope report daily --send` into a real SMTP server (aiosmtpd on loopback, tests/common/smtp.py).

Checked on the received message: the MIME tree (multipart/alternative: text/plain, then multipart/related of
the HTML and an inline image/png whose Content-ID the HTML references), the figures in both parts, the PNG
(signature, decodes, its size), every recipient, and STARTTLS + AUTH or implicit TLS. Failures exit non-zero
with a message naming the step, never the password.
"""

from __future__ import annotations

import io
import re
from email.message import EmailMessage
from pathlib import Path

import pytest
from PIL import Image

from dashboards.report.chart import HEIGHT_PX, WIDTH_PX
from dashboards.report.data import build_report
from dashboards.report.model import DailyReport
from tests.common.smtp import PASSWORD, USER, Inbox
from tests.report.conftest import DAY, NOW, Demo, invoke, write_config

pytestmark = pytest.mark.integration
TO = ["ops@example.com", "ml-leads@example.com", "finance@example.com"]
PNG = b"\x89PNG\r\n\x1a\n"


def mail_config(tmp_path: Path, demo: Demo, port: int, security: str, ca_file: Path | None) -> Path:
    ca = f'ca_file = "{ca_file}"\n' if ca_file else ""
    extra = (
        '[report]\nsender = "cost@acme.example"\nsubject_prefix = "[acme cost]"\n'
        f"to = [{', '.join(repr(t).replace(chr(39), chr(34)) for t in TO)}]\n"
        f'[report.smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "{security}"\n'
        f'username_env = "SMTP_USER"\npassword_env = "SMTP_PASSWORD"\ntimeout_seconds = 10\n{ca}'
    )
    return write_config(tmp_path / "spendscope.toml", demo.root, extra)


@pytest.fixture(scope="module")
def report(demo: Demo) -> DailyReport:
    return build_report(demo.lake, demo.settings, DAY, now=NOW)


def error_of(stderr: str) -> str:
    """The CLI's error line (the in-process server's own log lines share stderr)."""
    return "\n".join(line for line in stderr.splitlines() if line.startswith("error:"))


def money(x: float) -> str:
    return f"-${-x:,.2f}" if x < 0 else f"${x:,.2f}"


def check_message(msg: EmailMessage, report: DailyReport) -> None:
    assert msg["From"] == "cost@acme.example"
    assert msg["To"] == ", ".join(TO)
    # A subject longer than a line is folded right after "Subject:"; Python's parser keeps the fold's space.
    assert msg["Subject"].lstrip().startswith(f"[acme cost] Cloud spend {DAY}: {money(report.total)} (")
    assert msg.get_content_type() == "multipart/alternative"
    plain, related = list(msg.iter_parts())
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html_part, image = list(related.iter_parts())
    assert html_part.get_content_type() == "text/html"
    assert image.get_content_type() == "image/png"
    assert image.get_content_disposition() == "inline"
    cid = image["Content-ID"]
    assert cid.startswith("<") and cid.endswith(">")
    html = html_part.get_content()
    assert re.findall(r'<img src="cid:([^"]+)"', html) == [cid[1:-1]]
    png = image.get_content()
    assert png.startswith(PNG) and 5_000 < len(png) < 500_000
    with Image.open(io.BytesIO(png)) as img:
        assert img.format == "PNG" and img.size == (WIDTH_PX, HEIGHT_PX)
    text = plain.get_content()
    for x in (report.total, report.previous, report.avg_7d, report.mtd, *(m.cost for m in report.by_provider)):
        assert money(x) in text and money(x) in html
    assert report.dashboard_url in text and f'href="{report.dashboard_url}"' in html


def test_starttls_with_auth_delivers_to_every_recipient(
    demo: Demo, report: DailyReport, tmp_path: Path, cert: tuple[Path, Path], starttls_server: tuple[Inbox, int],
    smtp_env: None,
) -> None:  # fmt: skip
    inbox, port = starttls_server
    code, out, err = invoke(mail_config(tmp_path, demo, port, "starttls", cert[0]), "report", "daily", "--date",
                            str(DAY), "--send")  # fmt: skip
    assert code == 0, err
    assert out == f"sent the report on {DAY} to 3 recipient(s): {', '.join(TO)}\n"
    [r] = inbox.received
    assert r.rcpt_tos == TO and r.mail_from == "cost@acme.example"
    assert r.login == USER and r.tls_version is not None and r.tls_version.startswith("TLSv1.")
    check_message(r.message, report)


def test_ssl_with_auth_delivers(
    demo: Demo, report: DailyReport, tmp_path: Path, cert: tuple[Path, Path], ssl_server: tuple[Inbox, int],
    smtp_env: None,
) -> None:  # fmt: skip
    inbox, port = ssl_server
    code, _, err = invoke(mail_config(tmp_path, demo, port, "ssl", cert[0]), "report", "daily", "--date", str(DAY),
                          "--send")  # fmt: skip
    assert code == 0, err
    [r] = inbox.received
    assert r.rcpt_tos == TO and r.login == USER and r.tls_version is not None
    check_message(r.message, report)


def test_a_wrong_password_fails_clearly_without_showing_it(
    demo: Demo, tmp_path: Path, cert: tuple[Path, Path], starttls_server: tuple[Inbox, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    inbox, port = starttls_server
    monkeypatch.setenv("SMTP_USER", USER)
    monkeypatch.setenv("SMTP_PASSWORD", "not-the-" + PASSWORD)
    code, _, err = invoke(mail_config(tmp_path, demo, port, "starttls", cert[0]), "report", "daily", "--date",
                          str(DAY), "--send")  # fmt: skip
    assert code == 4
    assert error_of(err).startswith(f"error: daily report: SMTP 127.0.0.1:{port} login: 535")
    assert PASSWORD not in err and inbox.received == []


def test_an_unreachable_server_and_a_missing_variable_are_named(
    demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, starttls_server: tuple[Inbox, int]
) -> None:
    _, port = starttls_server
    monkeypatch.setenv("SMTP_USER", USER)
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    config = mail_config(tmp_path, demo, port, "starttls", None)
    code, _, err = invoke(config, "report", "daily", "--date", str(DAY), "--send")
    assert code == 4
    assert (
        error_of(err) == "error: daily report: the variable SMTP_PASSWORD (password_env) is not set in the environment"
    )
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    closed = mail_config(tmp_path, demo, 9, "starttls", None)  # port 9 (discard): nothing listens on loopback
    code, _, err = invoke(closed, "report", "daily", "--date", str(DAY), "--send")
    assert code == 4
    assert error_of(err).startswith("error: daily report: SMTP 127.0.0.1:9 connect: ConnectionRefusedError")
