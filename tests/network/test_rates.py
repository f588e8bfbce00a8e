"""Counter → rate: first sample, normal interval, reset (reboot), 32-bit wrap, saturation."""

from __future__ import annotations

import datetime as dt

from collectors.network.rates import COUNTERS, RATES, WRAP_32, Reading, compute, saturation

T0 = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(seconds=30)


def counters(**kw: float) -> dict[str, float]:
    base = dict.fromkeys(COUNTERS, 0.0)
    base.update(kw)
    return base


def test_first_sample_has_no_rates_and_no_interval():
    got = compute(None, Reading(T0, counters(rx_bytes_total=10)))
    assert got.interval_seconds is None and got.counter_reset is False
    assert all(got.per_second[r] is None for r in RATES)
    assert got.saturation_ratio is None


def test_rates_are_deltas_over_the_interval_and_saturation_uses_the_busier_side():
    prev = Reading(T0, counters(rx_bytes_total=1_000, tx_bytes_total=500, rx_packets_total=10, rx_drops_total=1))
    cur = Reading(
        T1, counters(rx_bytes_total=3_001_000, tx_bytes_total=6_000_500, rx_packets_total=40, rx_drops_total=4)
    )
    got = compute(prev, cur, speed=1e6)
    assert got.interval_seconds == 30.0 and got.counter_reset is False
    assert got.per_second["rx_bytes_per_second"] == 100_000.0
    assert got.per_second["tx_bytes_per_second"] == 200_000.0
    assert got.per_second["rx_packets_per_second"] == 1.0
    assert got.per_second["rx_drops_per_second"] == 0.1
    assert got.saturation_ratio == 0.2  # tx 200 kB/s of a 1 MB/s link


def test_reboot_reset_sets_counter_reset_and_leaves_rates_null():
    prev = Reading(T0, counters(rx_bytes_total=5e9, tx_bytes_total=4e9, rx_packets_total=5e6, tx_packets_total=4e6))
    cur = Reading(T1, counters(rx_bytes_total=2_000, tx_bytes_total=1_000, rx_packets_total=20, tx_packets_total=10))
    got = compute(prev, cur, speed=1.25e9)
    assert got.counter_reset is True and got.interval_seconds == 30.0
    assert all(got.per_second[r] is None for r in RATES)
    assert got.saturation_ratio is None


def test_reboot_with_counters_in_the_32bit_top_half_is_still_a_reset():
    # rx_bytes was in [2^31, 2^32) but the packets counter went back too: a reboot, not a wrap.
    prev = Reading(T0, counters(rx_bytes_total=3e9, rx_packets_total=2e6))
    cur = Reading(T1, counters(rx_bytes_total=1e6, rx_packets_total=900))
    assert compute(prev, cur).counter_reset is True


def test_32bit_wrap_gives_the_wrapped_delta():
    prev = Reading(T0, counters(rx_bytes_total=WRAP_32 - 1_000, rx_packets_total=1_000))
    cur = Reading(T1, counters(rx_bytes_total=2_000, rx_packets_total=1_030))
    got = compute(prev, cur, speed=1.25e8)
    assert got.counter_reset is False and got.wrapped == ("rx_bytes_total",)
    assert got.per_second["rx_bytes_per_second"] == 100.0  # 3,000 bytes over 30 s
    assert got.per_second["rx_packets_per_second"] == 1.0


def test_wrap_faster_than_the_link_is_a_reset_not_a_bogus_rate():
    prev = Reading(T0, counters(rx_bytes_total=WRAP_32 / 2, rx_packets_total=1_000))
    cur = Reading(T1, counters(rx_bytes_total=1_000, rx_packets_total=1_030))
    # 2^31 bytes in 30 s is 72 MB/s, more than a 100 Mbit/s (12.5 MB/s) link can carry.
    got = compute(prev, cur, speed=12.5e6)
    assert got.counter_reset is True and got.per_second["rx_bytes_per_second"] is None


def test_64bit_decrease_is_a_reset():
    prev = Reading(T0, counters(rx_bytes_total=2.0**40, rx_packets_total=1e9))
    cur = Reading(T1, counters(rx_bytes_total=5.0, rx_packets_total=1e9 + 5))
    assert compute(prev, cur).counter_reset is True


def test_missing_counter_gives_null_rate_for_it_only():
    prev = Reading(T0, {"rx_bytes_total": 0.0, "tx_bytes_total": None})
    cur = Reading(T1, {"rx_bytes_total": 300.0, "tx_bytes_total": 9.0})
    got = compute(prev, cur)
    assert got.per_second["rx_bytes_per_second"] == 10.0
    assert got.per_second["tx_bytes_per_second"] is None
    assert got.per_second["rx_errors_per_second"] is None


def test_clock_not_moving_forward_or_stale_previous_gives_no_rates():
    r = Reading(T0, counters(rx_bytes_total=10))
    assert compute(r, Reading(T0, counters(rx_bytes_total=20))).interval_seconds is None
    assert compute(Reading(T1, counters()), r).interval_seconds is None
    old = Reading(T0 - dt.timedelta(days=2), counters())
    assert compute(old, r).per_second["rx_bytes_per_second"] is None


def test_saturation_unknown_without_speed():
    assert saturation({"rx_bytes_per_second": 5.0}, None) is None
    assert saturation({"rx_bytes_per_second": 5.0}, 0.0) is None
    assert saturation({"rx_bytes_per_second": None, "tx_bytes_per_second": None}, 10.0) is None
    assert saturation({"rx_bytes_per_second": 5.0, "tx_bytes_per_second": None}, 10.0) == 0.5
