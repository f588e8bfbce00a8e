"""Thin I/O over the SQL Statement Execution API (databricks-sdk `w.statement_execution`).

Runs one statement INLINE as JSON_ARRAY, polls while it is PENDING/RUNNING, turns a FAILED,
CANCELED or CLOSED statement (which the API returns with HTTP 200) into a `SourceError` carrying
the warehouse's message, and follows `next_chunk_index` through every result chunk.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from spendscope.errors import SourceError
from spendscope.retry import retryable_exception

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.service.sql import ResultData, StatementResponse

log = logging.getLogger(__name__)

# A statement parameter: (value as text or None for NULL, Databricks SQL type).
Param = tuple[str | None, str]


@dataclass
class StatementResult:
    """A succeeded statement: its columns as (name, type_name) and its rows, chunk after chunk."""

    statement_id: str
    columns: list[tuple[str, str]]
    rows: Iterator[Sequence[str | None]]
    truncated: bool = False


class StatementRunner:
    """Runs statements on one SQL warehouse; `sleep` is injected so tests do not wait."""

    def __init__(
        self,
        client: WorkspaceClient,
        warehouse_id: str,
        wait_timeout_seconds: int = 30,
        poll_seconds: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        max_wait_seconds: float = 1800.0,
    ) -> None:
        self.client = client
        self.warehouse_id = warehouse_id
        # The API takes 0 or 5..50 seconds.
        self.wait_timeout = f"{min(50, max(5, wait_timeout_seconds))}s"
        self.poll_seconds = poll_seconds
        self.sleep = sleep
        # A warehouse that never starts must not hang the daemon: cancel and report after this long.
        self.max_wait_seconds = max_wait_seconds

    def run(self, statement: str, params: Mapping[str, Param] | None = None) -> StatementResult:
        """Execute `statement` with named `:params` and return its result once it has SUCCEEDED."""
        from databricks.sdk.service.sql import Disposition, Format, StatementParameterListItem

        items = [StatementParameterListItem(name=k, value=v, type=t) for k, (v, t) in (params or {}).items()]
        resp = self._call(
            "execute_statement",
            lambda: self.client.statement_execution.execute_statement(
                statement=statement,
                warehouse_id=self.warehouse_id,
                wait_timeout=self.wait_timeout,
                disposition=Disposition.INLINE,
                format=Format.JSON_ARRAY,
                parameters=items,
            ),
        )
        statement_id = resp.statement_id or ""
        waited = 0.0
        while _state(resp) in ("PENDING", "RUNNING"):
            if waited >= self.max_wait_seconds:
                self._call("cancel_execution", self.client.statement_execution.cancel_execution, statement_id)
                raise SourceError(f"databricks: statement {statement_id} still {_state(resp)} after {waited:.0f}s")
            log.debug("statement:%s state:%s", statement_id, _state(resp))
            self.sleep(self.poll_seconds)
            waited += self.poll_seconds
            resp = self._call("get_statement", lambda: self.client.statement_execution.get_statement(statement_id))
        state = _state(resp)
        if state != "SUCCEEDED":
            raise SourceError(f"databricks: statement {statement_id} {state}: {_error_text(resp)}")
        manifest = resp.manifest
        columns = [
            (c.name or f"col{i}", c.type_name.value if c.type_name else "STRING")
            for i, c in enumerate((manifest.schema.columns if manifest and manifest.schema else None) or [])
        ]
        truncated = bool(manifest and manifest.truncated)
        return StatementResult(statement_id, columns, self._rows(statement_id, resp), truncated)

    def _rows(self, statement_id: str, resp: StatementResponse) -> Iterator[Sequence[str | None]]:
        result: ResultData | None = resp.result
        while result is not None:
            yield from result.data_array or []
            nxt = result.next_chunk_index
            if nxt is None:
                return
            result = self._call(
                "get_statement_result_chunk_n",
                self.client.statement_execution.get_statement_result_chunk_n,
                statement_id,
                nxt,
            )

    @staticmethod
    def _call(what: str, fn: Callable[..., Any], *args: Any) -> Any:
        """Run one SDK call; any SDK or transport failure becomes a SourceError naming the call."""
        from databricks.sdk.errors import DatabricksError

        try:
            return fn(*args)
        except DatabricksError as exc:
            raise SourceError(f"databricks: {what} failed: {exc}", retryable=retryable_exception(exc)) from None
        except (OSError, ValueError) as exc:
            # requests' ConnectionError is an OSError; the SDK raises ValueError for bad config/auth.
            detail = f"{type(exc).__name__}: {exc}"
            raise SourceError(f"databricks: {what} failed: {detail}", retryable=retryable_exception(exc)) from None


def _state(resp: StatementResponse) -> str:
    status = resp.status
    return status.state.value if status is not None and status.state is not None else "UNKNOWN"


def _error_text(resp: StatementResponse) -> str:
    status = resp.status
    err = status.error if status is not None else None
    parts = []
    if err is not None and err.error_code is not None:
        parts.append(err.error_code.value)
    if err is not None and err.message:
        parts.append(err.message)
    if status is not None and status.sql_state:
        parts.append(f"(SQLSTATE {status.sql_state})")
    return " ".join(parts) or "no error message"
