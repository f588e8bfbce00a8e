"""Errors by layer. The CLI turns every SpendscopeError into a message and a non-zero exit, never a traceback."""

from __future__ import annotations


class SpendscopeError(Exception):
    """Base for errors a user can act on; `exit_code` is what the CLI returns."""

    exit_code = 1

    def __str__(self) -> str:
        # Messages reach the CLI, logs, alert_events and action_log: never with a secret this process read.
        from spendscope.secrets import redact  # late: spendscope.secrets raises ConfigError from this module

        return redact(super().__str__())


class ConfigError(SpendscopeError):
    """The config file or a rule file is invalid; the message names the key and, when known, the line."""

    exit_code = 2


class InputError(SpendscopeError):
    """An input file cannot be ingested at all (unreadable, wrong format, a required column missing)."""

    exit_code = 3


class MissingColumnsError(InputError):
    """Required columns are absent: nothing from the file is written."""

    def __init__(self, source: str, missing: list[str]) -> None:
        self.source = source
        self.missing = sorted(missing)
        super().__init__(f"{source}: missing required column(s): {', '.join(self.missing)}; nothing was written")


class SourceError(SpendscopeError):
    """A source (BigQuery, Databricks, an HTTP endpoint) failed or is unreachable; its collector is marked down.

    `retryable`: the failure is transient (unreachable, timed out, HTTP 429/5xx), so the daemon retries the
    job with backoff within its interval (spendscope/retry.py); a refused credential or a bad answer is not.
    """

    exit_code = 4

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class QueryError(SpendscopeError):
    """A user query failed to parse, transpile or run."""

    exit_code = 5


class StorageFullError(SpendscopeError):
    """The lake's disk is full: the write was abandoned whole, the previous data stays readable."""

    exit_code = 7


class WriteConflictError(SpendscopeError):
    """Another process replaced the same partitions at the same moment; running the command again resolves it."""

    exit_code = 6
