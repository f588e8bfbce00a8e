"""Arrow values as Python values, when some of them cannot be: a damaged file's time in year 0 or past 9999.

`to_pylist` raises for the whole column on one such value; parsers that quarantine rows need the others and a
marker for the bad one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

# The times every parser accepts: what Python's datetime holds, a day inside each end, so an hour later or a
# reporting zone's day stays valid. A time outside (year 0, year 10000+: a damaged file) is a bad row.
FIRST_TIME = dt.datetime(1, 1, 2, tzinfo=dt.UTC)
LAST_TIME = dt.datetime(9999, 12, 30, tzinfo=dt.UTC)


class _Unreadable:
    """Stands for a value Python cannot hold (a time past year 9999); no converter accepts it."""

    def __repr__(self) -> str:
        return "<value out of range>"


UNREADABLE = _Unreadable()


def py_values(arr: pa.Array | pa.ChunkedArray) -> list[Any]:
    """`arr` as Python values; one Python cannot hold (a Parquet time in year 0 or 10000+) is UNREADABLE."""
    try:
        return arr.to_pylist()
    except (ValueError, OverflowError):
        pass
    out: list[Any] = []
    for i in range(len(arr)):
        try:
            out.append(arr[i].as_py())
        except (ValueError, OverflowError):
            out.append(UNREADABLE)
    return out
