"""gpu_minutes from seeded gpu_samples: exact means, both busy rules, MIG kept apart, source preference, idempotence."""

from __future__ import annotations

import datetime as dt

from exporters.warehouse.duckdb import DuckDbLake
from exporters.warehouse.gpu_rollup import hours_of, refresh_hours, refresh_recent, tap_hours
from spendscope.config_telemetry import TelemetryConfig
from tests.telemetry.helpers import GIB, H10, append_samples, at, minutes, sample, samples_table

H11 = H10 + dt.timedelta(hours=1)


def _gpu_a_minute_0() -> list[dict[str, object]]:
    """Four dcgm samples of GPU-a in 10:00, with exact means."""
    util, gr = [0.5, 0.25, 0.75, 0.5], [0.0625, 0.0625, 0.0, 0.125]
    used, power, temp, xid = (
        [1.0, 2.0, 3.0, 2.0],
        [300.0, 310.0, 320.0, 330.0],
        [60.0, 62.0, 61.0, 59.0],
        [0, 79, 0, 13],
    )
    return [
        sample(at(0, 15 * i), gpu_util_ratio=util[i], gr_engine_active_ratio=gr[i], sm_active_ratio=gr[i] / 2,
               tensor_active_ratio=0.25, dram_active_ratio=0.5, fb_used_bytes=used[i] * GIB,
               fb_free_bytes=(79.0 - used[i]) * GIB, fb_reserved_bytes=1.0 * GIB, power_watts=power[i],
               gpu_temp_celsius=temp[i], xid_last=float(xid[i]))
        for i in range(4)
    ]  # fmt: skip


def test_minute_means_max_temperature_highest_xid_and_fb_total(lake: DuckDbLake) -> None:
    append_samples(lake, _gpu_a_minute_0())
    assert refresh_hours(lake, [H10]) == 1
    [row] = minutes(lake)
    assert row["minute"] == H10 and row["hour"] == H10 and row["_day"] == H10.date()
    assert (row["host"], row["gpu_uuid"], row["gpu_index"], row["source"], row["samples"]) == (
        "node-a",
        "GPU-a",
        0,
        "dcgm",
        4,
    )
    assert row["gpu_util_ratio"] == 0.5
    assert row["gr_engine_active_ratio"] == 0.0625
    assert row["sm_active_ratio"] == 0.03125
    assert (row["tensor_active_ratio"], row["dram_active_ratio"]) == (0.25, 0.5)
    assert row["fb_used_bytes"] == 2.0 * GIB
    assert row["fb_total_bytes"] == 80.0 * GIB  # used + free + reserved
    assert row["power_watts"] == 315.0
    assert row["gpu_temp_celsius_max"] == 62.0
    assert row["xid_last"] == 79.0  # the highest non-zero XID, not the last one
    assert row["busy"] is True  # graphics-engine 0.0625 ≥ 0.05


def test_busy_uses_graphics_engine_first_then_utilization_and_is_null_when_unmeasured(lake: DuckDbLake) -> None:
    append_samples(lake, [
        # 10:01 dcgm: utilization high but graphics engine 0.03125 < 0.05 → not busy (graphics engine wins)
        sample(at(1, 0), gpu_util_ratio=0.75, gr_engine_active_ratio=0.03125),
        sample(at(1, 30), gpu_util_ratio=0.75, gr_engine_active_ratio=0.03125),
        # GPU-b, nvml: no graphics-engine metric → utilization rule (0.0625 ≥ 0.05 busy; 0.03125 not)
        sample(at(0, 0), host="node-b", uuid="GPU-b", source="nvml", gpu_util_ratio=0.0625, fb_used_bytes=GIB),
        sample(at(1, 0), host="node-b", uuid="GPU-b", source="nvml", gpu_util_ratio=0.03125),
        # 10:02 GPU-b: neither metric measured → busy unknown, xid unknown
        sample(at(2, 0), host="node-b", uuid="GPU-b", source="nvml", power_watts=70.0),
    ])  # fmt: skip
    refresh_hours(lake, [H10])
    got = {(r["gpu_uuid"], r["minute"].minute): r for r in minutes(lake)}
    assert got[("GPU-a", 1)]["busy"] is False
    assert got[("GPU-b", 0)]["busy"] is True
    assert got[("GPU-b", 1)]["busy"] is False
    assert got[("GPU-b", 2)]["busy"] is None
    assert got[("GPU-b", 2)]["xid_last"] is None and got[("GPU-b", 2)]["power_watts"] == 70.0
    assert got[("GPU-b", 0)]["fb_total_bytes"] is None  # free memory unknown: no total
    cfg = TelemetryConfig(busy_utilization=0.01, busy_gr_engine_active=0.5)
    refresh_hours(lake, [H10], cfg)
    got = {(r["gpu_uuid"], r["minute"].minute): r["busy"] for r in minutes(lake)}
    assert got[("GPU-b", 1)] is True and got[("GPU-a", 1)] is False  # thresholds come from settings.telemetry


def test_mig_instances_are_kept_apart_from_each_other_and_the_whole_gpu(lake: DuckDbLake) -> None:
    append_samples(lake, [
        sample(at(0, 0), uuid="GPU-m", mig_instance="1", mig_profile="1g.10gb", gr_engine_active_ratio=0.5),
        sample(at(0, 30), uuid="GPU-m", mig_instance="1", mig_profile="1g.10gb", gr_engine_active_ratio=0.25),
        sample(at(0, 0), uuid="GPU-m", mig_instance="2", mig_profile="3g.40gb", gr_engine_active_ratio=0.0),
        sample(at(0, 0), uuid="GPU-m", power_watts=400.0),  # device-level row of the MIG-enabled GPU
    ])  # fmt: skip
    refresh_hours(lake, [H10])
    got = {r["mig_instance"]: r for r in minutes(lake)}
    assert set(got) == {None, "1", "2"}
    assert (got["1"]["samples"], got["1"]["gr_engine_active_ratio"], got["1"]["busy"]) == (2, 0.375, True)
    assert (got["2"]["mig_profile"], got["2"]["busy"]) == ("3g.40gb", False)
    assert (got[None]["power_watts"], got[None]["busy"]) == (400.0, None)


def test_a_gpu_reported_by_dcgm_and_nvml_counts_once_from_the_preferred_source(lake: DuckDbLake) -> None:
    append_samples(lake, [
        *_gpu_a_minute_0(),
        # the same GPU through NVML, under the VM's FQDN: same UUID, so the same GPU
        sample(at(0, 10), host="node-a.c.acme.internal", source="nvml", gpu_util_ratio=0.0),
        sample(at(0, 40), host="node-a.c.acme.internal", source="nvml", gpu_util_ratio=0.0),
        # 10:05: only nvml and nvidia-smi report it → nvml wins
        sample(at(5, 0), host="node-a.c.acme.internal", source="nvml", gpu_util_ratio=0.25),
        sample(at(5, 0), host="node-a", source="nvidia-smi", gpu_util_ratio=1.0),
    ])  # fmt: skip
    refresh_hours(lake, [H10])
    rows = minutes(lake)
    assert [(r["minute"].minute, r["source"], r["samples"]) for r in rows] == [(0, "dcgm", 4), (5, "nvml", 1)]
    assert rows[0]["gpu_util_ratio"] == 0.5  # nvml's zeros were not mixed in
    assert rows[1]["gpu_util_ratio"] == 0.25


def test_refreshing_an_hour_again_gives_the_same_rows_and_late_samples_replace_not_add(lake: DuckDbLake) -> None:
    append_samples(lake, [*_gpu_a_minute_0(), sample(at(59, 59), gpu_util_ratio=0.25), sample(H11, gpu_util_ratio=1.0)])
    refresh_hours(lake, [H10])
    first = minutes(lake)
    assert [r["minute"] for r in first] == [H10, at(59)]  # 11:00 belongs to the next hour, not refreshed
    refresh_hours(lake, [H10])
    assert minutes(lake) == first
    refresh_hours(lake, [H11])
    assert [r["minute"] for r in minutes(lake)] == [H10, at(59), H11]  # other hours' rows are kept
    append_samples(lake, [sample(at(59, 1), gpu_util_ratio=0.75)])  # a late sample of 10:59
    refresh_hours(lake, [H10])
    got = minutes(lake, "minute = TIMESTAMP '2026-11-20 10:59:00+00'")
    assert len(got) == 1 and (got[0]["samples"], got[0]["gpu_util_ratio"]) == (2, 0.5)
    assert len(minutes(lake)) == 3


def test_hours_and_their_earliest_samples_are_taken_from_tables_and_from_streamed_batches() -> None:
    table = samples_table([sample(at(7)), sample(at(5)), sample(H11 + dt.timedelta(minutes=3))])
    assert hours_of(table) == {H10, H11}
    batches = table.to_batches(max_chunksize=1)
    seen: dict[dt.datetime, dt.datetime] = {}
    assert tap_hours(table, seen) is table and seen == {H10: at(5), H11: H11 + dt.timedelta(minutes=3)}
    streamed: dict[dt.datetime, dt.datetime] = {H10: at(6)}  # an earlier batch's mark stays the earliest
    out = list(tap_hours(iter(batches), streamed))
    assert sum(b.num_rows for b in out) == 3 and streamed == {H10: at(5), H11: H11 + dt.timedelta(minutes=3)}


def test_refreshing_from_the_earliest_new_sample_equals_a_whole_hour_refresh(lake: DuckDbLake) -> None:
    """The daemon's incremental refresh (minutes from the earliest new sample on) gives the whole-hour rows."""
    append_samples(lake, [sample(at(m), gpu_util_ratio=0.1 * (m % 7)) for m in range(0, 20)])
    refresh_hours(lake, [H10])
    new = [sample(at(19, 30), gpu_util_ratio=0.9), sample(at(20), gpu_util_ratio=0.3),
           sample(at(21), gpu_util_ratio=0.0)]  # fmt: skip
    append_samples(lake, new)  # a second sample of 10:19 (a minute rolled up before) and two new minutes
    refresh_hours(lake, [H10], since={H10: at(19, 30)})
    incremental = minutes(lake)
    refresh_hours(lake, [H10])
    assert incremental == minutes(lake)
    assert len(incremental) == 22
    late = next(r for r in incremental if r["minute"] == at(19))
    assert late["samples"] == 2  # 10:19 was recomputed from both of its samples


def test_refresh_recent_rolls_up_every_hour_since_the_watermark(lake: DuckDbLake) -> None:
    append_samples(lake, [sample(at(5), gpu_util_ratio=0.5), sample(H11 + dt.timedelta(minutes=1), gpu_util_ratio=0.5)])
    now = H11 + dt.timedelta(minutes=2)
    assert refresh_recent(lake, now) == 2  # no rollup yet: the whole raw window
    append_samples(lake, [sample(H11 + dt.timedelta(minutes=2), gpu_util_ratio=0.0)])
    later = now + dt.timedelta(minutes=1)
    assert refresh_recent(lake, later, "UTC", lookback_hours=1) == 2  # only hour 11 (the watermark): 11:01, 11:02
    assert refresh_recent(lake, later, "UTC") == 3  # the default looks back two hours
    assert [r["minute"] for r in minutes(lake)] == [at(5), H11 + dt.timedelta(minutes=1), H11 + dt.timedelta(minutes=2)]
