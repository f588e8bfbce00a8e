"""Local interfaces: an injected psutil function and a fake /sys/class/net tree (tmp_path)."""

from __future__ import annotations

from collections import namedtuple
from pathlib import Path

from collectors.network.local import clean_name, read_local, sysfs_speed_bytes

# The same fields, in the same order, as psutil's own snetio namedtuple.
snetio = namedtuple(
    "snetio", "bytes_sent bytes_recv packets_sent packets_recv errin errout dropin dropout"
)  # fmt: skip


def fake_sysfs(root: Path, speeds: dict[str, str]) -> Path:
    for name, text in speeds.items():
        (root / name).mkdir(parents=True)
        (root / name / "speed").write_text(text + "\n")
    return root


def test_counters_map_to_net_samples_columns_and_sysfs_speed_to_bytes(tmp_path):
    sysfs = fake_sysfs(tmp_path / "net", {"eth0": "25000", "ens8-ü": "100000"})
    stats = {
        "eth0": snetio(200, 100, 20, 10, 1, 2, 3, 4),
        "ens8-ü": snetio(0, 0, 0, 0, 0, 0, 0, 0),
    }
    got = {i.name: i for i in read_local(lambda: stats, sysfs)}
    assert got["eth0"].counters == {
        "rx_bytes_total": 100.0,
        "tx_bytes_total": 200.0,
        "rx_packets_total": 10.0,
        "tx_packets_total": 20.0,
        "rx_errors_total": 1.0,
        "tx_errors_total": 2.0,
        "rx_drops_total": 3.0,
        "tx_drops_total": 4.0,
    }
    assert got["eth0"].speed_bytes_per_second == 25_000 * 1e6 / 8  # 25 Gbit/s
    assert got["ens8-ü"].speed_bytes_per_second == 100_000 * 1e6 / 8


def test_unknown_or_unreadable_speed_is_none(tmp_path):
    sysfs = fake_sysfs(tmp_path / "net", {"virtio0": "-1", "down0": "", "weird0": "4294967295"})
    (sysfs / "dir0" / "speed").mkdir(parents=True)  # reading a directory fails like EINVAL does
    for name in ("virtio0", "down0", "weird0", "dir0", "absent0", "../net", ""):
        assert sysfs_speed_bytes(sysfs, name) is None, name


def test_non_utf8_interface_name_becomes_storable_text(tmp_path):
    raw = b"eth\xff0".decode("utf-8", "surrogateescape")  # how psutil hands over a non-UTF-8 name
    got = read_local(lambda: {raw: snetio(1, 2, 3, 4, 0, 0, 0, 0)}, tmp_path)
    assert got[0].name == "eth\ufffd0"
    assert got[0].name.encode("utf-8")
    assert clean_name("💩0") == "💩0"


def test_real_psutil_shape_is_accepted(tmp_path):
    import psutil

    got = read_local(lambda: psutil.net_io_counters(pernic=True), tmp_path)
    assert got, "psutil lists at least one interface"
    assert all(isinstance(v, float) for i in got for v in i.counters.values())
