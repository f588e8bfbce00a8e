"""The shared file rules as users meet them, through `ingest.run` and the `spendscope` CLI, per collector.

Fixture payloads are the collectors' own real-format fixtures (tests/fixtures/*); the garbage,
gzip and huge-cell variants are synthetic, made here from them.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from collectors.base import RunContext
from collectors.databricks.collector import DatabricksCollector
from collectors.focus.collector import FocusCollector
from collectors.gcp_billing.collector import GcpBillingCollector
from spendscope import ingest
from spendscope.errors import InputError
from tests.conftest import FIXTURES

DBX_USAGE = FIXTURES / "databricks" / "usage.csv"
GCP_CSV = FIXTURES / "gcp_billing" / "export_console.csv"


def _cli(tmp_path: Path, name: str, *paths: Path) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "spendscope.toml"
    cfg.write_text(f'home = "{tmp_path}/home"\n[warehouse]\npath = "{tmp_path}/lake"\n')
    exe = Path(sys.executable).with_name("spendscope")
    return subprocess.run(
        [str(exe), "--config", str(cfg), "collect", name, "--from-file", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "SPENDSCOPE_LOG_LEVEL": "WARNING"},
    )


@pytest.mark.parametrize(
    ("name", "payload", "message"),
    [
        ("usage.csv", os.urandom(4096).replace(b"\n", b"\xff"), "usage.csv: not UTF-8 text"),
        ("usage.csv.gz", b"\x1f\x8b" + os.urandom(512), "usage.csv.gz: not a valid gzip file"),
        ("usage.parquet", os.urandom(512), "usage.parquet: not a readable Parquet file"),
    ],
)
def test_databricks_cli_reports_unreadable_files_without_a_traceback(
    tmp_path: Path, name: str, payload: bytes, message: str
) -> None:
    (tmp_path / name).write_bytes(payload)
    res = _cli(tmp_path, "databricks", tmp_path / name)
    assert res.returncode == 3, res.stderr
    assert f"error: {tmp_path / name}" in res.stderr and message in res.stderr
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr


def _with_big_cell(src: Path, column: str, value: str) -> str:
    """`src` CSV with `column` of its first data row replaced by `value`."""
    rows = list(csv.reader(io.StringIO(src.read_text(), newline="")))
    rows[1][rows[0].index(column)] = value
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def test_databricks_cli_ingests_a_gzip_csv_with_a_cell_beyond_the_csv_field_limit(tmp_path: Path) -> None:
    # custom_tags as JSON far above the csv module's default 131072-character field limit
    text = _with_big_cell(DBX_USAGE, "custom_tags", '{"note": "' + "x" * 200_000 + '"}')
    (tmp_path / "big").mkdir()
    (tmp_path / "big" / "usage.csv.gz").write_bytes(gzip.compress(text.encode()))
    (tmp_path / "plain").mkdir()
    res = _cli(tmp_path / "big", "databricks", tmp_path / "big" / "usage.csv.gz")
    plain = _cli(tmp_path / "plain", "databricks", DBX_USAGE)
    assert res.returncode == 0 and plain.returncode == 0, res.stderr + plain.stderr
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr
    assert res.stdout.splitlines()[0] == plain.stdout.splitlines()[0]  # "databricks: N row(s) ingested"
    assert "quarantined" not in res.stdout


def test_databricks_ingests_a_directory_skipping_hidden_and_unknown_files(ctx: RunContext, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    shutil.copy(DBX_USAGE, drop / "usage.csv")
    (drop / "README.txt").write_text("not an export")
    (drop / ".usage.csv.swp").write_bytes(os.urandom(64))
    whole = ingest.run(DatabricksCollector.from_settings(ctx.settings), ctx, [str(drop)])
    assert (
        whole.rows["databricks_usage"]
        == ingest.run(DatabricksCollector.from_settings(ctx.settings), ctx, [str(DBX_USAGE)]).rows["databricks_usage"]
    )
    assert whole.rows["databricks_usage"] > 0 and not whole.quarantined


def test_gcp_the_same_file_under_two_spellings_is_ingested_once(
    ctx: RunContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(GCP_CSV, tmp_path / "export.csv")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    collector = GcpBillingCollector.from_settings(ctx.settings)
    once = ingest.run(collector, ctx, ["export.csv"]).total_rows
    twice = ingest.run(collector, ctx, ["export.csv", "./export.csv", "sub/../export.csv"]).total_rows
    assert once > 0 and twice == once
    n = ctx.warehouse.query("SELECT COUNT(*) AS n FROM gcp_billing_export").to_pylist()[0]["n"]
    assert n == once


def test_gcp_csv_with_a_cell_beyond_the_csv_field_limit_ingests(ctx: RunContext, tmp_path: Path) -> None:
    (tmp_path / "export.csv").write_text(_with_big_cell(GCP_CSV, "sku.description", "H100 " + "x" * 200_000))
    collector = GcpBillingCollector.from_settings(ctx.settings)
    summary = ingest.run(collector, ctx, [str(tmp_path / "export.csv")])
    plain = ingest.run(collector, ctx, [str(GCP_CSV)])
    assert summary.total_rows == plain.total_rows > 0 and not summary.quarantined


@pytest.mark.parametrize("collector_type", [GcpBillingCollector, DatabricksCollector, FocusCollector])
def test_every_collector_ingests_a_zero_byte_parquet_as_empty_and_rejects_random_bytes(
    ctx: RunContext, tmp_path: Path, collector_type: type[GcpBillingCollector | DatabricksCollector | FocusCollector]
) -> None:
    collector = collector_type.from_settings(ctx.settings)
    (tmp_path / "empty.parquet").write_bytes(b"")
    assert ingest.run(collector, ctx, [str(tmp_path / "empty.parquet")]).total_rows == 0
    (tmp_path / "random.parquet").write_bytes(os.urandom(512))
    with pytest.raises(InputError, match=r"random\.parquet: not a readable Parquet file"):
        ingest.run(collector, ctx, [str(tmp_path / "random.parquet")])
