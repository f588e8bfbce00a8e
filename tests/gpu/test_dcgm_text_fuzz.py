"""Property tests: the dcgm text parser never raises, whatever a target answers."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.gpu.dcgm_text import parse_scrape
from collectors.gpu.rows import to_table

_TS = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
# Pieces of real scrapes, so generated texts reach deep into the parser rather than failing at once.
PIECES = st.sampled_from(
    [
        "DCGM_FI_DEV_GPU_UTIL",
        "DCGM_FI_DEV_FB_USED",
        "DCGM_EXP_XID_ERRORS_COUNT",
        "{",
        "}",
        '"',
        "\\",
        "=",
        ",",
        " ",
        "\n",
        "\r\n",
        "#",
        'gpu="0"',
        'gpu="99999999999"',
        'gpu="²"',
        'UUID="GPU-1"',
        'GPU_I_ID="1"',
        'pod=""',
        'xid="13"',
        'nvlink="1"',
        "NaN",
        "+Inf",
        "-1e309",
        "1_000",
        "0x10",
        "12",
        "1700000000000",
        "é",
        "\x00",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parser_never_raises_on_arbitrary_text(text: str) -> None:
    rows, stats = parse_scrape(text, "host")
    to_table(rows.metas, rows.values, _TS, "dcgm", "t", "dcgm")  # and the rows always build a valid table
    assert stats.rows == len(rows)


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECES, max_size=60).map("".join))
def test_parser_never_raises_on_scrape_like_fragments(text: str) -> None:
    rows, stats = parse_scrape(text, None)
    table = to_table(rows.metas, rows.values, _TS, "dcgm", "t", "dcgm")
    assert table.num_rows == stats.rows
