"""A loopback stand-in for a Databricks workspace's SQL Statement Execution API — NOT Databricks.

It serves the three endpoints the real databricks-sdk WorkspaceClient calls for statements
(`POST /api/2.0/sql/statements`, `GET …/statements/{id}`, `GET …/statements/{id}/result/chunks/{n}`)
plus `GET /.well-known/databricks-config`, which the SDK (0.156) probes once when a client is built.
Every request is recorded and checked (method, path, bearer token, JSON body); anything else is a 404
listed in `problems`. Responses follow the documented StatementResponse / ResultData shapes, with
JSON_ARRAY values as strings and MAP/STRUCT columns as the JSON text our `to_json(...)` selects.
Rows come from the synthetic fixtures, filtered by the statement's :since / :until (and, for the
late-days probe, :mark / :since) as the warehouse would.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.common.servers import QuietHandler, serving

TOKEN = "x"
WAREHOUSE_ID = "8f1e2d3c4b5a6978"
WORKSPACE_ID = "2345678901234567"

USAGE_COLUMNS = [
    ("record_id", "STRING", "STRING"), ("account_id", "STRING", "STRING"), ("workspace_id", "STRING", "STRING"),
    ("sku_name", "STRING", "STRING"), ("cloud", "STRING", "STRING"), ("usage_start_time", "TIMESTAMP", "TIMESTAMP"),
    ("usage_end_time", "TIMESTAMP", "TIMESTAMP"), ("usage_date", "DATE", "DATE"), ("custom_tags", "STRING", "STRING"),
    ("usage_unit", "STRING", "STRING"), ("usage_quantity", "DECIMAL", "DECIMAL(38,18)"),
    ("usage_metadata", "STRING", "STRING"), ("identity_metadata", "STRING", "STRING"),
    ("record_type", "STRING", "STRING"), ("ingestion_date", "DATE", "DATE"),
    ("billing_origin_product", "STRING", "STRING"), ("product_features", "STRING", "STRING"),
    ("usage_type", "STRING", "STRING"),
]  # fmt: skip
PRICE_COLUMNS = [
    ("price_start_time", "TIMESTAMP", "TIMESTAMP"), ("price_end_time", "TIMESTAMP", "TIMESTAMP"),
    ("account_id", "STRING", "STRING"), ("sku_name", "STRING", "STRING"), ("cloud", "STRING", "STRING"),
    ("currency_code", "STRING", "STRING"), ("usage_unit", "STRING", "STRING"), ("pricing", "STRING", "STRING"),
]  # fmt: skip


@dataclass
class Seen:
    """One request as received."""

    method: str
    path: str
    body: dict[str, Any] | None
    headers: dict[str, str]


@dataclass
class SqlApiStub:
    """Server state: the table rows it answers with, how it answers, and what it saw."""

    usage: list[dict[str, Any]]
    prices: list[dict[str, Any]]
    # How each statement kind answers: inline | pending | chunks | failed
    mode: dict[str, str] = field(default_factory=lambda: {"usage": "inline", "prices": "inline"})
    seen: list[Seen] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    url: str = ""
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _polls: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _chunks: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)

    def statements(self) -> list[dict[str, Any]]:
        """Bodies of every POST /api/2.0/sql/statements, in order."""
        return [s.body or {} for s in self.seen if s.method == "POST"]

    # -- request handling --------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], body: dict[str, Any] | None) -> tuple[int, Any]:
        self.seen.append(Seen(method, path, body, headers))
        if method == "GET" and path == "/.well-known/databricks-config":
            # Host metadata as a workspace publishes it; with a PAT it only fills workspace_id/cloud.
            return 200, {"oidc_endpoint": f"{self.url}/oidc", "workspace_id": WORKSPACE_ID, "cloud": "GCP"}
        if headers.get("authorization") != f"Bearer {TOKEN}":
            self.problems.append(f"{method} {path}: missing bearer token")
            return 401, {"error_code": "UNAUTHENTICATED", "message": "Credential was not sent"}
        if headers.get("x-databricks-workspace-id") != WORKSPACE_ID:
            self.problems.append(f"{method} {path}: no X-Databricks-Workspace-Id header")
        if method == "POST" and path == "/api/2.0/sql/statements":
            return self._execute(body or {})
        m = re.fullmatch(r"/api/2\.0/sql/statements/([\w-]+)(?:/result/chunks/(\d+))?", path)
        if method == "GET" and m and m.group(2) is None and m.group(1) in self._polls:
            return 200, self._polls[m.group(1)].pop(0)
        if method == "GET" and m and m.group(2) is not None and (m.group(1), int(m.group(2))) in self._chunks:
            return 200, self._chunks[(m.group(1), int(m.group(2)))]
        self.problems.append(f"unexpected request {method} {path}")
        return 404, {"error_code": "NOT_FOUND", "message": f"no route {path}"}

    def _execute(self, body: dict[str, Any]) -> tuple[int, Any]:
        expected = {
            "warehouse_id": WAREHOUSE_ID,
            "disposition": "INLINE",
            "format": "JSON_ARRAY",
            "wait_timeout": "30s",
        }
        for k, v in expected.items():
            if body.get(k) != v:
                self.problems.append(f"execute: {k}={body.get(k)!r}, expected {v!r}")
        statement = body.get("statement", "")
        params = {p["name"]: p for p in body.get("parameters", [])}
        if statement.startswith("SELECT DISTINCT usage_date") and "FROM system.billing.usage" in statement:
            kind, cols, records = "late", [("usage_date", "DATE", "DATE")], self._late_days(params)
        elif "FROM system.billing.list_prices" in statement:
            kind, cols, records = "prices", PRICE_COLUMNS, self.prices
        elif "FROM system.billing.usage" in statement:
            kind, cols, records = "usage", USAGE_COLUMNS, self._usage_between(params)
        else:
            self.problems.append(f"execute: unknown statement {statement[:60]!r}")
            return 400, {"error_code": "BAD_REQUEST", "message": "unknown statement"}
        for name, _, _ in cols:
            if name not in statement:
                self.problems.append(f"execute: {kind} statement does not select {name}")
        sid = f"01ef-{next(self._ids):04d}-stmt"
        mode = self.mode.get(kind, "inline")
        if mode == "failed":
            return 200, {"statement_id": sid, "status": {
                "state": "FAILED", "sql_state": "42501",
                "error": {"error_code": "BAD_REQUEST", "message": "[INSUFFICIENT_PERMISSIONS] Insufficient privileges: "
                          "User does not have USE SCHEMA on Schema 'system.billing'. SQLSTATE: 42501"}}}  # fmt: skip
        rows = [[_cell(rec.get(name), typ) for name, typ, _ in cols] for rec in records]
        done = _succeeded(sid, cols, rows, two_chunks=mode == "chunks")
        if mode == "chunks" and len(rows) > 1:
            self._chunks[(sid, 1)] = done.pop("_chunk1")
        if mode == "pending":
            self._polls[sid] = [{"statement_id": sid, "status": {"state": "RUNNING"}}, done]
            return 200, {"statement_id": sid, "status": {"state": "PENDING"}}
        return 200, done

    def _late_days(self, params: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        """Distinct usage_date of rows ingested on/after :mark for days before :since."""
        mark, since = params["mark"]["value"], params["since"]["value"]
        days = {r["usage_date"] for r in self.usage if r["ingestion_date"] >= mark and r["usage_date"] < since}
        return [{"usage_date": d} for d in sorted(days)]

    def _usage_between(self, params: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        for name in ("since", "until"):
            if params.get(name, {}).get("type") != "DATE":
                self.problems.append(f"execute: parameter {name} is not a DATE: {params.get(name)}")
        since = params["since"]["value"]
        until = params.get("until", {}).get("value")
        return [r for r in self.usage if r["usage_date"] >= since and (until is None or r["usage_date"] < until)]


def _cell(value: Any, type_name: str) -> str | None:
    """A JSON_ARRAY value: a string or null; MAP/STRUCT as the compact JSON `to_json` produces."""
    if value is None:
        return None
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _succeeded(
    sid: str, cols: list[tuple[str, str, str]], rows: list[list[str | None]], two_chunks: bool
) -> dict[str, Any]:
    split = (len(rows) + 1) // 2 if two_chunks and len(rows) > 1 else len(rows)
    first, second = rows[:split], rows[split:]
    chunks = [{"chunk_index": 0, "row_offset": 0, "row_count": len(first)}]
    result: dict[str, Any] = {"chunk_index": 0, "row_offset": 0, "row_count": len(first)}
    if first:
        result["data_array"] = first
    out: dict[str, Any] = {"statement_id": sid, "status": {"state": "SUCCEEDED"}}
    if second:
        chunks.append({"chunk_index": 1, "row_offset": split, "row_count": len(second)})
        result["next_chunk_index"] = 1
        result["next_chunk_internal_link"] = f"/api/2.0/sql/statements/{sid}/result/chunks/1"
        out["_chunk1"] = {"chunk_index": 1, "row_offset": split, "row_count": len(second), "data_array": second}
    out["manifest"] = {
        "format": "JSON_ARRAY",
        "schema": {"column_count": len(cols), "columns": [
            {"name": n, "type_name": t, "type_text": text, "position": i} for i, (n, t, text) in enumerate(cols)]},
        "total_chunk_count": len(chunks), "chunks": chunks, "total_row_count": len(rows), "truncated": False,
    }  # fmt: skip
    out["result"] = result
    return out


@contextmanager
def serve(stub: SqlApiStub) -> Iterator[SqlApiStub]:
    """Run `stub` on 127.0.0.1 (random port) for the duration of the block."""

    class Handler(QuietHandler):
        def _reply(self) -> None:
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n) if n else b""
            body = json.loads(raw) if raw else None
            headers = {k.lower(): v for k, v in self.headers.items()}
            self.send_json(*stub.handle(self.command, self.path, headers, body))

        do_GET = do_POST = _reply

    with serving(Handler) as url:
        stub.url = url
        yield stub
