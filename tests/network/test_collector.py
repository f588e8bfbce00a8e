"""The `network` collector end to end: node_exporter scrapes and local psutil into `net_samples` with rates.

The node_exporter side is a loopback HTTP stand-in (exporter_stub.py) serving saved real-format scrapes,
not node_exporter itself; the scrape client, parser, rate logic and the Delta lake are the real ones.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import namedtuple
from pathlib import Path

import pytest

from collectors.base import RunContext
from collectors.network.collector import NetworkCollector, configured_speed, target_host, wanted
from exporters.warehouse.duckdb import DuckDbLake
from spendscope import ingest
from spendscope.config import Settings
from spendscope.config_telemetry import NetworkConfig
from spendscope.errors import SourceError
from tests.conftest import FIXTURES
from tests.network.exporter_stub import serve

SCRAPE_1 = (FIXTURES / "node_exporter" / "scrape_1.txt").read_text(encoding="utf-8")
SCRAPE_2 = (FIXTURES / "node_exporter" / "scrape_2.txt").read_text(encoding="utf-8")
T0 = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
snetio = namedtuple(
    "snetio", "bytes_sent bytes_recv packets_sent packets_recv errin errout dropin dropout"
)  # fmt: skip


class StepClock:
    """A clock the test moves by hand."""

    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


def make_ctx(settings: Settings, lake: DuckDbLake, clock: StepClock, **options: object) -> RunContext:
    return RunContext(settings=settings, warehouse=lake, clock=clock, options=dict(options))


def rows(lake: DuckDbLake) -> list[dict]:
    return lake.query("SELECT * FROM net_samples ORDER BY ts, source, interface").to_pylist()


def at(found: list[dict], ts: dt.datetime, interface: str) -> dict:
    return next(r for r in found if r["ts"] == ts and r["interface"] == interface)


def remote(**kw: object) -> NetworkConfig:
    return NetworkConfig(local=False, **kw)  # type: ignore[arg-type]


@pytest.mark.integration
def test_two_scrapes_give_rates_resets_and_saturation(settings, lake):
    clock = StepClock(T0)
    with serve({"/metrics": [SCRAPE_1, SCRAPE_2]}) as stub:
        collector = NetworkCollector(remote(targets=[stub.url("/metrics")]))
        ctx = make_ctx(settings, lake, clock)
        first = ingest.run(collector, ctx)
        clock.at = T0 + dt.timedelta(seconds=30)
        second = ingest.run(collector, ctx)
    assert first.rows == {"net_samples": 4} and second.rows == {"net_samples": 4}  # lo is excluded by default
    assert all(accept.startswith("text/plain;version=0.0.4") for _, accept in stub.seen)
    found = rows(lake)
    assert {r["interface"] for r in found} == {"eth0", "docker0", "veth-ñandú", "💩0"}
    assert {(r["host"], r["source"], r["target"]) for r in found} == {
        ("gpu-node-01", "node_exporter", stub.url("/metrics"))
    }
    assert all(r["_day"] == T0.date() for r in found)

    eth0_first = at(found, T0, "eth0")
    assert eth0_first["rx_bytes_per_second"] is None and eth0_first["interval_seconds"] is None
    assert eth0_first["counter_reset"] is False

    eth0 = at(found, T0 + dt.timedelta(seconds=30), "eth0")
    assert eth0["rx_bytes_total"] == 71_960_035_552.0
    assert eth0["interval_seconds"] == 30.0
    assert eth0["rx_bytes_per_second"] == 125_000_000.0
    assert eth0["tx_bytes_per_second"] == 50_000_000.0
    assert eth0["rx_packets_per_second"] == pytest.approx(83_333.333, rel=1e-6)
    assert eth0["rx_drops_per_second"] == pytest.approx(0.1)
    assert eth0["speed_bytes_per_second"] == 1.25e9
    assert eth0["saturation_ratio"] == pytest.approx(0.1)

    docker0 = at(found, T0 + dt.timedelta(seconds=30), "docker0")
    assert docker0["counter_reset"] is True
    assert docker0["rx_bytes_per_second"] is None and docker0["tx_bytes_per_second"] is None

    poo = at(found, T0 + dt.timedelta(seconds=30), "💩0")
    assert poo["rx_bytes_per_second"] == 1000.0 and poo["tx_packets_per_second"] == 10.0
    assert poo["speed_bytes_per_second"] is None and poo["saturation_ratio"] is None

    veth = at(found, T0 + dt.timedelta(seconds=30), "veth-ñandú")
    assert veth["rx_errors_total"] == 0.0 and veth["rx_errors_per_second"] is None  # was NaN before
    assert veth["tx_bytes_per_second"] == 0.0


@pytest.mark.integration
def test_new_instance_takes_the_previous_reading_from_the_warehouse(settings, lake):
    clock = StepClock(T0)
    with serve({"/metrics": [SCRAPE_1, SCRAPE_2]}) as stub:
        ctx = make_ctx(settings, lake, clock)
        ingest.run(NetworkCollector(remote(targets=[stub.url("/metrics")])), ctx)
        clock.at = T0 + dt.timedelta(seconds=30)
        # A fresh process (a CronJob run): no readings in memory, the lake has the previous row.
        ingest.run(NetworkCollector(remote(targets=[stub.url("/metrics")])), ctx)
    eth0 = at(rows(lake), T0 + dt.timedelta(seconds=30), "eth0")
    assert eth0["interval_seconds"] == 30.0
    assert eth0["rx_bytes_per_second"] == 125_000_000.0
    assert at(rows(lake), T0 + dt.timedelta(seconds=30), "docker0")["counter_reset"] is True


@pytest.mark.integration
def test_cli_targets_override_config_and_partial_failure_is_reported(settings, lake, caplog):
    clock = StepClock(T0)
    with serve({"/good": [SCRAPE_1], "/broken": []}) as stub:
        collector = NetworkCollector(remote(targets=["http://192.0.2.1:9100/metrics"]))  # never contacted
        ctx = make_ctx(settings, lake, clock, targets=[stub.url("/good"), stub.url("/broken")])
        with caplog.at_level(logging.WARNING, logger="collectors.network.collector"):
            summary = ingest.run(collector, ctx)
    assert summary.rows == {"net_samples": 4}
    assert {path for path, _ in stub.seen} == {"/good", "/broken"}
    assert collector.last_errors == {stub.url("/broken"): "HTTP 500"}
    assert "status:down" in caplog.text and "/broken" in caplog.text
    assert "skipped-lines:2" in caplog.text  # the NaN and the garbage line of scrape_1


@pytest.mark.integration
def test_cli_target_samples_only_that_target_not_this_hosts_interfaces(settings, lake):
    def psutil_must_not_run() -> dict:
        raise AssertionError("local interfaces sampled although --target was given")

    with serve({"/good": [SCRAPE_1]}) as stub:
        collector = NetworkCollector(NetworkConfig(local=True), net_io=psutil_must_not_run)
        summary = ingest.run(collector, make_ctx(settings, lake, StepClock(T0), targets=[stub.url("/good")]))
    assert summary.rows == {"net_samples": 4}
    sources = lake.query("SELECT DISTINCT source FROM net_samples").column("source").to_pylist()
    assert sources == ["node_exporter"]


@pytest.mark.integration
def test_all_targets_down_with_local_disabled_is_a_source_error(settings, lake):
    with serve({"/broken": []}) as stub:
        collector = NetworkCollector(remote(targets=[stub.url("/broken")]))
        with pytest.raises(SourceError, match="every source failed"):
            list(collector.collect(make_ctx(settings, lake, StepClock(T0))))


def test_nothing_configured_is_a_source_error(settings, lake):
    with pytest.raises(SourceError, match="nothing to sample"):
        list(NetworkCollector(remote()).collect(make_ctx(settings, lake, StepClock(T0))))


def test_local_interfaces_with_sysfs_and_config_speed_and_globs(settings, lake, tmp_path: Path):
    sysfs = tmp_path / "net"
    (sysfs / "eth0").mkdir(parents=True)
    (sysfs / "eth0" / "speed").write_text("10000\n")  # 10 Gbit/s
    readings = iter(
        [
            {"eth0": snetio(0, 0, 0, 0, 0, 0, 0, 0), "gvnic-ü": snetio(0, 0, 0, 0, 0, 0, 0, 0),
             "lo": snetio(5, 5, 1, 1, 0, 0, 0, 0), "docker0": snetio(0, 0, 0, 0, 0, 0, 0, 0)},
            {"eth0": snetio(600_000_000, 1_200_000_000, 60, 120, 0, 0, 0, 0),
             "gvnic-ü": snetio(0, 2_500_000_000, 0, 10, 0, 0, 0, 0),
             "lo": snetio(10, 10, 2, 2, 0, 0, 0, 0), "docker0": snetio(1, 1, 1, 1, 0, 0, 0, 0)},
        ]
    )  # fmt: skip
    cfg = NetworkConfig(exclude=["lo", "docker*"], link_speed_gbps={"gvnic*": 100.0})
    collector = NetworkCollector(cfg, net_io=lambda: next(readings), sysfs_root=str(sysfs), hostname="a3-node-7")
    clock = StepClock(T0)
    ctx = make_ctx(settings, lake, clock)
    ingest.run(collector, ctx)
    clock.at = T0 + dt.timedelta(seconds=60)
    ingest.run(collector, ctx)
    found = rows(lake)
    assert {r["interface"] for r in found} == {"eth0", "gvnic-ü"}
    assert {(r["host"], r["source"], r["_source"]) for r in found} == {("a3-node-7", "psutil", "psutil:a3-node-7")}
    eth0 = at(found, T0 + dt.timedelta(seconds=60), "eth0")
    assert eth0["rx_bytes_per_second"] == 20_000_000.0 and eth0["tx_bytes_per_second"] == 10_000_000.0
    assert eth0["speed_bytes_per_second"] == 1.25e9  # from sysfs
    assert eth0["saturation_ratio"] == pytest.approx(0.016)
    gvnic = at(found, T0 + dt.timedelta(seconds=60), "gvnic-ü")
    assert gvnic["speed_bytes_per_second"] == 12.5e9  # from config: 100 Gbit/s
    assert gvnic["saturation_ratio"] == pytest.approx(2_500_000_000 / 60 / 12.5e9)


def test_psutil_failure_with_no_targets_is_a_source_error(settings, lake):
    def broken() -> dict:
        raise PermissionError("/proc/net/dev")

    with pytest.raises(SourceError, match="psutil"):
        list(NetworkCollector(net_io=broken).collect(make_ctx(settings, lake, StepClock(T0))))


def test_helpers_globs_speed_and_host():
    assert wanted("eth0", ["*"], ["lo"]) and not wanted("lo", ["*"], ["lo"])
    assert not wanted("veth12", ["eth*", "ens*"], [])
    assert configured_speed({"eth0": 25, "eth*": 10}, "eth0") == 25e9 / 8
    assert configured_speed({"eth0": 25, "eth*": 10}, "eth1") == 10e9 / 8
    assert configured_speed({"eth*": 0}, "eth1") is None
    assert target_host("http://[fd00::1]:9100/metrics") == "fd00::1"
    assert target_host("https://node-3.internal:9100/metrics") == "node-3.internal"


@pytest.mark.integration
def test_host_is_the_url_host_without_node_uname_info(settings, lake):
    body = "\n".join(line for line in SCRAPE_1.splitlines() if not line.startswith("node_uname_info"))
    with serve({"/metrics": [body]}) as stub:
        collector = NetworkCollector(remote(targets=[stub.url("/metrics")]))
        ingest.run(collector, make_ctx(settings, lake, StepClock(T0)))
    assert {r["host"] for r in rows(lake)} == {"127.0.0.1"}
