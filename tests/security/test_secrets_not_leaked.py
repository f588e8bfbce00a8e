"""A secret planted in every variable the config names never shows up in any output: CLI stdout and stderr, log
records at DEBUG (raw, before the handler's scrubbing), exception messages, or anything the dashboard draws.

Every part that takes a secret is pointed at loopback servers that fail: HTTP stand-ins that answer 401/403/500
and, to be hostile, echo the request's headers and path back in their error body (what a misbehaving proxy or
server may do), an SMTP server (aiosmtpd) that refuses every login, and closed ports. None of them is Databricks,
Datadog or Prometheus; they only make the real clients fail the way those services can. The webhook URL also
carries credentials in its userinfo and query, which errors must not repeat (alerts.routing.base.safe_url).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from click.testing import CliRunner, Result
from streamlit.testing.v1 import AppTest

from app import PAGES
from dashboards import auth
from exporters.warehouse.duckdb import DuckDbLake
from spendscope import logs
from spendscope.cli import cli
from tests.common.servers import QuietHandler, free_port, serving
from tests.dashboards.apptest import APP, reporting_today, sign_in
from tests.seed import seed_costs

pytestmark = pytest.mark.integration

PLANTED = f"s3cr3t-PLANTED-{uuid.uuid4().hex}"
# Every secret variable the config below names (values: PLANTED + the name, so a hit also says which one).
SECRET_VARS = ["LEAK_DATABRICKS_TOKEN", "LEAK_GMP_TOKEN", "LEAK_DD_API_KEY", "LEAK_SMTP_PASSWORD",
               "LEAK_REPORT_PASSWORD", auth.SECRET_ENV]  # fmt: skip
FILE_VAR = "LEAK_WEBHOOK_SECRET"  # given as a mounted file: LEAK_WEBHOOK_SECRET_FILE
URL_PASSWORD, URL_TOKEN = f"{PLANTED}-URL-PASSWORD", f"{PLANTED}-URL-TOKEN"


def hostile(status: int) -> type[QuietHandler]:
    """A handler answering `status` to everything, echoing the request's headers and path in its JSON error."""

    class Hostile(QuietHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            echoed = f"rejected {self.command} {self.path} with headers {dict(self.headers)}"
            self.send_json(status, {"error_code": "UNAUTHENTICATED", "message": echoed, "errors": [echoed],
                                    "status": "error", "errorType": "unauthorized", "error": echoed})  # fmt: skip

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    return Hostile


def refuse_every_login(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    return AuthResult(success=False, handled=False)


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, Any]]:
    smtp_port = free_port()
    smtp = Controller(object(), hostname="127.0.0.1", port=smtp_port, authenticator=refuse_every_login,
                      auth_require_tls=False)  # fmt: skip
    smtp.start()
    try:
        with serving(hostile(401)) as h401, serving(hostile(403)) as h403, serving(hostile(500)) as h500:
            yield {"401": h401, "403": h403, "500": h500, "smtp": smtp_port, "closed": free_port()}
    finally:
        smtp.stop()


def config_text(root: Path, s: dict[str, Any]) -> str:
    hook = s["500"].replace("http://", f"http://hookuser:{URL_PASSWORD}@") + f"/hook?token={URL_TOKEN}"
    return f"""
home = "{root}/home"
[warehouse]
path = "{root}/lake"

[collectors.databricks]
enabled = true
host = "{s["401"]}"
warehouse_id = "8f1e2d3c4b5a6978"
token_env = "LEAK_DATABRICKS_TOKEN"

[collectors.prometheus]
enabled = true
url = "{s["401"]}"
token_env = "LEAK_GMP_TOKEN"

[collectors.inventory]
enabled = true
databricks = true

[alerts]
rule_files = []

[[alerts.rules]]
name = "provider-month"
type = "budget"
period = "month"
group_by = ["provider"]
amount_usd = 50

[alerts.notifiers.hook]
type = "webhook"
url = "{hook}"
secret_env = "{FILE_VAR}"

[alerts.notifiers.dd]
type = "datadog"
api_url = "{s["403"]}"
api_key_env = "LEAK_DD_API_KEY"

[alerts.notifiers.mail]
type = "email"
host = "127.0.0.1"
port = {s["smtp"]}
security = "none"
username_env = "LEAK_SMTP_USER"
password_env = "LEAK_SMTP_PASSWORD"
to = ["ops@example.com"]

[alerts.notifiers.am]
type = "alertmanager"
url = "http://amuser:{URL_PASSWORD}@127.0.0.1:{s["closed"]}"

[[alerts.routes]]
notifiers = ["hook", "dd", "mail", "am"]

[report]
to = ["ops@example.com"]

[report.smtp]
host = "127.0.0.1"
port = {s["closed"]}
security = "none"
username_env = "LEAK_REPORT_USER"
password_env = "LEAK_REPORT_PASSWORD"
"""


@pytest.fixture
def planted(tmp_path: Path, servers: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Path:
    """The config above, every secret variable set to a planted value, and 20 days of costs (alerts fire)."""
    for name in SECRET_VARS:
        monkeypatch.setenv(name, f"{PLANTED}-{name}")
    mounted = tmp_path / "webhook-secret"
    mounted.write_text(f"{PLANTED}-{FILE_VAR}\n")
    monkeypatch.setenv(f"{FILE_VAR}_FILE", str(mounted))
    monkeypatch.setenv("LEAK_SMTP_USER", "spendscope-user")
    monkeypatch.setenv("LEAK_REPORT_USER", "report-user")
    monkeypatch.delenv(auth.READONLY_ENV, raising=False)
    cfg = tmp_path / "spendscope.toml"
    cfg.write_text(config_text(tmp_path, servers))
    monkeypatch.setenv("SPENDSCOPE_CONFIG", str(cfg))
    today = reporting_today()
    rows = [
        {"BilledCost": 100.0, "ProviderName": provider, "ServiceName": "Compute Engine",
         "ChargePeriodStart": dt.datetime.combine(today - dt.timedelta(days=back), dt.time(20), tzinfo=dt.UTC)}
        for back in range(1, 21) for provider in ("Google Cloud", "Databricks")
    ]  # fmt: skip
    seed_costs(DuckDbLake(tmp_path / "lake"), rows)
    return cfg


@pytest.fixture
def raw_logs(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> pytest.LogCaptureFixture:
    """caplog at DEBUG that survives the CLI's own logging setup (which replaces the root handlers)."""
    setup = logs.setup

    def setup_keeping_caplog(*args: Any, **kwargs: Any) -> None:
        setup(*args, **kwargs)
        logging.getLogger().addHandler(caplog.handler)

    monkeypatch.setattr(logs, "setup", setup_keeping_caplog)
    caplog.set_level(logging.DEBUG)
    return caplog


def leaks(text: str) -> list[str]:
    """The planted values (or any part starting with the planted prefix) found in `text`."""
    return [line for line in text.splitlines() if PLANTED in line]


def run(cfg: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(cfg), "--log-level", "DEBUG", *args])


def assert_clean(result: Result, *, failed: bool) -> None:
    text = result.stdout + result.stderr + (repr(result.exception) if result.exception else "")
    assert (result.exit_code != 0) == failed, text
    assert not leaks(text), leaks(text)


def test_cli_output_and_logs_never_show_a_secret(planted: Path, raw_logs: pytest.LogCaptureFixture) -> None:
    checked = run(planted, "config", "check")
    assert_clean(checked, failed=False)
    for name in [*SECRET_VARS[:-1], FILE_VAR]:  # each named, each said to be provided, none shown
        assert any(name in line and ("set" in line or "from file" in line) for line in checked.stdout.splitlines())
    assert_clean(run(planted, "config", "schema"), failed=False)
    assert_clean(run(planted, "status"), failed=False)

    for collector in ("databricks", "prometheus", "inventory"):
        got = run(planted, "collect", collector)
        assert_clean(got, failed=True)
        # The hostile server echoed the Authorization header it got: the error shows it, blanked.
        assert "'Authorization': 'Bearer ***'" in got.stderr.splitlines()[-1], got.stderr

    # A target URL with credentials in it, on a closed port: the connection error names the URL without them.
    closed = CliRunner().invoke(cli, ["--config", str(planted), "collect", "prometheus", "--target",
                                      f"http://promuser:{URL_PASSWORD}@127.0.0.1:{free_port()}"])  # fmt: skip
    assert_clean(closed, failed=True)
    assert "http://***@127.0.0.1:" in closed.stderr, closed.stderr

    evaluated = run(planted, "alerts", "evaluate", "--once")
    assert_clean(evaluated, failed=False)
    failed = {r.getMessage().split()[0] for r in raw_logs.records if "failed notifications" in r.getMessage()}
    assert failed == {"notifier:hook", "notifier:dd", "notifier:mail", "notifier:am"}, failed

    sent = run(planted, "report", "daily", "--send")
    assert_clean(sent, failed=True)
    assert "SMTP" in sent.stderr and "connect" in sent.stderr

    raw = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in raw_logs.records)
    assert raw_logs.records and not leaks(raw), leaks(raw)


def test_errors_carry_no_credentials_or_userinfo(planted: Path, raw_logs: pytest.LogCaptureFixture) -> None:
    """The notifiers' errors, as the router logs them: no Authorization header, no URL userinfo or query."""
    assert_clean(run(planted, "alerts", "evaluate", "--once"), failed=False)
    errors = [r.getMessage() for r in raw_logs.records if "failed notifications" in r.getMessage()]
    assert len(errors) == 4
    for error in errors:
        assert "Authorization" not in error and "Bearer" not in error and "DD-API-KEY" not in error.upper()
        assert "@127.0.0.1" not in error and "token=" not in error, error
    hook = next(e for e in errors if e.startswith("notifier:hook"))
    assert "HTTP 500" in hook and "/hook" not in hook
    mail = next(e for e in errors if e.startswith("notifier:mail"))
    assert "login: 535" in mail  # the password was offered and refused: the error says so, without it


def elements(node: Any) -> Iterator[Any]:
    """Every element of an AppTest tree (main, sidebar and nested blocks)."""
    yield node
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            yield from elements(child)


def test_the_dashboard_shows_no_secret(planted: Path) -> None:
    """Every page, signed in with the (planted) dashboard secret, after a failing evaluation: every element the
    app sends to the browser, serialized, holds no planted value."""
    assert run(planted, "alerts", "evaluate", "--once").exit_code == 0
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    sign_in(at, "kim", f"{PLANTED}-{auth.SECRET_ENV}")
    seen = 0
    for path, _, _ in PAGES:
        at.switch_page(path).run()
        assert not at.exception, (path, at.exception)
        for el in elements(at._tree):
            proto = getattr(el, "proto", None)
            sent = proto.SerializeToString() if proto is not None and hasattr(proto, "SerializeToString") else b""
            assert PLANTED.encode() not in sent, (path, type(el).__name__)
            assert PLANTED not in str(getattr(el, "value", "")), (path, type(el).__name__)
            seen += 1
    assert seen > 100  # the walk reached the pages' elements
    assert any(c.value.startswith("Signed in as kim") for c in at.sidebar.caption)
