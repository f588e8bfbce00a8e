"""node_exporter text parser: the real exposition format, UTF-8 devices, exponents, bad lines counted."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.network.node_exporter_text import parse_labels, parse_node_exporter, parse_value
from tests.conftest import FIXTURES

SCRAPE_1 = (FIXTURES / "node_exporter" / "scrape_1.txt").read_text(encoding="utf-8")
SCRAPE_2 = (FIXTURES / "node_exporter" / "scrape_2.txt").read_text(encoding="utf-8")


def test_scrape_with_help_and_type_reads_every_interface_counter():
    got = parse_node_exporter(SCRAPE_1)
    assert got.nodename == "gpu-node-01"
    assert set(got.counted()) == {"eth0", "lo", "docker0", "veth-ñandú", "💩0"}
    eth0 = got.interfaces["eth0"]
    assert eth0.counters == {
        "rx_bytes_total": 68_210_035_552.0,  # printed as 6.8210035552e+10
        "tx_bytes_total": 9_315_587_528.0,
        "rx_packets_total": 520_993_275.0,
        "tx_packets_total": 43_451_486.0,
        "rx_errors_total": 0.0,
        "tx_errors_total": 0.0,
        "rx_drops_total": 12.0,
        "tx_drops_total": 0.0,
    }
    assert eth0.speed_bytes_per_second == 1.25e9
    assert eth0.up is True and eth0.operstate == "up"
    assert got.interfaces["docker0"].up is False and got.interfaces["docker0"].operstate == "down"
    assert got.interfaces["💩0"].counters["rx_bytes_total"] == 57_750_104.0


def test_nan_value_and_garbage_line_are_skipped_and_counted_not_fatal():
    got = parse_node_exporter(SCRAPE_1)
    assert got.skipped == 2
    reasons = {p.reason.split(":")[0] for p in got.problems}
    assert reasons == {"value is not a finite number", "not a sample line"}
    assert [p.line for p in got.problems] == sorted(p.line for p in got.problems)
    assert "rx_errors_total" not in got.interfaces["veth-ñandú"].counters  # the NaN one
    assert got.interfaces["veth-ñandú"].counters["tx_packets_total"] == 10640.0


def test_scrape_without_help_and_type_parses_the_same_families():
    got = parse_node_exporter(SCRAPE_2)
    assert got.skipped == 0
    assert got.nodename == "gpu-node-01"
    assert got.interfaces["eth0"].counters["rx_bytes_total"] == 71_960_035_552.0
    assert got.interfaces["docker0"].counters["rx_bytes_total"] == 1024.0


def test_other_families_are_ignored_not_counted():
    text = 'node_load1 3.16\nnode_disk_read_bytes_total{device="sda"} 1e+06\ngo_goroutines 13\n'
    got = parse_node_exporter(text)
    assert got.interfaces == {} and got.skipped == 0


def test_escaped_label_values_and_pre_016_family_names():
    text = (
        'node_network_receive_bytes{device="we\\"ird\\\\na\\nme",extra="a,b}"} 10\n'
        'node_network_transmit_bytes_total{device="we\\"ird\\\\na\\nme"} 2.5E+3 1700000000000\n'
    )
    got = parse_node_exporter(text)
    name = 'we"ird\\na\nme'
    assert got.interfaces[name].counters == {"rx_bytes_total": 10.0, "tx_bytes_total": 2500.0}


def test_quoted_metric_name_form_is_read():
    got = parse_node_exporter('{"node_network_receive_bytes_total", device="eth0"} 7\n')
    assert got.interfaces["eth0"].counters == {"rx_bytes_total": 7.0}


def test_bad_samples_of_kept_families_are_counted():
    text = "\n".join(
        [
            'node_network_receive_bytes_total{device="eth0"} +Inf',
            'node_network_receive_bytes_total{device="eth0"} lots',
            'node_network_receive_bytes_total{device="eth0"} 1_000',  # Python float() would take it; Go does not
            'node_network_receive_bytes_total{device="eth0"} -5',
            "node_network_receive_bytes_total 5",  # no device label
            'node_network_receive_bytes_total{device="eth0" 5',
            'node_network_receive_bytes_total{device="eth0" mode="x"} 5',
            'node_network_transmit_bytes_total{device="eth0"} 9',
        ]
    )
    got = parse_node_exporter(text)
    assert got.skipped == 7
    assert got.interfaces["eth0"].counters == {"tx_bytes_total": 9.0}


def test_unknown_speed_is_none():
    got = parse_node_exporter('node_network_speed_bytes{device="eth0"} -125000\nnode_network_up{device="eth0"} 1\n')
    assert got.interfaces["eth0"].speed_bytes_per_second is None
    assert got.counted() == {}  # no counters: no net_samples row


def test_label_value_with_unicode_line_separator_stays_one_line():
    got = parse_node_exporter('node_network_receive_bytes_total{device="a\u2028b"} 1\n')
    assert got.skipped == 0 and got.interfaces["a\u2028b"].counters == {"rx_bytes_total": 1.0}


def test_parse_value_and_labels_helpers():
    assert parse_value("1.234e+09") == 1.234e9
    assert parse_value("NaN") != parse_value("NaN")  # NaN itself; the caller rejects it
    assert parse_value("0x10") is None
    assert parse_labels('{a="1",b="2",}') == (None, {"a": "1", "b": "2"})
    assert parse_labels('{a="1" b="2"}') is None


_LINE = st.one_of(
    st.text(max_size=80),
    st.builds(
        lambda fam, dev, val: f'{fam}{{device="{dev}"}} {val}',
        st.sampled_from(["node_network_receive_bytes_total", "node_network_speed_bytes", "node_uname_info", "x"]),
        st.text(max_size=12),
        st.one_of(st.text(max_size=8), st.floats(allow_nan=True, allow_infinity=True).map(repr)),
    ),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_LINE, max_size=20))
def test_parser_never_raises(lines):
    got = parse_node_exporter("\n".join(lines))
    assert got.skipped >= len(got.problems)
    for iface in got.interfaces.values():
        assert all(v >= 0 for v in iface.counters.values())
