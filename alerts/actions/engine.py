"""The auto-shutdown engine: every safety rule lives here, never in an action.

Per resource of an idle alert that opted in (`shutdown: true`), state rebuilt from action_log each run:
firing → never if protected (label) or exempt (config) → else `marked` + `warned` (a notification naming the
resource, the evidence, its $/h and when it will stop) → after the grace period, re-checked: still firing,
not acked, not already stopped (live state), not protected (live labels), data fresh, within the blast radius
→ `planned` (dry-run: no API call at all, not even a read) or `executed` / `failed`. A resolved (busy again)
or acked alert cancels an open mark. One final step closes a firing episode: the next mark needs the alert
to fire again. Skips that only wait (stale data, blast radius) keep the mark open and are recorded once.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from alerts.actions import log as action_log
from alerts.actions import notify
from alerts.actions.base import STOPPED_STATES, Action, LiveState
from alerts.actions.config import ActionsConfig
from alerts.actions.log import LastStep
from spendscope.clock import Clock, system_clock
from spendscope.records import AlertState, Notification, NotificationKind, State

if TYPE_CHECKING:
    from alerts.context import EvalContext
    from exporters.warehouse.engine import Warehouse
    from spendscope.config import Settings

log = logging.getLogger(__name__)

# Jobs whose data the idle evidence rests on: the GPU collectors (scheduler.GPU_COLLECTORS), their rollup, and
# the inventory (prices, labels, states). Any of them down → no action.
DATA_JOBS = frozenset({"dcgm", "prometheus", "nvml", "nvidia-smi", "gpu-rollup", "inventory"})
HOUR = dt.timedelta(hours=1)
PRIORITY = {State.firing: 0, State.resolved: 1, State.pending: 2}


@dataclass
class ActionRun:
    """What one run did: the action_log rows it wrote and the notifications to route (kind `action`)."""

    records: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)


@dataclass
class _Cycle:
    ctx: EvalContext
    run_id: str
    last: dict[tuple[str, str], LastStep]
    out: ActionRun = field(default_factory=ActionRun)
    unflushed: list[dict[str, Any]] = field(default_factory=list)
    acted: int = 0  # planned / executed / failed in this run
    hour: int | None = None  # the same in the hour before this run (read on first need)


class ActionEngine:
    """Applies the safety rules and calls the per-platform actions (`actions` keyed by platform)."""

    def __init__(
        self, cfg: ActionsConfig, wh: Warehouse, actions: Mapping[str, Action], clock: Clock = system_clock
    ) -> None:
        self.cfg = cfg
        self.wh = wh
        self.actions = dict(actions)
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: Settings, wh: Warehouse) -> ActionEngine:
        """The three actions with real clients, each built on its first API call (never in dry-run)."""
        from alerts.actions.databricks import DatabricksTerminate
        from alerts.actions.gce import GceStop
        from alerts.actions.gke import GkeResizeZero

        cfg, dbx, inv = settings.alerts.actions, settings.collectors.databricks, settings.collectors.inventory
        actions: list[Action] = [
            DatabricksTerminate(
                host=cfg.databricks_host or dbx.host, token_env=cfg.databricks_token_env or dbx.token_env
            ),
            GceStop(endpoint=cfg.compute_endpoint or inv.compute_endpoint),
            GkeResizeZero(endpoint=cfg.container_endpoint or inv.container_endpoint),
        ]
        return cls(cfg, wh, {a.platform: a for a in actions})

    # -- one run ------------------------------------------------------------------------------------------

    def run(self, ctx: EvalContext, candidates: Sequence[AlertState]) -> ActionRun:
        """Advance every candidate one step; cancel open marks whose alert is no longer a candidate."""
        started = self.clock()
        cy = _Cycle(ctx, uuid.uuid4().hex[:12], action_log.latest_steps(self.wh, ctx.now))
        chosen = self._by_resource(candidates, cy.last)
        by_name = {a.name: a for a in self.actions.values()}
        for (name, _), alert in chosen.items():
            self._advance(cy, alert, by_name[name])
        for key, last in list(cy.last.items()):
            if key not in chosen and last.open_mark:
                self._write(cy, dict(last.row), "cancelled", "not a candidate: no idle alert with shutdown for it")
        self._flush(cy)
        took = (self.clock() - started).total_seconds()
        log.info(
            "actions run:%s candidates:%s steps:%s dry_run:%s took_s:%.2f",
            *(cy.run_id, len(candidates), len(cy.out.records), self.cfg.dry_run, took),
        )
        return cy.out

    def _by_resource(
        self, candidates: Sequence[AlertState], last: Mapping[tuple[str, str], LastStep]
    ) -> dict[tuple[str, str], AlertState]:
        """One alert per resource (two idle rules may name one): firing first, then the one holding the mark."""
        chosen: dict[tuple[str, str], AlertState] = {}
        for a in candidates:
            r = a.resource
            if r is None or r.platform not in self.actions:
                log.debug("actions fingerprint:%s skipped:no action for its resource", a.fingerprint)
                continue
            key = (self.actions[r.platform].name, r.resource_id)
            prev = chosen.get(key)
            mark = last[key].row["fingerprint"] if key in last and last[key].open_mark else None
            rank = (PRIORITY.get(a.state, 3), a.fingerprint != mark)
            if prev is None or rank < (PRIORITY.get(prev.state, 3), prev.fingerprint != mark):
                chosen[key] = a
        return chosen

    def _advance(self, cy: _Cycle, a: AlertState, action: Action) -> None:
        assert a.resource is not None  # _by_resource keeps only alerts with a resource
        r, now = a.resource, cy.ctx.now
        last = cy.last.get((action.name, r.resource_id))
        if last is not None and last.open_mark:
            if a.state is State.resolved:
                self._final(cy, a, action, "cancelled", "busy again: the idle alert resolved")
            elif a.last_active < now:  # firing only through keep_firing_for (or a failed rule): not idle now
                self._final(cy, a, action, "cancelled", "busy again: not idle at this evaluation")
            elif a.acked_by:
                self._final(cy, a, action, "cancelled", f"acked: by {a.acked_by}")
            elif a.silenced_by:  # its warnings reach nobody: do not act behind a silence
                self._final(cy, a, action, "cancelled", f"silenced: by silence {a.silenced_by}")
            elif a.state is State.firing and last.act_after is not None and now >= last.act_after:
                self._act(cy, a, action, last)
            return
        if a.state is not State.firing or a.last_active < now:  # idle must hold at this very evaluation
            return
        if last is not None and last.at >= (a.fired_at or a.active_since):
            return  # this firing episode already ended in a final step (acted, planned, skipped, cancelled)
        reason = self._never(r.labels, a) or self._held_by_people(a)
        if reason:
            if last is None or last.step != "skipped" or last.reason_code != reason.split(":", 1)[0]:
                self._write(cy, self._base(a, action), "skipped", reason)
            return
        act_after = now + self.cfg.grace
        request = _request(action, a)
        base = self._base(a, action)
        self._write(cy, base, "marked", "idle alert firing", act_after=act_after, request=request)
        warned = f"warning sent: will {action.verb} at {act_after.isoformat()}"
        self._write(cy, base, "warned", warned, act_after=act_after, request=request)
        protect = f"{self.cfg.protect_label}={self.cfg.protect_value}"
        title, text = notify.warning(r, a.evidence, action.verb, act_after, request, self.cfg.dry_run, protect)
        self._notify(cy, a, title, text)

    def _act(self, cy: _Cycle, a: AlertState, action: Action, last: LastStep) -> None:
        """The grace period is over: re-check everything, then plan (dry-run) or execute."""
        assert a.resource is not None
        r = a.resource
        never = self._never(r.labels, a)
        if never:
            return self._final(cy, a, action, "skipped", never)
        live: LiveState | None = None
        if self.cfg.dry_run:  # no API call at all in dry-run: the inventory's last state stands in
            stopped, state = (r.state or "").upper() in STOPPED_STATES, r.state or "unknown"
        else:
            try:
                live = action.describe(r)
            except Exception as exc:  # any failure to read means "unknown": wait, never act blind
                return self._hold(cy, a, action, last, f"live state unavailable: {exc}")
            stopped, state = live.stopped, live.state
        if stopped:
            return self._final(cy, a, action, "skipped", f"already stopped: state {state}")
        if live is not None and self._protected(live.labels):
            return self._final(cy, a, action, "skipped", f"protected: live label {self.cfg.protect_label}")
        wait = self._stale(cy.ctx, a) or self._blast_radius(cy)
        if wait:
            return self._hold(cy, a, action, last, wait)
        cy.acted += 1
        try:
            request = action.request(r)
        except Exception as exc:  # e.g. the inventory lacks the zone: cannot act, say so
            return self._final(cy, a, action, "failed", f"failed: {exc}")
        if self.cfg.dry_run:
            reason = f"dry-run: would {action.verb}; no API call made (live state not read)"
            return self._final(cy, a, action, "planned", reason, request=request)
        try:
            done = action.execute(r)
        except Exception as exc:  # one failing action must not stop the alert cycle
            self._final(cy, a, action, "failed", f"failed: {exc}", request=request)
        else:
            was = f" (was {live.detail})" if live is not None and live.detail else ""
            self._final(cy, a, action, "executed", f"done: {done}{was}", request=request)
        self._flush(cy)  # an executed call is on disk at once, whatever happens to the rest of the run

    # -- the safety checks --------------------------------------------------------------------------------

    def _protected(self, labels: Mapping[str, str]) -> bool:
        want_key, want = self.cfg.protect_label.lower(), self.cfg.protect_value.lower()
        return any(k.lower() == want_key and str(v).lower() == want for k, v in labels.items())

    def _never(self, labels: Mapping[str, str], a: AlertState) -> str | None:
        """Protection label (inventory labels) or config exemption: never act."""
        assert a.resource is not None
        r = a.resource
        if self._protected(labels):
            return f"protected: label {self.cfg.protect_label}={self.cfg.protect_value}"
        for pattern in self.cfg.exempt:
            for value in (r.resource_id, r.name, r.cluster):
                if value and fnmatch.fnmatchcase(value, pattern):
                    return f"exempt: {value} matches alerts.actions.exempt {pattern!r}"
        return None

    @staticmethod
    def _held_by_people(a: AlertState) -> str | None:
        if a.acked_by:
            return f"acked: by {a.acked_by}"
        if a.silenced_by:
            return f"silenced: by silence {a.silenced_by}"
        return None

    def _stale(self, ctx: EvalContext, a: AlertState) -> str | None:
        """Why the idle evidence cannot be trusted now (a data job down, or the newest sample too old)."""
        down = sorted(n for n, h in (ctx.health or {}).items() if n in DATA_JOBS and h.up is False)
        if down:
            return f"stale data: collector down: {', '.join(down)}"
        seen = _parse_time(a.evidence.get("last_seen"))
        if seen is None:
            return "stale data: the alert's evidence has no last_seen"
        age = ctx.now - seen
        if age > self.cfg.max_data_age:
            return f"stale data: newest sample {seen.isoformat()} is {age} old (max_data_age {self.cfg.max_data_age})"
        return None

    def _blast_radius(self, cy: _Cycle) -> str | None:
        if cy.acted >= self.cfg.max_per_run:
            return f"blast radius: {cy.acted} this run (max_per_run {self.cfg.max_per_run})"
        if cy.hour is None:  # read once, before this run flushed any attempt
            cy.hour = action_log.attempts_since(self.wh, cy.ctx.now - HOUR)
        if cy.hour + cy.acted >= self.cfg.max_per_hour:
            return f"blast radius: {cy.hour + cy.acted} in the last hour (max_per_hour {self.cfg.max_per_hour})"
        return None

    # -- records and notifications -------------------------------------------------------------------------

    def _base(self, a: AlertState, action: Action) -> dict[str, Any]:
        assert a.resource is not None
        r = a.resource
        return {
            "fingerprint": a.fingerprint,
            "action": action.name,
            "platform": r.platform,
            "resource_id": r.resource_id,
            "resource_name": r.name,
            "project": r.project,
            "location": r.location,
            "evidence": json.dumps(a.evidence, sort_keys=True, default=str),
            "saving_usd_per_hour": notify.saving(a.evidence, r),
        }

    def _write(
        self,
        cy: _Cycle,
        base: dict[str, Any],
        step: str,
        reason: str,
        act_after: dt.datetime | None = None,
        request: str | None = None,
    ) -> None:
        now = cy.ctx.now
        row = {
            **base,
            "at": now,
            "run_id": cy.run_id,
            "step": step,
            "dry_run": self.cfg.dry_run,
            "reason": reason,
            "act_after": act_after,
            "request": request if request is not None else base.get("request"),
            "_day": now.astimezone(dt.UTC).date(),
            "_source": action_log.SOURCE,
        }
        cy.out.records.append(row)
        cy.unflushed.append(row)
        cy.last[(row["action"], row["resource_id"])] = LastStep(row)
        log.info("action:%s resource:%s step:%s reason:%s", row["action"], row["resource_id"], step, reason)

    def _final(
        self, cy: _Cycle, a: AlertState, action: Action, step: str, reason: str, request: str | None = None
    ) -> None:
        """A step after a warning (it closes the mark): recorded and told."""
        assert a.resource is not None
        self._write(cy, self._base(a, action), step, reason, request=request)
        self._notify(cy, a, *notify.result(a.resource, a.evidence, step, action.verb, reason))

    def _hold(self, cy: _Cycle, a: AlertState, action: Action, last: LastStep, reason: str) -> None:
        """Not now, the mark stays open: recorded and told once per reason, not every run."""
        if last.step == "skipped" and last.reason_code == reason.split(":", 1)[0]:
            return
        assert a.resource is not None
        self._write(cy, self._base(a, action), "skipped", reason, act_after=last.act_after)
        self._notify(cy, a, *notify.result(a.resource, a.evidence, "skipped", action.verb, reason))

    def _notify(self, cy: _Cycle, a: AlertState, title: str, text: str) -> None:
        cy.out.notifications.append(Notification(NotificationKind.action, a, title, text, cy.ctx.now))

    def _flush(self, cy: _Cycle) -> None:
        if cy.unflushed:
            action_log.write(self.wh, cy.unflushed)
            cy.unflushed = []


def _request(action: Action, a: AlertState) -> str | None:
    """The action's request text; None when the inventory lacks what it needs (the act then fails, recorded)."""
    assert a.resource is not None
    try:
        return action.request(a.resource)
    except Exception as exc:  # a missing zone/project must not break the run
        log.warning("action:%s resource:%s request unavailable: %s", action.name, a.resource.resource_id, exc)
        return None


def _parse_time(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
