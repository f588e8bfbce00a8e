"""The daemon following nvidia-smi files that an init script's `nvidia-smi … --format=csv -l 30 >> FILE` grows.

Files are written here line by line in nvidia-smi's csv format (header with units, `, `-separated values;
see fixtures/nvidia_smi/README.md), as the `-l` loop appends them. One collector instance plays the daemon.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from collectors.base import Batch, Item, Quarantined, RunContext
from collectors.gpu.nvidia_smi import NvidiaSmiCollector
from exporters.warehouse import gpu_rollup
from spendscope import ingest
from spendscope.config_telemetry import NvidiaSmiConfig
from spendscope.errors import InputError
from tests.conftest import FIXTURES

HEADER = "timestamp, index, uuid, name, utilization.gpu [%], power.draw [W]\n"
TODAY = dt.date(2026, 11, 20)  # the `ctx` clock's day; raw retention keeps 3 days: 11-18 … 11-20


def sample(when: str, gpus: int = 2, util: int = 90) -> str:
    """One `-l` sample: a line per GPU, stamped `YYYY/MM/DD HH:MM:SS.mmm`."""
    return "".join(
        f"{when}, {i}, GPU-6f3a1c2e-8b4d-4e51-a9c0-1d2e3f4a5b0{i}, NVIDIA H100 80GB HBM3, {util} %, 69{i}.25 W\n"
        for i in range(gpus)
    )


def daemon(tmp_path: Path, **cfg: object) -> NvidiaSmiCollector:
    return NvidiaSmiCollector(NvidiaSmiConfig(paths=[str(tmp_path / "*.csv")], **cfg))  # type: ignore[arg-type]


def batches(items: list[Item]) -> list[Batch]:
    return [i for i in items if isinstance(i, Batch)]


def stored(ctx: RunContext) -> list[tuple[dt.datetime, int]]:
    return [(r["ts"], r["gpu_index"]) for r in ctx.warehouse.query(
        "SELECT ts, gpu_index FROM gpu_samples ORDER BY ts, gpu_index").to_pylist()]  # fmt: skip


def append(path: Path, text: str) -> None:
    with path.open("a") as fh:
        fh.write(text)


def test_growth_is_parsed_alone_and_appended_and_a_partial_line_waits(ctx: RunContext, tmp_path: Path) -> None:
    f = tmp_path / "node-a.csv"
    f.write_text(HEADER + sample("2026/11/20 11:59:00.100"))
    c = daemon(tmp_path)
    (first,) = batches(list(c.collect(ctx)))
    assert [dict(k) for k in first.keys] == [{"_source": str(f.resolve()), "_day": TODAY}]  # new: keyed replace
    ctx.warehouse.replace("gpu_samples", first.data, first.keys)
    second = sample("2026/11/20 11:59:30.100")
    append(f, second + second.splitlines(keepends=True)[0][:30])  # the next line is half written
    (grown,) = batches(list(c.collect(ctx)))
    assert list(grown.keys) == []  # appended
    assert grown.data.num_rows == 2  # type: ignore[union-attr]  # only the new complete lines were parsed
    ctx.warehouse.replace("gpu_samples", grown.data, grown.keys)
    append(f, second.splitlines(keepends=True)[0][30:])  # the half line is finished
    (rest,) = batches(list(c.collect(ctx)))
    assert rest.data.num_rows == 1  # type: ignore[union-attr]
    ctx.warehouse.replace("gpu_samples", rest.data, rest.keys)
    assert list(c.collect(ctx)) == []  # nothing new
    assert len(stored(ctx)) == 5


def test_a_repeated_header_in_the_appended_part_is_skipped(ctx: RunContext, tmp_path: Path) -> None:
    f = tmp_path / "node-a.csv"
    f.write_text(HEADER + sample("2026/11/20 11:59:00.100"))
    c = daemon(tmp_path)
    ingest.run(c, ctx)
    append(f, HEADER + sample("2026/11/20 11:59:30.100"))  # a restarted `-l` loop prints its header again
    summary = ingest.run(c, ctx)
    assert summary.rows == {"gpu_samples": 2} and summary.quarantined == []
    assert len(stored(ctx)) == 4


def test_days_deleted_by_raw_retention_are_not_brought_back(ctx: RunContext, tmp_path: Path) -> None:
    f = tmp_path / "node-a.csv"
    f.write_text(HEADER + sample("2026/11/10 08:00:00.000") + sample("2026/11/20 11:59:00.100"))
    c = daemon(tmp_path)
    ingest.run(c, ctx)
    days = ctx.warehouse.query("SELECT DISTINCT _day FROM gpu_samples").column("_day").to_pylist()
    assert days == [TODAY]  # 11-10 is before the cut (today − 3 days + 1): never written
    gpu_rollup.prune_raw(ctx.warehouse, TODAY, ctx.settings.telemetry.raw_retention_days)
    append(f, sample("2026/11/20 11:59:30.100"))  # mtime changes every 30 s
    ingest.run(c, ctx)
    days = ctx.warehouse.query("SELECT DISTINCT _day FROM gpu_samples").column("_day").to_pylist()
    assert days == [TODAY] and len(stored(ctx)) == 4


def test_a_restarted_daemon_reads_each_file_whole_once_without_doubling(ctx: RunContext, tmp_path: Path) -> None:
    f = tmp_path / "node-a.csv"
    f.write_text(HEADER + sample("2026/11/20 11:59:00.100"))
    ingest.run(daemon(tmp_path), ctx)
    append(f, sample("2026/11/20 11:59:30.100"))
    ingest.run(daemon(tmp_path), ctx)  # a new instance: the file is new to it, so its days are replaced
    assert len(stored(ctx)) == 4


@pytest.mark.parametrize("how", ["copytruncate", "rename"])
def test_a_rotated_file_is_read_from_the_start_and_keeps_the_days_earlier_rows(
    ctx: RunContext, tmp_path: Path, how: str
) -> None:
    f = tmp_path / "node-a.csv"
    f.write_text("# host: dbx-worker-7\n# tz: America/Los_Angeles\n" + HEADER + sample("2026/11/20 03:58:00.100")
                 + sample("2026/11/20 03:58:30.100"))  # fmt: skip
    c = daemon(tmp_path)
    ingest.run(c, ctx)
    if how == "rename":  # logrotate's default: the old file moves away (out of the glob), the loop restarts
        f.rename(tmp_path / "node-a.csv.1")
        f.write_text("# host: dbx-worker-7\n# tz: America/Los_Angeles\n" + HEADER + sample("2026/11/20 03:59:00.100"))
    else:  # copytruncate: same inode, emptied; the running `-l` loop goes on with rows only, no header
        f.write_text(sample("2026/11/20 03:59:00.100"))
    summary = ingest.run(c, ctx)
    assert summary.rows == {"gpu_samples": 2} and summary.partitions == {"gpu_samples": 0}  # appended
    assert summary.quarantined == []
    rows = ctx.warehouse.query("SELECT ts, host FROM gpu_samples ORDER BY ts").to_pylist()
    assert len(rows) == 6  # the 11:58 UTC rows of the same day are still there
    assert rows[-1] == {"ts": dt.datetime(2026, 11, 20, 11, 59, 0, 100000, tzinfo=dt.UTC), "host": "dbx-worker-7"}


def test_a_file_rewritten_whole_with_the_same_beginning_is_followed_on(ctx: RunContext, tmp_path: Path) -> None:
    f = tmp_path / "node-a.csv"
    text = HEADER + sample("2026/11/20 11:59:00.100")
    f.write_text(text)
    c = daemon(tmp_path)
    ingest.run(c, ctx)
    copy = tmp_path / ".sync-tmp"
    copy.write_text(text + sample("2026/11/20 11:59:30.100"))
    os.replace(copy, f)  # a sync tool's copy: a new inode holding the old bytes plus the new lines
    summary = ingest.run(c, ctx)
    assert summary.rows == {"gpu_samples": 2} and len(stored(ctx)) == 4


def test_appended_bad_lines_are_quarantined_with_their_line_in_the_file(ctx: RunContext, tmp_path: Path) -> None:
    f = tmp_path / "node-a.csv"
    f.write_text(HEADER + sample("2026/11/20 11:59:00.100"))  # lines 1–3
    c = daemon(tmp_path)
    ingest.run(c, ctx)
    append(f, "2026/11/20 11:59:30.100, 0, GPU-x, NVIDIA H100 80GB HBM3, lots %, 1 W\n")  # line 4
    summary = ingest.run(c, ctx)
    assert [(q.file, q.line) for q in summary.quarantined] == [(str(f), 4)]
    assert "utilization.gpu: not a number in %" in summary.quarantined[0].reason


def test_a_gzip_file_is_read_once_and_again_only_when_it_changes(ctx: RunContext, tmp_path: Path) -> None:
    import gzip

    f = tmp_path / "node-b.csv.gz"
    f.write_bytes(gzip.compress((HEADER + sample("2026/11/20 11:59:00.100")).encode()))
    c = NvidiaSmiCollector(NvidiaSmiConfig(paths=[str(tmp_path / "*.gz")]))
    assert ingest.run(c, ctx).rows == {"gpu_samples": 2}
    assert list(c.collect(ctx)) == []
    assert {r["host"] for r in ctx.warehouse.query("SELECT host FROM gpu_samples").to_pylist()} == {"node-b"}


NOHEADER = FIXTURES / "nvidia_smi" / "noheader-nounits.csv"
FIELDS = ["timestamp", "index", "uuid", "name", "utilization.gpu", "memory.total", "memory.used", "power.draw",
          "clocks.sm", "clocks_throttle_reasons.active"]  # fmt: skip


def test_a_noheader_file_is_read_with_the_configured_fields(ctx: RunContext, tmp_path: Path) -> None:
    c = NvidiaSmiCollector(NvidiaSmiConfig(fields=FIELDS, host="dbx-worker-3"))
    summary = ingest.run(c, ctx, [str(NOHEADER)])
    assert summary.rows == {"gpu_samples": 2} and summary.quarantined == []
    f = tmp_path / "node-c.csv"
    f.write_text(NOHEADER.read_text())
    follow = daemon(tmp_path, fields=FIELDS)
    ingest.run(follow, ctx)
    append(f, "2026/11/20 12:00:31.001, 0, GPU-6f3a1c2e-8b4d-4e51-a9c0-1d2e3f4a5b00, NVIDIA H100 80GB HBM3, "
              "47, 81559, 36110, 313.00, 1980, 0x0000000000000000\n")  # fmt: skip
    assert ingest.run(follow, ctx).rows == {"gpu_samples": 1}


def test_a_noheader_file_without_fields_names_the_setting_to_use(ctx: RunContext, tmp_path: Path) -> None:
    want = "looks like --format=csv,noheader output: set collectors.nvidia_smi.fields to its --query-gpu list"
    with pytest.raises(InputError) as err:
        ingest.run(NvidiaSmiCollector(), ctx, [str(NOHEADER)])
    assert str(err.value) == f"{NOHEADER}: {want}"
    (tmp_path / "node-c.csv").write_text(NOHEADER.read_text())
    (q,) = list(daemon(tmp_path).collect(ctx))
    assert isinstance(q, Quarantined) and want in q.reason and "missing" not in q.reason
