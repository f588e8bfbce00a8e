"""The focus collector's wiring: registry, config, and incremental ingest of the configured globs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import collectors
from collectors.base import RunContext
from collectors.focus.collector import FocusCollector
from spendscope.config import Settings
from spendscope.errors import InputError
from spendscope.ingest import run
from tests.focus.helpers import FOCUS


def _settings(settings: Settings, **focus: object) -> Settings:
    data = settings.model_dump()
    data["collectors"]["focus"].update(focus)
    return Settings.model_validate(data)


def test_registered_as_focus_and_enabled_only_with_paths(settings: Settings) -> None:
    assert collectors.load_all().get("focus") is FocusCollector
    assert FocusCollector.name == "focus"
    collector = FocusCollector.from_settings(settings)
    assert collector.enabled(settings) is False
    assert collector.enabled(_settings(settings, paths=["/x/*.csv"])) is False  # not enabled
    assert collector.enabled(_settings(settings, enabled=True, paths=["/x/*.csv"])) is True


def test_collect_ingests_configured_globs_and_skips_unchanged_files(ctx: RunContext, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    shutil.copy(FOCUS / "aws_focus_1_0.csv", drop / "aws.csv")
    shutil.copy(FOCUS / "oci_focus_1_0.csv", drop / "oci.csv")
    ctx.settings = _settings(ctx.settings, enabled=True, paths=[str(drop / "*.csv")])
    collector = FocusCollector.from_settings(ctx.settings)
    assert run(collector, ctx).rows == {"focus_import": 8}
    assert run(collector, ctx).rows == {}  # nothing changed
    st = os.stat(drop / "oci.csv")
    os.utime(drop / "oci.csv", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert run(collector, ctx).rows == {"focus_import": 3}  # only the re-delivered file
    total = ctx.warehouse.query("SELECT COUNT(*) AS n FROM focus_import").to_pylist()[0]["n"]
    assert total == 8


def test_collect_with_no_matching_file_yet_does_nothing(ctx: RunContext, tmp_path: Path) -> None:
    collector = FocusCollector.from_settings(_settings(ctx.settings, paths=[str(tmp_path / "none" / "*.csv")]))
    assert run(collector, ctx).total_rows == 0


def test_from_file_with_a_missing_path_is_an_input_error(ctx: RunContext, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        run(FocusCollector(), ctx, [str(tmp_path / "nope.csv")])


def test_from_file_accepts_a_directory(ctx: RunContext, tmp_path: Path) -> None:
    shutil.copy(FOCUS / "gcp_focus_bigquery.csv", tmp_path / "gcp.csv")
    (tmp_path / "notes.txt").write_text("not an export")
    assert run(FocusCollector(), ctx, [str(tmp_path)]).rows == {"focus_import": 3}


def test_scheduled_run_sets_a_broken_file_aside_and_ingests_the_rest(ctx: RunContext, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    shutil.copy(FOCUS / "aws_focus_1_0.csv", drop / "aws.csv")
    (drop / "garbage.csv").write_text("this,is\nnot,focus\n")
    ctx.settings = _settings(ctx.settings, enabled=True, paths=[str(drop / "*.csv")])
    summary = run(FocusCollector.from_settings(ctx.settings), ctx)
    assert summary.rows == {"focus_import": 5}
    assert [(q.file, q.reason.split(":")[0]) for q in summary.quarantined] == [
        (str(drop / "garbage.csv"), "file skipped")
    ]
    assert "BilledCost" in summary.quarantined[0].reason
