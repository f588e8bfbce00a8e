"""Fixtures: a local stand-in for the Prometheus HTTP API, and a real MLflow tracking store.

The Prometheus stand-in is an http.server on 127.0.0.1 (random port). It checks each request the way
Prometheus's handler reads it — POST /api/v1/query_range with a form body of query, start, end, step —
and answers the documented matrix JSON from tests/fixtures/workload (SYNTHETIC), keeping the points in
[start, end] as Prometheus does. A query it does not know gets Prometheus's error shape (HTTP 400).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from collectors.base import RunContext
from spendscope.clock import fixed_clock
from tests.common.servers import QuietHandler, serving
from tests.conftest import FIXTURES

WORKLOAD = FIXTURES / "workload"
THROUGHPUT_QUERY = "sum by (workload, team, cluster) (rate(trainer_samples_total[5m]))"
LATENCY_QUERY = (
    'histogram_quantile(0.99, sum by (le, service) (rate(request_duration_seconds_bucket{job="serve"}[5m])))'
)
ANSWERS = {
    THROUGHPUT_QUERY: WORKLOAD / "query_range_throughput.json",
    LATENCY_QUERY: WORKLOAD / "query_range_latency.json",
}
T0 = dt.datetime(2026, 11, 20, 11, tzinfo=dt.UTC)  # the fixtures' first point


@dataclass
class PromStandIn:
    url: str
    requests: list[dict[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # request checks that failed (asserted empty by tests)


def _answer(form: dict[str, str]) -> tuple[int, dict[str, Any]]:
    path = ANSWERS.get(form["query"])
    if path is None:
        return 400, {"status": "error", "errorType": "bad_data", "error": f"unknown query {form['query']!r}"}
    body = json.loads(Path(path).read_text())
    start, end = float(form["start"]), float(form["end"])
    for series in body["data"]["result"]:
        series["values"] = [v for v in series["values"] if start <= v[0] <= end]
    body["data"]["result"] = [s for s in body["data"]["result"] if s["values"]]
    return 200, body


def _handler(state: PromStandIn) -> type[QuietHandler]:
    class Handler(QuietHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
            form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
            state.requests.append({"path": self.path, **form})
            problems = []
            if self.path != "/api/v1/query_range":
                problems.append(f"path {self.path}")
            if self.headers.get("Content-Type") != "application/x-www-form-urlencoded":
                problems.append(f"content-type {self.headers.get('Content-Type')}")
            if set(form) != {"query", "start", "end", "step"}:
                problems.append(f"form fields {sorted(form)}")
            elif not form["step"].endswith("s") or float(form["start"]) > float(form["end"]):
                problems.append(f"range {form}")
            if problems:
                state.errors.extend(problems)
                self.send_json(400, {"status": "error", "errorType": "bad_data", "error": "; ".join(problems)})
                return
            self.send_json(*_answer(form))

        def do_GET(self) -> None:
            state.errors.append(f"GET {self.path}")
            self.send_json(405, {"status": "error", "errorType": "bad_data", "error": "POST expected"})

    return Handler


@pytest.fixture
def prom() -> Iterator[PromStandIn]:
    """The Prometheus API stand-in on a random loopback port."""
    state = PromStandIn(url="")
    with serving(_handler(state)) as url:
        state.url = url
        yield state


def at(ctx: RunContext, when: dt.datetime, **options: Any) -> RunContext:
    """The same settings and lake with the clock at `when` (and CLI options)."""
    return RunContext(settings=ctx.settings, warehouse=ctx.warehouse, clock=fixed_clock(when), options=options)


@pytest.fixture(scope="module")
def mlflow_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real MLflow tracking store (SQLite: the backend MLflow 3.x supports; its file store is frozen)."""
    root = tmp_path_factory.mktemp("mlflow")
    return f"sqlite:///{root}/mlflow.db"
