"""The auto-shutdown action contract: read a resource's live state, say what it would call, and call it.

An action knows one API and nothing of the safety rules: dry-run, grace periods, protection labels,
exemptions, blast radius and stale-data checks all live in `alerts.actions.engine`, which is the only caller.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from spendscope.errors import SourceError
from spendscope.records import Resource

# Upstream states meaning "already stopping or stopped" (Databricks, GCE, GKE), plus our NOT_FOUND (deleted).
STOPPED_STATES = frozenset(
    {"TERMINATING", "TERMINATED", "STOPPING", "STOPPED", "SUSPENDING", "SUSPENDED", "DELETING", "NOT_FOUND"}
)


@dataclass(frozen=True)
class LiveState:
    """A resource as its API reports it right now."""

    state: str  # upstream state: RUNNING, TERMINATING, TERMINATED, STOPPING, …
    stopped: bool  # already stopping or stopped: acting again would do nothing useful
    labels: Mapping[str, str] = field(default_factory=dict)  # live labels / tags (protection is checked on these)
    detail: str = ""  # human detail, e.g. a node pool's size and autoscaling


class Action(abc.ABC):
    """One kind of auto-shutdown (one platform); the engine decides when, the action only knows how."""

    name: ClassVar[str]  # databricks-terminate | gce-stop | gke-resize-zero
    platform: ClassVar[str]  # databricks | gce | gke
    verb: ClassVar[str] = "stop"  # for people: "terminate", "stop", "resize to zero"

    @abc.abstractmethod
    def describe(self, r: Resource) -> LiveState:
        """Read the live state (a read-only call); raise SourceError when it cannot be read."""

    @abc.abstractmethod
    def request(self, r: Resource) -> str:
        """The API call(s) `execute` makes, human-readable; makes no call."""

    @abc.abstractmethod
    def execute(self, r: Resource) -> str:
        """Make the call(s); return what was done; raise SourceError on failure."""


def require(r: Resource, *fields: str) -> tuple[str, ...]:
    """The named Resource fields, or a SourceError naming the missing ones (an action cannot guess them)."""
    values = tuple(getattr(r, f) for f in fields)
    missing = [f for f, v in zip(fields, values, strict=True) if not v]
    if missing:
        raise SourceError(f"{r.platform} {r.resource_id}: inventory lacks {', '.join(missing)}")
    return tuple(str(v) for v in values)


def failure(action: Action, r: Resource, what: str, exc: BaseException) -> SourceError:
    """A SourceError naming the action, the resource and the first line of the client's error."""
    lines = str(exc).strip().splitlines()
    first = lines[0] if lines else ""
    return SourceError(f"{action.name} {r.name or r.resource_id}: {what} failed: {type(exc).__name__}: {first}")
