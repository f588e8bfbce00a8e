"""A loopback stand-in for the Cloud Billing Budget API v1 REST surface — NOT Google — that records every request.

It answers the three calls spendscope makes, in the documented JSON shape (camelCase, enum names, Money.units as
a string): GET /v1/billingAccounts/<id>/budgets (PAGE budgets a page, `nextPageToken` / `pageToken`), POST the
same path (create: the stored budget gets a name and an etag), and PATCH /v1/billingAccounts/<id>/budgets/<b>
?updateMask=… (only the masked top-level fields change; a stale etag is refused with 409 ABORTED, as the API's
read-modify-write etag says). State is kept, so a listing after a sync shows what it did. `fail` makes the next
matching call answer a Google error body instead. Anything else answers 404 and lands in `problems`.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.common.servers import QuietHandler, serving

ACCOUNT = "01A2B3-C4D5E6-F7A8B9"
PARENT = f"/v1/billingAccounts/{ACCOUNT}/budgets"
PAGE = 3
PAGE_TOKEN = "CgZwYWdlLTI"  # opaque to the client: the second page's token (later pages add their offset)
FIXTURE = Path(__file__).parents[1] / "fixtures" / "gcp_budgets" / "budgets.json"
# The REST client sends enums as integers (`$alt=json;enum-encoding=int`); the API answers with their names.
ENUMS = {
    "calendarPeriod": ["CALENDAR_PERIOD_UNSPECIFIED", "MONTH", "QUARTER", "YEAR"],
    "creditTypesTreatment": ["CREDIT_TYPES_TREATMENT_UNSPECIFIED", "INCLUDE_ALL_CREDITS", "EXCLUDE_ALL_CREDITS",
                             "INCLUDE_SPECIFIED_CREDITS"],
    "spendBasis": ["BASIS_UNSPECIFIED", "CURRENT_SPEND", "FORECASTED_SPEND"],
}  # fmt: skip


@dataclass(frozen=True)
class Seen:
    """One request as received: method, path, query (a dict: each key appears once here) and the JSON body."""

    method: str
    path: str
    query: dict[str, str]
    body: Any = None


def fixture_budgets() -> list[dict[str, Any]]:
    return list(json.loads(FIXTURE.read_text())["budgets"])


def named(value: Any) -> Any:
    """A request body with integer enums → the documented shape with enum names."""
    if isinstance(value, list):
        return [named(v) for v in value]
    if isinstance(value, dict):
        return {k: ENUMS[k][v] if k in ENUMS and isinstance(v, int) else named(v) for k, v in value.items()}
    return value


def _token(start: int) -> str:
    """The page token of the page starting at budget `start` (PAGE_TOKEN for the second page)."""
    return PAGE_TOKEN if start == PAGE else f"{PAGE_TOKEN}-{start}"


def _error(code: int, status: str, message: str) -> tuple[int, Any]:
    return code, {"error": {"code": code, "message": message, "status": status}}


@dataclass
class BudgetApi:
    budgets: list[dict[str, Any]] = field(default_factory=fixture_budgets)
    seen: list[Seen] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    fail: dict[str, tuple[int, str, str]] = field(default_factory=dict)  # method → (code, status, message)
    url: str = ""
    created: int = 0

    def writes(self) -> list[Seen]:
        return [s for s in self.seen if s.method in ("POST", "PATCH", "DELETE")]

    def handle(self, method: str, raw: str, body: bytes) -> tuple[int, Any]:
        parts = urlsplit(raw)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        payload = json.loads(body) if body else None
        self.seen.append(Seen(method, parts.path, query, payload))
        if method in self.fail:
            return _error(*self.fail.pop(method))
        if parts.path == PARENT and method == "GET":
            return self._list(query)
        if parts.path == PARENT and method == "POST":
            return self._create(payload)
        if re.fullmatch(re.escape(PARENT) + r"/[^/]+", parts.path) and method == "PATCH":
            return self._patch(parts.path.removeprefix("/v1/"), query, payload)
        self.problems.append(f"unexpected request {method} {raw}")
        return _error(404, "NOT_FOUND", f"no such resource: {parts.path}")

    def _list(self, query: dict[str, str]) -> tuple[int, Any]:
        tokens = {_token(start): start for start in range(PAGE, len(self.budgets), PAGE)}
        token = query.get("pageToken")
        if token is not None and token not in tokens:
            return _error(400, "INVALID_ARGUMENT", "invalid page token")
        start = tokens[token] if token else 0
        page: dict[str, Any] = {"budgets": copy.deepcopy(self.budgets[start : start + PAGE])}
        if start + PAGE < len(self.budgets):
            page["nextPageToken"] = _token(start + PAGE)
        return 200, page

    def _create(self, body: dict[str, Any]) -> tuple[int, Any]:
        self.created += 1
        stored = {**named(body), "name": f"billingAccounts/{ACCOUNT}/budgets/new-{self.created}",
                  "etag": f"new-etag-{self.created}"}  # fmt: skip
        self.budgets.append(stored)
        return 200, copy.deepcopy(stored)

    def _patch(self, name: str, query: dict[str, str], body: dict[str, Any]) -> tuple[int, Any]:
        stored = next((b for b in self.budgets if b["name"] == name), None)
        if stored is None:
            return _error(404, "NOT_FOUND", f"budget {name} not found")
        if body.get("etag") and body["etag"] != stored["etag"]:
            return _error(409, "ABORTED", "the budget was changed since it was read (etag mismatch)")
        for path in query.get("updateMask", "").split(","):
            if path in body:
                stored[path] = named(body[path])
            else:
                stored.pop(path, None)
        stored["etag"] = stored["etag"] + "-2"
        return 200, copy.deepcopy(stored)


@contextmanager
def serve(api: BudgetApi | None = None) -> Iterator[BudgetApi]:
    """Run the stand-in on 127.0.0.1 (a free port) for the duration of the block."""
    state = api or BudgetApi()

    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def _reply(self) -> None:
            n = int(self.headers.get("Content-Length") or 0)
            self.send_json(*state.handle(self.command, self.path, self.rfile.read(n) if n else b""))

        do_GET = do_POST = do_PATCH = do_DELETE = _reply  # http.server dispatches on these names

    with serving(Handler, poll_interval=0.05) as url:
        state.url = url
        yield state


def client(api: BudgetApi) -> Any:
    """The real BudgetServiceClient over REST, anonymous credentials, aimed at the stand-in."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud.billing import budgets_v1

    return budgets_v1.BudgetServiceClient(
        transport="rest", credentials=AnonymousCredentials(), client_options={"api_endpoint": api.url}
    )
