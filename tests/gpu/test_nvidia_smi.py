"""nvidia-smi collector: saved outputs into the lake (idempotent), and live mode through a fake runner.

The fake runner stands in for the nvidia-smi binary: it answers the `--query-gpu` list it is given with
the header spellings nvidia-smi prints (`clocks.sm` → `clocks.current.sm [MHz]`), and, as an older
driver does, rejects fields it does not know with 'Field "…" is not a valid field to query.' (exit 2).
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from collectors.base import Batch, Quarantined, RunContext
from collectors.gpu.nvidia_smi import QUERY, QUERY_BASE, NvidiaSmiCollector, RunResult, run_command
from spendscope import ingest
from spendscope.config_telemetry import NvidiaSmiConfig
from spendscope.errors import MissingColumnsError, SourceError
from tests.conftest import FIXTURES

SMI = FIXTURES / "nvidia_smi"
NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
MIB = 1024 * 1024

# How nvidia-smi prints each field of our query in the csv header, and one H100's value for it.
ANSWERS: dict[str, tuple[str, str]] = {
    "index": ("index", "{i}"),
    "uuid": ("uuid", "GPU-6f3a1c2e-8b4d-4e51-a9c0-1d2e3f4a5b0{i}"),
    "name": ("name", "NVIDIA H100 80GB HBM3"),
    "pci.bus_id": ("pci.bus_id", "00000000:1{i}:00.0"),
    "driver_version": ("driver_version", "550.90.07"),
    "utilization.gpu": ("utilization.gpu [%]", "9{i} %"),
    "utilization.memory": ("utilization.memory [%]", "4{i} %"),
    "memory.total": ("memory.total [MiB]", "81559 MiB"),
    "memory.used": ("memory.used [MiB]", "7000{i} MiB"),
    "memory.free": ("memory.free [MiB]", "10000 MiB"),
    "memory.reserved": ("memory.reserved [MiB]", "593 MiB"),
    "power.draw": ("power.draw [W]", "69{i}.25 W"),
    "temperature.gpu": ("temperature.gpu", "6{i}"),
    "temperature.memory": ("temperature.memory", "7{i}"),
    "clocks.sm": ("clocks.current.sm [MHz]", "1980 MHz"),
    "clocks.mem": ("clocks.current.memory [MHz]", "2619 MHz"),
    "clocks_event_reasons.active": ("clocks_event_reasons.active", "0x0000000000000004"),
    "clocks_throttle_reasons.active": ("clocks_throttle_reasons.active", "0x0000000000000004"),
    "ecc.errors.corrected.aggregate.total": ("ecc.errors.corrected.aggregate.total", "1{i}"),
    "ecc.errors.uncorrected.aggregate.total": ("ecc.errors.uncorrected.aggregate.total", "0"),
    "retired_pages.single_bit_ecc.count": ("retired_pages.single_bit_ecc.count", "[N/A]"),
    "retired_pages.double_bit.count": ("retired_pages.double_bit.count", "[N/A]"),
    "remapped_rows.correctable": ("remapped_rows.correctable", "2"),
    "remapped_rows.uncorrectable": ("remapped_rows.uncorrectable", "0"),
    "remapped_rows.failure": ("remapped_rows.failure", "No"),
    "mig.mode.current": ("mig.mode.current", "Disabled"),
}
NEW_FIELDS = {"memory.reserved", "clocks_event_reasons.active", "remapped_rows.correctable",
              "remapped_rows.uncorrectable", "remapped_rows.failure"}  # fmt: skip


class FakeSmi:
    """A stand-in for the nvidia-smi binary with `gpus` H100s; `old_driver` rejects the newer fields."""

    def __init__(self, gpus: int = 8, old_driver: bool = False) -> None:
        self.gpus, self.old_driver = gpus, old_driver
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str], timeout: float) -> RunResult:
        self.calls.append(list(argv))
        assert argv[-1] == "--format=csv" and timeout > 0
        fields = argv[-2].removeprefix("--query-gpu=").split(",")
        for f in fields:
            if f not in ANSWERS or (self.old_driver and f in NEW_FIELDS):
                return RunResult(2, f'Field "{f}" is not a valid field to query.\n\n', "")
        lines = [", ".join(ANSWERS[f][0] for f in fields)]
        lines += [", ".join(ANSWERS[f][1].format(i=i) for f in fields) for i in range(self.gpus)]
        return RunResult(0, "\n".join(lines) + "\n", "")


def lake_rows(ctx: RunContext, where: str = "TRUE") -> list[dict[str, object]]:
    return ctx.warehouse.query(f"SELECT * FROM gpu_samples WHERE {where} ORDER BY ts, gpu_index").to_pylist()


def test_saved_output_lands_in_the_lake_and_reingesting_never_doubles(ctx: RunContext) -> None:
    path = str(SMI / "a3-highgpu-8g-0001.csv")
    collector = NvidiaSmiCollector(NvidiaSmiConfig())
    first = ingest.run(collector, ctx, [path])
    again = ingest.run(collector, ctx, [path])
    assert first.rows == {"gpu_samples": 16} and again.rows == {"gpu_samples": 16}
    rows = lake_rows(ctx)
    assert len(rows) == 16
    r = rows[0]
    assert (r["host"], r["source"], r["target"]) == ("a3-highgpu-8g-0001", "nvidia-smi", path)
    assert r["_source"] == str(Path(path).resolve()) and r["_day"] == dt.date(2026, 11, 20)
    assert r["gpu_model"] == "NVIDIA H100 80GB HBM3" and r["mig_instance"] is None
    assert r["power_watts"] == pytest.approx(698.41) and r["fb_used_bytes"] == 71234 * MIB
    assert r["retired_pages_total"] is None and r["gr_engine_active_ratio"] is None


def test_a_file_that_grew_replaces_its_own_rows_only(ctx: RunContext, tmp_path: Path) -> None:
    grow = tmp_path / "node-a.csv"
    src = (SMI / "a3-highgpu-8g-0001.csv").read_text().splitlines(keepends=True)
    grow.write_text("".join(src[:9]))  # header + first sample
    other = tmp_path / "node-b.csv"
    shutil.copy(SMI / "mig-h100.csv", other)
    collector = NvidiaSmiCollector()
    ingest.run(collector, ctx, [str(grow), str(other)])
    grow.write_text("".join(src))  # `-l` appended a second sample
    ingest.run(collector, ctx, [str(grow)])
    counts = {r["host"]: r["n"] for r in ctx.warehouse.query(
        "SELECT host, COUNT(*) AS n FROM gpu_samples GROUP BY host").to_pylist()}  # fmt: skip
    assert counts == {"node-a": 16, "node-b": 2}


def test_bad_rows_are_quarantined_with_file_and_line(ctx: RunContext) -> None:
    path = str(SMI / "bad-rows.csv")
    summary = ingest.run(NvidiaSmiCollector(), ctx, [path])
    assert summary.rows == {"gpu_samples": 2}
    assert [(q.file, q.line) for q in summary.quarantined] == [(path, 3), (path, 4), (path, 5)]
    stored = ctx.warehouse.query("SELECT table_name, line, reason FROM quarantine ORDER BY line").to_pylist()
    assert [s["line"] for s in stored] == [3, 4, 5] and stored[0]["table_name"] == "gpu_samples"
    assert "not a number in MiB: '70004 KiB'" in stored[2]["reason"]


def test_missing_uuid_stops_from_file_before_anything_is_written(ctx: RunContext) -> None:
    paths = [str(SMI / "a3-highgpu-8g-0001.csv"), str(SMI / "no-uuid.csv")]
    with pytest.raises(MissingColumnsError, match=r"no-uuid\.csv: missing required column"):
        ingest.run(NvidiaSmiCollector(), ctx, paths)
    assert lake_rows(ctx) == []


def test_empty_file_writes_nothing(ctx: RunContext) -> None:
    summary = ingest.run(NvidiaSmiCollector(), ctx, [str(SMI / "empty.csv")])
    assert summary.total_rows == 0 and summary.quarantined == []


def test_host_and_time_zone_come_from_comment_lines(ctx: RunContext) -> None:
    items = list(NvidiaSmiCollector(NvidiaSmiConfig(host="ignored-for-this-file")).collect_files(
        ctx, [str(SMI / "databricks-driver.csv")]))  # fmt: skip
    (batch,) = items
    assert isinstance(batch, Batch)
    assert [k["_day"] for k in batch.keys] == [dt.date(2026, 11, 20), dt.date(2026, 11, 21)]  # PST → UTC
    ingest.run(NvidiaSmiCollector(), ctx, [str(SMI / "databricks-driver.csv")])
    rows = lake_rows(ctx)
    assert {r["host"] for r in rows} == {"0412-093015-abcd1234-10-139-64-12"}
    assert [r["ts"] for r in rows] == [dt.datetime(2026, 11, 20, 11, 59, 59, 900000, tzinfo=dt.UTC),
                                       dt.datetime(2026, 11, 21, 0, 0, 0, 100000, tzinfo=dt.UTC)]  # fmt: skip


def test_config_host_names_files_without_a_host_line(ctx: RunContext) -> None:
    (batch,) = NvidiaSmiCollector(NvidiaSmiConfig(host="gpu-7")).collect_files(ctx, [str(SMI / "mig-h100.csv")])
    assert isinstance(batch, Batch) and not isinstance(batch.data, list)
    assert set(batch.data.column("host").to_pylist()) == {"gpu-7"}  # type: ignore[union-attr]


def test_daemon_paths_set_a_broken_file_aside_and_skip_unchanged_files(ctx: RunContext, tmp_path: Path) -> None:
    for name in ("mig-h100.csv", "no-uuid.csv"):
        shutil.copy(SMI / name, tmp_path / name)
    collector = NvidiaSmiCollector(NvidiaSmiConfig(paths=[str(tmp_path / "*.csv")]))
    first = list(collector.collect(ctx))
    assert [type(i).__name__ for i in first] == ["Batch", "Quarantined"]
    q = first[1]
    assert isinstance(q, Quarantined) and "missing required column(s): uuid" in q.reason
    assert list(collector.collect(ctx)) == []  # nothing changed since
    with (tmp_path / "no-uuid.csv").open("a") as fh:  # the broken file grows: still set aside, not re-reported
        fh.write("2026/11/20 12:00:30.000, 0, NVIDIA H100 80GB HBM3, 13 %\n")
    assert list(collector.collect(ctx)) == []


def test_live_mode_queries_the_fixed_field_list_and_appends(ctx: RunContext) -> None:
    fake = FakeSmi()
    collector = NvidiaSmiCollector(NvidiaSmiConfig(host="a3-node-07"), runner=fake)
    (batch,) = collector.collect(ctx)
    assert fake.calls == [["nvidia-smi", "--query-gpu=" + ",".join(QUERY), "--format=csv"]]
    assert isinstance(batch, Batch) and list(batch.keys) == []
    ingest.run(collector, ctx)
    ingest.run(collector, ctx)
    rows = lake_rows(ctx, "gpu_index = 3")
    assert len(rows) == 2  # appended each cycle
    r = rows[0]
    assert (r["ts"], r["host"], r["target"], r["_source"]) == (NOW, "a3-node-07", "nvidia-smi", "nvidia-smi:a3-node-07")
    assert r["gpu_util_ratio"] == pytest.approx(0.93) and r["power_watts"] == pytest.approx(693.25)
    assert r["sm_clock_hz"] == 1980e6 and r["fb_reserved_bytes"] == 593 * MIB and r["throttle_reasons"] == 4
    assert (r["remapped_rows_correctable_total"], r["row_remap_failure"]) == (2, 0)
    assert (r["ecc_sbe_total"], r["ecc_dbe_total"]) == (13, 0)  # the aggregate (lifetime) counts are queried


def test_live_mode_falls_back_to_the_older_field_list_once(ctx: RunContext) -> None:
    fake = FakeSmi(gpus=2, old_driver=True)
    collector = NvidiaSmiCollector(runner=fake)
    list(collector.collect(ctx))
    (batch2,) = collector.collect(ctx)
    assert [c[1] for c in fake.calls] == ["--query-gpu=" + ",".join(q) for q in (QUERY, QUERY_BASE, QUERY_BASE)]
    assert isinstance(batch2, Batch) and not isinstance(batch2.data, list)
    assert batch2.data.column("throttle_reasons").to_pylist() == [4.0, 4.0]  # type: ignore[union-attr]


def test_live_driver_failure_is_a_source_error_with_its_message(ctx: RunContext) -> None:
    msg = ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
           "Make sure that the latest NVIDIA driver is installed and running.\n")  # fmt: skip

    def broken(argv: Sequence[str], timeout: float) -> RunResult:
        return RunResult(9, msg, "")

    with pytest.raises(SourceError, match=r"nvidia-smi failed \(exit 9\): NVIDIA-SMI has failed because"):
        list(NvidiaSmiCollector(runner=broken).collect(ctx))


def test_command_not_found_is_a_clear_source_error() -> None:
    with pytest.raises(SourceError, match="nvidia-smi not found: '/nonexistent/nvidia-smi' is not installed"):
        run_command(["/nonexistent/nvidia-smi", "--query-gpu=index", "--format=csv"], 5)


def test_cli_collect_nvidia_smi_without_the_tool_exits_nonzero(tmp_path: Path) -> None:
    from spendscope.cli import cli

    cfg = tmp_path / "spendscope.toml"
    cfg.write_text(f'home = "{tmp_path}/home"\n[warehouse]\npath = "{tmp_path}/lake"\n'
                   '[collectors.nvidia_smi]\ncommand = ["/nonexistent/nvidia-smi"]\n')  # fmt: skip
    res = CliRunner().invoke(cli, ["--config", str(cfg), "collect", "nvidia-smi"])
    assert res.exit_code == SourceError.exit_code
    assert "error: nvidia-smi not found" in res.output and "Traceback" not in res.output


def test_cli_from_file_ingests_saved_output(tmp_path: Path) -> None:
    from spendscope.cli import cli

    cfg = tmp_path / "spendscope.toml"
    cfg.write_text(f'home = "{tmp_path}/home"\n[warehouse]\npath = "{tmp_path}/lake"\n')
    path = str(SMI / "bad-rows.csv")
    res = CliRunner().invoke(cli, ["--config", str(cfg), "collect", "nvidia-smi", "--from-file", path])
    assert res.exit_code == 0, res.output
    assert "gpu_samples: 2 row(s)" in res.output and f"{path}:3: expected 7 fields, found 6" in res.output


@pytest.mark.integration
def test_a_hanging_command_times_out_as_a_source_error() -> None:
    with pytest.raises(SourceError, match=r"did not answer within 0\.2s"):
        run_command(["sleep", "5"], 0.2)
