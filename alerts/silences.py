"""Silences: label matchers with a start, an end, an author and a comment (Alertmanager's model).

Matchers are written `name=value`, `name!=value`, `name=~regex`, `name!~regex`; regexes are anchored, as in
Alertmanager. A silence mutes notifications of every alert whose labels all its matchers match while it is
active; the alert is still evaluated and recorded.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from spendscope.errors import ConfigError

_MATCHER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")


@dataclass(frozen=True)
class Matcher:
    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True

    def matches(self, labels: Mapping[str, str]) -> bool:
        got = labels.get(self.name, "")
        hit = re.fullmatch(self.value, got) is not None if self.is_regex else got == self.value
        return hit if self.is_equal else not hit

    def __str__(self) -> str:
        op = {(False, True): "=", (False, False): "!=", (True, True): "=~", (True, False): "!~"}
        return f"{self.name}{op[(self.is_regex, self.is_equal)]}{self.value}"

    def to_json(self) -> dict[str, object]:
        """Alertmanager's matcher shape."""
        return {"name": self.name, "value": self.value, "isRegex": self.is_regex, "isEqual": self.is_equal}


def parse_matcher(text: str) -> Matcher:
    """`team=ml`, `severity!=info`, `alertname=~Budget.*`, `host!~gke-.*` → Matcher; ConfigError if malformed."""
    m = _MATCHER.match(text)
    if not m:
        raise ConfigError(f"bad matcher {text!r}: expected name=value, name!=value, name=~regex or name!~regex")
    name, op, value = m.groups()
    value = value.strip('"')
    matcher = Matcher(name, value, is_regex=op in ("=~", "!~"), is_equal=op in ("=", "=~"))
    if matcher.is_regex:
        try:
            re.compile(value)
        except re.error as exc:
            raise ConfigError(f"bad matcher {text!r}: {exc}") from None
    return matcher


@dataclass(frozen=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at: dt.datetime
    ends_at: dt.datetime
    created_by: str
    comment: str
    created_at: dt.datetime
    expired_at: dt.datetime | None = None

    def active(self, now: dt.datetime) -> bool:
        end = min(self.ends_at, self.expired_at) if self.expired_at else self.ends_at
        return self.starts_at <= now < end

    def matches(self, labels: Mapping[str, str]) -> bool:
        return bool(self.matchers) and all(m.matches(labels) for m in self.matchers)

    def to_row(self) -> dict[str, object]:
        return {
            "id": self.id,
            "matchers": json.dumps([m.to_json() for m in self.matchers]),
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "created_by": self.created_by,
            "comment": self.comment,
            "created_at": self.created_at,
            "expired_at": self.expired_at,
            "_day": self.created_at.date(),
            "_source": "cli",
        }

    @classmethod
    def from_row(cls, row: Mapping[str, object]) -> Silence:
        raw = json.loads(str(row["matchers"] or "[]"))
        matchers = tuple(Matcher(m["name"], m["value"], bool(m["isRegex"]), bool(m.get("isEqual", True))) for m in raw)
        return cls(
            id=str(row["id"]),
            matchers=matchers,
            starts_at=row["starts_at"],  # type: ignore[arg-type]
            ends_at=row["ends_at"],  # type: ignore[arg-type]
            created_by=str(row["created_by"] or ""),
            comment=str(row["comment"] or ""),
            created_at=row["created_at"],  # type: ignore[arg-type]
            expired_at=row["expired_at"],  # type: ignore[arg-type]
        )


def new_silence(
    matchers: Sequence[str], *, now: dt.datetime, duration: dt.timedelta, author: str, comment: str,
    starts_at: dt.datetime | None = None,
) -> Silence:  # fmt: skip
    """A silence from matcher texts; at least one matcher and a comment are required (as in Alertmanager)."""
    if not matchers:
        raise ConfigError("a silence needs at least one --match name=value")
    if not comment.strip():
        raise ConfigError("a silence needs a --comment saying why")
    if duration <= dt.timedelta(0):
        raise ConfigError("a silence needs a positive duration (--for 2h)")
    start = starts_at or now
    return Silence(str(uuid.uuid4()), tuple(parse_matcher(m) for m in matchers), start, start + duration,
                   author, comment, now)  # fmt: skip


def matching(silences: Sequence[Silence], labels: Mapping[str, str], now: dt.datetime) -> Silence | None:
    """The first active silence that matches `labels`, else None."""
    return next((s for s in silences if s.active(now) and s.matches(labels)), None)
