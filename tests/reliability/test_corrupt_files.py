"""A damaged Parquet file in the lake: the rest stays readable, the file is reported and set aside (kept), and the
next check — or the daemon's lake-check job — repairs what depended on its days.

Real lakes built by the real CLI from a GCP export in the real Parquet shape (bench/gen_gcp.py, synthetic
values); the damage is done to the files on disk as a failing disk or a bad restore would: truncated, garbage
in the middle of a page, or deleted.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner
from deltalake import DeltaTable

from bench.gen_gcp import generate
from exporters.warehouse.duckdb import DuckDbLake
from exporters.warehouse.lake_check import read_log
from exporters.warehouse.lake_repair import forget_watermarks
from exporters.warehouse.schema import TABLES
from spendscope.cli import cli
from spendscope.config import Settings
from spendscope.scheduler import Daemon

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    parquet, _ = generate(tmp_path_factory.mktemp("export"), 6_000, days=6)
    return parquet


def _run(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), "--log-level", "ERROR", *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def _lake(tmp_path: Path, export: Path) -> tuple[Path, DuckDbLake]:
    config = tmp_path / "spendscope.toml"
    config.write_text(f'[warehouse]\npath = "{tmp_path / "lake"}"\n[reporting]\ntimezone = "UTC"\n')
    code, out = _run(config, "collect", "gcp-billing", "--from-file", str(export))
    assert code == 0, out
    return config, DuckDbLake(tmp_path / "lake")


def _total(wh: DuckDbLake, table: str = "focus_costs") -> float:
    column = "BilledCost" if table == "focus_costs" else "billed_cost"
    return round(float(wh.query(f"SELECT SUM({column}) AS s FROM {table}").column("s")[0].as_py()), 4)


def _files(root: Path, table: str) -> list[tuple[str, dt.date, int]]:
    actions = pa.table(DeltaTable(str(root / table)).get_add_actions(flatten=True))
    return sorted(zip(*(actions.column(c).to_pylist() for c in ("path", "partition._day", "num_records")), strict=True))


def _truncate(path: Path) -> None:
    with path.open("r+b") as f:
        f.truncate(path.stat().st_size // 2)


def test_a_truncated_raw_file_is_set_aside_on_read_and_the_check_repairs_its_day(tmp_path: Path, export: Path) -> None:
    config, wh = _lake(tmp_path, export)
    before, rollup_before = _total(wh), _total(wh, "cost_daily")
    rel, day, _ = _files(tmp_path / "lake", "gcp_billing_export")[0]
    lost = round(float(wh.query("SELECT SUM(BilledCost) AS s FROM focus_costs WHERE _day = @d", {"d": day})
                       .column("s")[0].as_py()), 4)  # fmt: skip
    _truncate(tmp_path / "lake" / "gcp_billing_export" / rel)

    # A fresh reader (the dashboard, the CLI) keeps answering: the damaged file is set aside at the first query.
    fresh = DuckDbLake(tmp_path / "lake")
    assert _total(fresh) == pytest.approx(before - lost)
    [record] = read_log(str(tmp_path / "lake"))
    assert (record["table"], record["path"], record["day"], record["repaired"]) == (
        "gcp_billing_export", rel, day.isoformat(), False)  # fmt: skip
    assert "magic" in record["reason"].lower() or "footer" in record["reason"].lower()
    assert Path(record["moved_to"]).is_file()  # kept for salvage, never deleted
    assert not (tmp_path / "lake" / "gcp_billing_export" / rel).exists()
    assert _total(fresh, "cost_daily") == pytest.approx(rollup_before)  # not repaired yet: the rollup lags

    # The check repairs: that day's rollups recomputed from what remains; nothing new is unreadable (exit 0).
    code, out = _run(config, "lake", "check")
    assert code == 0, out
    assert "0 unreadable file(s) set aside, 1 repaired" in out and "gcp_billing_export: rollups recomputed" in out
    assert _total(DuckDbLake(tmp_path / "lake"), "cost_daily") == pytest.approx(before - lost)
    assert read_log(str(tmp_path / "lake"))[0]["repaired"] is True

    # Ingesting the export again restores the day whole; nothing is counted twice.
    assert _run(config, "collect", "gcp-billing", "--from-file", str(export))[0] == 0
    again = DuckDbLake(tmp_path / "lake")
    assert _total(again) == pytest.approx(before) and _total(again, "cost_daily") == pytest.approx(before)


def test_a_damaged_rollup_file_is_found_by_the_check_and_recomputed_from_raw(tmp_path: Path, export: Path) -> None:
    config, wh = _lake(tmp_path, export)
    before = _total(wh, "cost_daily")
    rel, _, _ = _files(tmp_path / "lake", "cost_daily")[1]
    path = tmp_path / "lake" / "cost_daily" / rel
    with path.open("r+b") as f:  # garbage over the first data page: the footer still parses
        f.seek(4)
        f.write(os.urandom(min(4000, path.stat().st_size // 2)))

    code, out = _run(config, "lake", "check", "--deep")
    assert code == 1, out  # found something: a cron job notices
    assert f"cost_daily/{rel}:" in out and "1 unreadable file(s) set aside, 1 repaired" in out
    assert _total(DuckDbLake(tmp_path / "lake"), "cost_daily") == pytest.approx(before)
    code, out = _run(config, "lake", "check", "--deep")
    assert code == 0 and "0 unreadable file(s) set aside, 0 repaired" in out


def test_a_deleted_file_is_removed_from_the_table_and_a_restart_of_the_daemon_repairs(
    tmp_path: Path, export: Path
) -> None:
    _, wh = _lake(tmp_path, export)
    before = _total(wh, "cost_daily")
    rel, _, _ = _files(tmp_path / "lake", "cost_daily")[0]
    (tmp_path / "lake" / "cost_daily" / rel).unlink()  # e.g. a crash between moving a file aside and the commit

    settings = Settings.model_validate({"warehouse": {"path": str(tmp_path / "lake")}, "reporting": {"timezone": "UTC"},
                                        "home": str(tmp_path / "home"), "alerts": {"enabled": False},
                                        "exporters": {"prometheus": {"enabled": False}}})  # fmt: skip
    daemon = Daemon(settings, DuckDbLake(tmp_path / "lake"), collectors=[])
    assert daemon.jobs["lake-check"].run_at_start
    assert daemon.run_job("lake-check") is True
    [record] = read_log(str(tmp_path / "lake"))
    assert (record["reason"], record["moved_to"], record["repaired"]) == ("file missing", "", True)
    assert _total(DuckDbLake(tmp_path / "lake"), "cost_daily") == pytest.approx(before)


def test_a_repaired_export_day_forgets_its_watermarks_so_the_source_is_pulled_again(tmp_path: Path) -> None:
    wh = DuckDbLake(tmp_path / "lake")
    d1, d2 = dt.date(2026, 11, 20), dt.date(2026, 11, 21)
    rows = [{"source": "gcp_billing:proj.ds.gcp_billing_export_v1_X", "partition": d.isoformat(), "rows": 1,
             "_day": d} for d in (d1, d2)] + [
            {"source": "databricks:ws", "partition": d1.isoformat(), "rows": 1, "_day": d1}]  # fmt: skip
    wh.append("ingest_state", pa.Table.from_pylist(rows, schema=TABLES["ingest_state"].schema))
    assert forget_watermarks(wh, "gcp_billing_export", [d1]) == 1
    left = wh.query("SELECT source, `partition` FROM ingest_state ORDER BY source, `partition`").to_pylist()
    assert left == [{"source": "databricks:ws", "partition": "2026-11-20"},
                    {"source": "gcp_billing:proj.ds.gcp_billing_export_v1_X", "partition": "2026-11-21"}]  # fmt: skip


def test_a_file_the_machine_cannot_read_is_not_called_damaged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """EMFILE, EIO, EACCES (fault-injected: pyarrow's open failing with that errno) are the machine's trouble, not
    the file's: raised, never a reason to set a healthy file aside; a missing file is reported as such."""
    import errno

    import pyarrow.parquet as pq

    from exporters.warehouse import lake_check

    path = tmp_path / "part-0.parquet"
    pq.write_table(pa.table({"a": [1]}), path)
    assert lake_check.check_file(str(path), 1) is None

    def too_many_open_files(_: object) -> None:
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(lake_check.pq, "read_metadata", too_many_open_files)
    with pytest.raises(OSError, match="Too many open files"):
        lake_check.check_file(str(path), 1)
    assert lake_check.check_file(str(tmp_path / "gone.parquet"), None) == "file missing"
