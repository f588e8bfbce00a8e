"""A local write-ahead journal of sent notifications, so a crash right after a send does not send it again.

The router sends a batch per notifier; the engine records the deliveries in alert_events once every notifier
has answered (one commit). A crash in between — seconds with a slow SMTP server — would forget that the first
receivers were told, and the restarted daemon would tell them again. Each successful send is therefore
appended here at once (a line, fsync'd: about a millisecond), and removed when its rows are committed; the
next engine replays what is left into alert_events before it loads state. What remains is the time between
a receiver's answer and that fsync; webhook payloads carry the alert's fingerprint for receivers that
deduplicate, and Alertmanager deduplicates identical alerts itself.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from pathlib import Path
from typing import Any


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"$t": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$d": value.isoformat()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        if "$t" in value:
            return dt.datetime.fromisoformat(value["$t"])
        if "$d" in value:
            return dt.date.fromisoformat(value["$d"])
    return value


class DeliveryJournal:
    """alert_events rows of notifications sent but not yet committed, one JSON object per line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()  # notifiers send from a thread pool

    def record(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        text = "".join(json.dumps({k: _encode(v) for k, v in r.items()}, sort_keys=True) + "\n" for r in rows)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())

    def pending(self) -> list[dict[str, Any]]:
        """The rows recorded and not cleared; a torn last line (a crash mid-write) is not a row."""
        if not self.path.exists():
            return []
        rows = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append({k: _decode(v) for k, v in json.loads(line).items()})
            except ValueError:
                continue
        return rows

    def clear(self) -> None:
        with self._lock:
            self.path.unlink(missing_ok=True)
