"""Report fixtures: one `spendscope demo --days 14` warehouse per session (read it, never write to it), configs
that point the CLI at it, and the loopback SMTP server of tests/common/smtp.py.

The demo data (synthetic, in the real upstream formats) ends on DEMO_END; reporting days are America/Los_Angeles,
so DAY (the day before DEMO_END) is the last complete reporting day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from exporters.warehouse.duckdb import DuckDbLake
from spendscope.cli import cli
from spendscope.config import Settings, load
from tests.common.smtp import cert, smtp_env, ssl_server, starttls_server

__all__ = ["cert", "smtp_env", "ssl_server", "starttls_server"]

DEMO_END = dt.date(2026, 11, 21)
DAY = dt.date(2026, 11, 20)
# The report's "now": the morning after DAY in Los Angeles, after the demo's last data.
NOW = dt.datetime(2026, 11, 21, 16, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Demo:
    root: Path
    config: Path
    settings: Settings
    lake: DuckDbLake


def write_config(path: Path, root: Path, extra: str = "") -> Path:
    """A spendscope.toml over the warehouse under `root`; `extra` is more TOML (a [report] section)."""
    path.write_text(
        f'home = "{root}/home"\n[warehouse]\npath = "{root}/lake"\n[exporters.prometheus]\nport = 0\n' + extra,
        encoding="utf-8",
    )
    return path


def invoke(config: Path, *args: str) -> tuple[int, str, str]:
    """Run the spendscope CLI in-process: (exit code, stdout, stderr)."""
    res = CliRunner().invoke(cli, ["--config", str(config), *args])
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res.exit_code, res.stdout, res.stderr


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    root = tmp_path_factory.mktemp("report_demo")
    config = write_config(root / "spendscope.toml", root)
    code, out, err = invoke(config, "demo", "--days", "14", "--end", str(DEMO_END))
    assert code == 0, out + err
    settings = load(config)
    return Demo(root, config, settings, DuckDbLake(settings.warehouse.path))
