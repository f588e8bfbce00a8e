"""Driving the Streamlit app in the page tests: its config, one page opened through Streamlit's AppTest, the demo.

Fixtures live in tests/dashboards/conftest.py (`app_config` points the app at a fresh lake); these are the
helpers the test modules import.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from click.testing import CliRunner
from streamlit.testing.v1 import AppTest

from spendscope.cli import cli
from spendscope.clock import today_in
from spendscope.demo.plan import make_plan

APP = str(Path(__file__).parents[2] / "app.py")
DEMO_END = dt.date(2026, 11, 18)  # a 7-day demo ending here has an idle weekend (a3-train-02 on GCE)
DEMO_WEEK = (DEMO_END - dt.timedelta(days=6), DEMO_END)  # its reporting days


def write_config(root: Path, extra: str = "") -> Path:
    """Write root/spendscope.toml: home and lake under `root`, then `extra` TOML; return its path."""
    cfg = root / "spendscope.toml"
    cfg.write_text(f'home = "{root}/home"\n[warehouse]\npath = "{root}/lake"\n{extra}')
    return cfg


def open_page(page: str, since: dt.date | None = None, until: dt.date | None = None, **filters: list[str]) -> AppTest:
    """Run the app, set the window and `filter-<field>` values given, run dashboards/pages/<page>.py: no exception."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    if since is not None and until is not None:
        at.date_input(key="window").set_value((since, until))
    for field, values in filters.items():
        at.multiselect(key=f"filter-{field}").set_value(values)
    at.switch_page(f"dashboards/pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def sign_in(at: AppTest, who: str, secret: str) -> AppTest:
    """Sign in through the sidebar's shared-secret form (the test sets SPENDSCOPE_DASHBOARD_SECRET); no exception."""
    at.text_input(key="auth-who").input(who)
    at.text_input(key="auth-secret").input(secret)
    at.button(key="auth-submit").click().run()
    assert not at.exception, at.exception
    return at


def demo_week() -> set[str]:
    """`spendscope demo --days 7 --end DEMO_END` into the configured lake; the keys of the plan's idle stretches."""
    idle = {s.key for s in make_plan(DEMO_END, 7, 7).idle}
    assert idle, "the chosen demo window has no idle stretch"
    result = CliRunner().invoke(cli, ["demo", "--days", "7", "--end", DEMO_END.isoformat()])
    assert result.exit_code == 0, result.output
    return idle


def reporting_today(tz: str = "America/Los_Angeles") -> dt.date:
    """The pages' "today": the reporting day under way in the (default) reporting time zone, not the host's date."""
    return today_in(tz)
