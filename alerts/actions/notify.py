"""What people are told about an auto-shutdown: the warning before it and the result after (plain text)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from spendscope.records import Resource


def saving(evidence: Mapping[str, Any], r: Resource) -> float | None:
    """Estimated $/hour saved: the idle share of the resource's cost (evidence), else its whole price."""
    idle = evidence.get("idle_cost_usd_per_hour")
    if isinstance(idle, int | float):
        return float(idle)
    return r.price_usd_per_hour


def resource_line(r: Resource) -> str:
    """'GCE instance a3-train-01 (4519…) in ml-prod-4821/us-central1-a'."""
    where = "/".join(p for p in (r.project, r.location, r.cluster) if p)
    label = f"{r.name} ({r.resource_id})" if r.name and r.name != r.resource_id else r.resource_id
    return f"{r.platform} {r.kind} {label}" + (f" in {where}" if where else "")


def evidence_line(evidence: Mapping[str, Any]) -> str:
    """The idle evidence in one line: idle GPUs, busy ratio, window, last sample, hosts."""
    parts = []
    if evidence.get("idle_gpus") is not None or evidence.get("gpus") is not None:
        parts.append(f"{_num(evidence.get('idle_gpus'))} of {_num(evidence.get('gpus'))} GPUs idle")
    minutes = evidence.get("window_minutes")  # the idle rule's field; `window` is a duration text
    if isinstance(minutes, int | float):
        parts.append(f"over {minutes:g} min")
    elif evidence.get("window"):
        parts.append(f"over {evidence['window']}")
    ratio = evidence.get("busy_ratio")
    if isinstance(ratio, int | float):
        parts.append(f"busy {ratio:.1%}")
    if evidence.get("last_seen"):
        parts.append(f"last sample {evidence['last_seen']}")
    hosts = evidence.get("hosts")
    if hosts:
        shown = list(hosts)[:5] if isinstance(hosts, list | tuple) else [str(hosts)]
        parts.append("hosts " + ", ".join(map(str, shown)))
    return "Idle: " + (", ".join(parts) if parts else "(no evidence recorded)")


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else "?"


def cost_line(usd_per_hour: float | None) -> str:
    return f"Cost: ${usd_per_hour:,.2f}/h" if usd_per_hour is not None else "Cost: unknown $/h (no price in inventory)"


def warning(
    r: Resource,
    evidence: Mapping[str, Any],
    verb: str,
    act_after: dt.datetime,
    request: str | None,
    dry_run: bool,
    protect: str,
) -> tuple[str, str]:
    """(title, text) of the warning sent when a resource is marked."""
    when = act_after.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    title = f"Auto-shutdown: {r.name or r.resource_id} will {verb} at {when}"
    lines = [
        f"Will {verb} {resource_line(r)} at {when}",
        evidence_line(evidence),
        cost_line(saving(evidence, r)),
        f"Unless the alert is acked, the resource becomes busy again, or it is labelled {protect}.",
    ]
    if request:
        lines.append(f"Call: {request}")
    if dry_run:
        lines.append("Dry-run: nothing will be stopped; the planned call is only recorded.")
    return title, "\n".join(lines)


def result(r: Resource, evidence: Mapping[str, Any], step: str, verb: str, reason: str) -> tuple[str, str]:
    """(title, text) of a result: planned (dry-run), executed, failed, cancelled, or skipped after a warning."""
    name = r.name or r.resource_id
    titles = {
        "planned": f"Auto-shutdown (dry-run): would {verb} {name}",
        "executed": f"Auto-shutdown: {verb} {name} requested",
        "failed": f"Auto-shutdown FAILED: {verb} {name}",
        "cancelled": f"Auto-shutdown cancelled: {name}",
    }
    title = titles.get(step, f"Auto-shutdown not done: {name}")
    text = "\n".join([resource_line(r), f"{step}: {reason}", evidence_line(evidence), cost_line(saving(evidence, r))])
    return title, text
