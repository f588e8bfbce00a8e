"""Fuzz the Prometheus `query_range` answer parser (workload and GPU-over-Prometheus collectors).

The answer is whatever the endpoint sent: a recorded real answer with nodes swapped for other types must
give series of finite points, or a SourceError with a message, never an AttributeError or KeyError.
"""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from collectors.common.prom_api import parse_matrix
from spendscope.errors import SpendscopeError
from tests.fuzz import payloads as p
from tests.fuzz import payloads_json as pj
from tests.fuzz.conftest import fuzz
from tests.fuzz.props import attempt

ANSWERS = [json.loads(f.read_text()) for f in sorted((p.FIXTURES / "workload").glob("query_range_*.json"))]
OK = {"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {}, "values": [[1, "1"]]}]}}


def _with(path: tuple[Any, ...], value: Any) -> Any:
    return pj.replaced(OK, path, value)


@fuzz(150)
@given(body=st.one_of(st.sampled_from(ANSWERS).flatmap(pj.mutated_tree), st.sampled_from(pj.EVIL_VALUES)))
@example(body=[])  # AttributeError: 'list' object has no attribute 'get'
@example(body=_with(("data",), [1]))  # the same, one level down
@example(body=_with(("data", "result"), 7))  # TypeError: 'int' object is not iterable
@example(body=_with(("data", "result", 0), "x"))  # AttributeError on the series
@example(body=_with(("data", "result", 0, "metric"), [1]))  # AttributeError: 'list' object has no attribute 'items'
@example(body=_with(("data", "result", 0, "values", 0), {"0": 1, "1": "2"}))  # KeyError: 0
@example(body=_with(("data", "result", 0, "values", 0, 0), 1e20))  # OverflowError: fromtimestamp
@example(body=_with(("data", "result", 0, "metric"), {"job": "\ud800"}))  # a label Arrow cannot store
def test_query_range_answer(body: Any) -> None:
    got = attempt(lambda: parse_matrix(body))
    if isinstance(got, SpendscopeError):
        return
    for series in got.series:
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in series.labels.items())
        assert all(f"{k}{v}".encode() for k, v in series.labels.items())  # UTF-8 text Arrow can store
        assert all(math.isfinite(v) for _, v in series.points)


def test_an_error_status_with_a_json_list_body_is_a_source_error() -> None:
    """A proxy answering 503 with a JSON list (not Prometheus' error object): a retryable SourceError, not a crash."""
    import datetime as dt

    import pytest

    from collectors.common.prom_api import PromApi
    from spendscope.errors import SourceError
    from tests.common.servers import QuietHandler, serving

    class Busy(QuietHandler):
        def do_POST(self) -> None:
            self.send_json(503, ["overloaded"])

    at = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
    with serving(Busy) as url:
        api = PromApi(url, timeout=5)
        with pytest.raises(SourceError, match="HTTP 503") as failed:
            api.query_range("up", at - dt.timedelta(minutes=5), at, 60)
        api.close()
    assert failed.value.retryable
