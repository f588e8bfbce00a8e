"""Errors by layer. The CLI turns every SpendscopeError into a message and a non-zero exit, never a traceback."""

from __future__ import annotations


class SpendscopeError(Exception):
    """Base for errors a user can act on; `exit_code` is what the CLI returns."""

    exit_code = 1


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
    """A source (BigQuery, Databricks, an HTTP endpoint) failed or is unreachable; its collector is marked down."""

    exit_code = 4


class QueryError(SpendscopeError):
    """A user query failed to parse, transpile or run."""

    exit_code = 5


class WriteConflictError(SpendscopeError):
    """Another process replaced the same partitions at the same moment; running the command again resolves it."""

    exit_code = 6
