"""Structured `key:value` logging for the daemon and the CLI; secrets are scrubbed before they reach a handler."""

from __future__ import annotations

import logging
import os
import re
import sys

from spendscope.secrets import redact

_SECRET = re.compile(r"(?i)(token|secret|password|api[_-]?key|authorization)([=:]\s*|\"\s*:\s*\")([^\s\",]+)")


class ScrubbingFormatter(logging.Formatter):
    """`ts level logger msg` with anything that looks like a credential replaced by ***."""

    def format(self, record: logging.LogRecord) -> str:
        text = redact(super().format(record))  # every secret value read, whatever the message's shape
        return _SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)


def setup(level: str | None = None, json_lines: bool = False) -> None:
    """Configure the root logger once: stderr, scrubbed, level from arg or SPENDSCOPE_LOG_LEVEL."""
    lvl = (level or os.environ.get("SPENDSCOPE_LOG_LEVEL") or "INFO").upper()
    handler = logging.StreamHandler(sys.stderr)
    fmt = (
        '{"ts":"%(asctime)s","level":"%(levelname)s","logger":"%(name)s","msg":"%(message)s"}'
        if json_lines
        else "%(asctime)s level:%(levelname)s logger:%(name)s %(message)s"
    )
    handler.setFormatter(ScrubbingFormatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(lvl)
    # Third-party clients are chatty at INFO; their warnings still come through.
    for noisy in ("apscheduler", "urllib3", "google", "databricks", "httpx"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
