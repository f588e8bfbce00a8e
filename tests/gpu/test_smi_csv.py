"""The nvidia-smi CSV parser on real-format (synthetic, see fixtures/nvidia_smi/README.md) outputs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.gpu import smi_csv
from collectors.gpu.smi_csv import parse
from tests.conftest import FIXTURES

MIB = 1024 * 1024
SMI = FIXTURES / "nvidia_smi"


def read(name: str) -> str:
    return (SMI / name).read_text()


def test_header_with_units_gives_base_units_for_eight_h100s() -> None:
    res = parse(read("a3-highgpu-8g-0001.csv"))
    assert res.bad == [] and res.missing == [] and len(res.rows) == 16
    r = res.rows[0]
    assert r["ts"] == dt.datetime(2026, 11, 20, 11, 59, 30, 412000, tzinfo=dt.UTC)
    assert (r["gpu_index"], r["gpu_uuid"]) == (0, "GPU-6f3a1c2e-8b4d-4e51-a9c0-1d2e3f4a5b00")
    assert (r["gpu_model"], r["pci_bus_id"], r["driver_version"]) == (
        "NVIDIA H100 80GB HBM3",
        "00000000:18:00.0",
        "550.90.07",
    )
    assert r["gpu_util_ratio"] == pytest.approx(0.97) and r["mem_copy_util_ratio"] == pytest.approx(0.48)
    assert (r["fb_used_bytes"], r["fb_free_bytes"], r["fb_reserved_bytes"]) == (71234 * MIB, 9732 * MIB, 593 * MIB)
    assert r["power_watts"] == pytest.approx(698.41)
    assert (r["gpu_temp_celsius"], r["memory_temp_celsius"]) == (55, 63)
    assert (r["sm_clock_hz"], r["mem_clock_hz"]) == (1980e6, 2619e6)
    assert (r["ecc_sbe_total"], r["ecc_dbe_total"]) == (0, 0)
    assert r["retired_pages_total"] is None  # [N/A] on H100: not measured, not 0
    assert res.rows[2]["throttle_reasons"] == 4 and r["throttle_reasons"] == 0
    idle = res.rows[8]
    assert idle["gpu_util_ratio"] == 0.0 and idle["throttle_reasons"] == 1  # GPU idle
    assert idle["ts"] == dt.datetime(2026, 11, 20, 12, 0, 0, 417000, tzinfo=dt.UTC)


def test_real_h100_driver_580_capture_idle_and_under_load() -> None:
    """Recorded from a real H100 (fixtures/nvidia_smi/README.md): the live collector's field list as R580 prints it."""
    idle_res = parse(read("real-h100-580-idle.csv"), default_ts=dt.datetime(2026, 11, 22, 10, 54, 39, tzinfo=dt.UTC))
    assert idle_res.bad == [] and idle_res.missing == [] and len(idle_res.rows) == 1
    idle = idle_res.rows[0]
    assert (idle["gpu_uuid"], idle["gpu_model"], idle["driver_version"]) == (
        "GPU-ba57c0b7-df68-8001-ae9c-7fd31c9122ec",
        "NVIDIA H100 80GB HBM3",
        "580.159.04",
    )
    assert idle["gpu_util_ratio"] == 0.0 and idle["throttle_reasons"] == 1  # 0x…01: GPU idle
    # used + free + reserved is the card's 81559 MiB: used excludes the driver's reservation.
    assert (idle["fb_used_bytes"], idle["fb_free_bytes"], idle["fb_reserved_bytes"]) == (0, 81079 * MIB, 480 * MIB)
    assert idle["power_watts"] == pytest.approx(70.86) and idle["sm_clock_hz"] == 345e6
    assert idle["retired_pages_total"] is None  # [N/A]: H100 remaps rows instead
    assert (idle["remapped_rows_correctable_total"], idle["row_remap_failure"]) == (0, 0)  # "No" → 0
    load = parse(read("real-h100-580-load.csv"))
    assert load.bad == [] and len(load.rows) == 6
    first = load.rows[0]
    assert first["ts"] == dt.datetime(2026, 11, 22, 10, 55, 9, 603000, tzinfo=dt.UTC)
    assert first["gpu_util_ratio"] == pytest.approx(0.96) and first["mem_copy_util_ratio"] == pytest.approx(0.30)
    assert first["fb_used_bytes"] == 883 * MIB and first["power_watts"] == pytest.approx(694.91)
    assert first["throttle_reasons"] == 4  # 0x…04: software power cap at 700 W
    assert (first["gpu_temp_celsius"], first["memory_temp_celsius"], first["sm_clock_hz"]) == (62, 53, 1470e6)


def test_mig_mode_na_utilization_is_null_not_zero() -> None:
    gpu0, gpu1 = parse(read("mig-h100.csv")).rows
    assert gpu0["gpu_util_ratio"] is None and gpu0["mem_copy_util_ratio"] is None
    assert "mig_instance" not in gpu0  # nvidia-smi --query-gpu rows are whole GPUs: null after the schema
    assert gpu0["fb_used_bytes"] == 24125 * MIB and gpu0["power_watts"] == pytest.approx(287.51)
    assert gpu1["gpu_util_ratio"] == pytest.approx(0.12)


def test_noheader_nounits_output_is_read_with_the_callers_field_list() -> None:
    fields = ["timestamp", "index", "uuid", "name", "utilization.gpu", "memory.total", "memory.used", "power.draw",
              "clocks.sm", "clocks_throttle_reasons.active"]  # fmt: skip
    res = parse(read("noheader-nounits.csv"), fields=fields)
    assert res.bad == [] and len(res.rows) == 2
    a, b = res.rows
    assert a["gpu_util_ratio"] == pytest.approx(0.45) and a["fb_used_bytes"] == 36110 * MIB
    assert a["power_watts"] == pytest.approx(312.64) and a["sm_clock_hz"] == 1980e6
    assert b["gpu_util_ratio"] is None and b["power_watts"] is None and b["throttle_reasons"] == 1


def test_field_list_also_accepts_output_that_has_a_header() -> None:
    text = "index, uuid, power.draw [W]\n0, GPU-1, 100.5 W\n"
    assert parse(text, fields=["index", "uuid", "power.draw"], default_ts=NOW).rows[0]["power_watts"] == 100.5


NOHEADER_FIELDS = ["timestamp", "index", "uuid", "name", "utilization.gpu", "memory.total", "memory.used",
                   "power.draw", "clocks.sm", "clocks_throttle_reasons.active"]  # fmt: skip


def test_a_header_less_file_is_flagged_not_read_as_a_header_missing_index_and_uuid() -> None:
    res = parse(read("noheader-nounits.csv"))
    assert res.headerless and res.rows == [] and res.bad == [] and res.missing == ["index", "uuid"]
    assert not parse(read("a3-highgpu-8g-0001.csv")).headerless


def test_noheader_fields_read_a_header_less_file_and_a_header_wins_where_there_is_one() -> None:
    res = parse(read("noheader-nounits.csv"), noheader_fields=NOHEADER_FIELDS)
    assert not res.headerless and res.bad == [] and [r["gpu_index"] for r in res.rows] == [0, 1]
    with_header = parse(read("mig-h100.csv"), noheader_fields=NOHEADER_FIELDS)
    assert with_header.bad == [] and with_header.rows[0]["pci_bus_id"] == "00000000:1A:00.0"  # its own header


def test_header_lines_are_told_from_data_rows() -> None:
    assert smi_csv.is_header("timestamp, index, uuid, utilization.gpu [%], clocks_event_reasons.active")
    assert smi_csv.is_header("\ufeffindex, memory.used [MiB]")
    assert not smi_csv.is_header("0, GPU-6f3a1c2e-8b4d-4e51-a9c0-1d2e3f4a5b00, 45, Disabled")
    assert not smi_csv.is_header("NVIDIA H100 80GB HBM3, 0")


def test_older_driver_names_and_error_tokens() -> None:
    a, b = parse(read("older-driver.csv")).rows
    assert a["throttle_reasons"] == 0x20 and b["throttle_reasons"] == 1  # clocks_throttle_reasons.active
    assert a["memory_temp_celsius"] is None and b["memory_temp_celsius"] is None  # N/A, [Not Supported]
    assert b["power_watts"] is None  # [Unknown Error]
    assert (a["ecc_sbe_total"], a["ecc_dbe_total"]) == (17, 0)  # aggregate (lifetime) preferred over volatile
    assert (b["ecc_sbe_total"], b["ecc_dbe_total"]) == (4, 1)
    assert a["gpu_util_ratio"] == 1.0 and "fb_reserved_bytes" not in a  # not queried: null, not 0


def test_malformed_rows_are_reported_with_line_and_reason_and_the_rest_kept() -> None:
    res = parse(read("bad-rows.csv"))
    assert [r["gpu_index"] for r in res.rows] == [0, 4]
    assert [(line, reason) for line, reason, _ in res.bad] == [
        (3, "expected 7 fields, found 6"),
        (4, "utilization.gpu: not a number in %: 'lots %'"),
        (5, "memory.used: not a number in MiB: '70004 KiB'"),
    ]
    assert res.bad[0][2].startswith("2026/11/20 12:00:10.004, 1,")


def test_missing_index_or_uuid_is_reported_as_missing() -> None:
    res = parse(read("no-uuid.csv"))
    assert res.missing == ["uuid"] and res.rows == []
    assert parse("uuid, name\nGPU-1, x\n").missing == ["index"]


def test_empty_text_gives_no_rows_and_nothing_missing() -> None:
    for text in ("", "\n\n", "timestamp, index, uuid\n"):
        res = parse(text)
        assert res.rows == [] and res.bad == [] and res.missing == []


def test_timestamp_is_local_time_of_the_host() -> None:
    text = "timestamp, index, uuid\n2026/11/20 04:00:01.123, 0, GPU-1\n2026/07/01 04:00:01, 0, GPU-1\n"
    winter, summer = parse(text, tz=ZoneInfo("America/Los_Angeles")).rows
    assert winter["ts"] == dt.datetime(2026, 11, 20, 12, 0, 1, 123000, tzinfo=dt.UTC)
    assert summer["ts"] == dt.datetime(2026, 7, 1, 11, 0, 1, tzinfo=dt.UTC)


def test_comment_meta_repeated_headers_and_unknown_columns() -> None:
    res = parse(read("databricks-driver.csv"))
    assert res.meta == {"host": "0412-093015-abcd1234-10-139-64-12", "tz": "America/Los_Angeles"}
    assert len(res.rows) == 2 and res.bad == []
    extra = "index, uuid, pstate, fan.speed [%], clocks.max.sm [MHz]\n0, GPU-1, P0, 30 %, 1980 MHz\n"
    (row,) = parse(extra, default_ts=NOW).rows
    assert row["gpu_uuid"] == "GPU-1" and "pstate" not in row and "sm_clock_hz" not in row  # max clock ignored


def test_power_average_or_instant_stand_in_for_power_draw() -> None:
    text = (
        "index, uuid, power.draw.average [W], power.draw.instant [W]\n"
        "0, GPU-1, [N/A], 401.2 W\n1, GPU-2, 390.0 W, 401.2 W\n"
    )
    a, b = parse(text, default_ts=NOW).rows
    assert (a["power_watts"], b["power_watts"]) == (401.2, 390.0)


def test_rows_without_a_timestamp_take_the_default_time() -> None:
    (row,) = parse("index, uuid\n0, GPU-1\n", default_ts=NOW).rows
    assert row["ts"] == NOW
    res = parse("index, uuid\n0, GPU-1\n")
    assert res.rows == [] and res.bad[0][1] == "no timestamp column and no sampling time given"


def test_canonical_names() -> None:
    assert smi_csv.canonical("clocks.sm [MHz]") == "clocks.current.sm"
    assert smi_csv.canonical(" clocks_throttle_reasons.active ") == "clocks_event_reasons.active"
    assert smi_csv.canonical("utilization.gpu [%]") == "utilization.gpu"


NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
_ALPHABET = st.sampled_from([*"0123456789 ,.%[]/:#-xabcNAMiBWHzGPU-\n\r\t\ufeff", "[N/A]", "MiB", "0x", "²"])


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(), st.lists(_ALPHABET).map("".join)))
def test_parser_never_raises_on_arbitrary_text(text: str) -> None:
    res = parse(text, default_ts=NOW)
    assert len(res.rows) + len(res.bad) <= text.count("\n") + 1


@settings(max_examples=200, deadline=None)
@given(
    fields=st.lists(st.sampled_from(["timestamp", "index", "uuid", "power.draw", "utilization.gpu", "x", ""])),
    text=st.lists(_ALPHABET).map("".join),
)
def test_parser_never_raises_with_a_field_list(fields: list[str], text: str) -> None:
    parse(text, fields=fields, tz=ZoneInfo("Asia/Kolkata"))


def test_fixture_dir_is_documented() -> None:
    readme = (Path(SMI) / "README.md").read_text()
    for f in SMI.glob("*.csv"):
        assert f"`{f.name}`" in readme, f.name
