"""The safety rules: protection label and exemptions, blast radius, stale data, idempotency, silences.

Driven through the REAL google-cloud-compute InstancesClient (REST) against a local HTTP stand-in — not
Compute Engine — that records every request; "no action" is proven by the server receiving no POST.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from alerts.actions.engine import DATA_JOBS
from spendscope.records import State
from spendscope.scheduler import GPU_COLLECTORS, JobHealth
from tests.alerts.actions.conftest import (
    GCE_BASE,
    T0,
    alert,
    calls,
    evidence,
    gce_instance,
    gce_operation,
    gce_resource,
    mutating,
)
from tests.inventory.api_stub import ApiStub

GRACE = dt.timedelta(minutes=30)
LATER = T0 + GRACE + dt.timedelta(minutes=1)


def steps(run: Any) -> list[tuple[str, str]]:
    return [(r["step"], r["reason"].split(":", 1)[0]) for r in run.records]


def route(api: ApiStub, name: str, status: str = "RUNNING", **labels: str) -> None:
    api.route("GET", f"{GCE_BASE}/{name}", gce_instance(name, status, **labels))
    api.route("POST", f"{GCE_BASE}/{name}/stop", gce_operation(name))


def test_protection_label_in_inventory_means_never(api: ApiStub, make_engine: Any, ctx_at: Any) -> None:
    """One `skipped` record (not one per run), no warning, no call — even long after the grace period."""
    route(api, "a3-train-01")
    r = gce_resource(**{"spendscope-protect": "true"})
    first = make_engine(dry_run=False).run(ctx_at(T0), [alert(r, T0)])
    assert steps(first) == [("skipped", "protected")] and first.notifications == []
    for minutes in (1, 31, 240):
        now = T0 + dt.timedelta(minutes=minutes)
        assert make_engine(dry_run=False).run(ctx_at(now), [alert(r, now)]).records == []
    assert api.seen == []


def test_protection_label_on_the_live_resource_means_never(api: ApiStub, make_engine: Any, ctx_at: Any) -> None:
    """Labelled after the warning: the live labels are read at act time and nothing is stopped."""
    route(api, "a3-train-01", **{"spendscope-protect": "true"})
    r = gce_resource()
    make_engine(dry_run=False).run(ctx_at(T0), [alert(r, T0)])
    run = make_engine(dry_run=False).run(ctx_at(LATER), [alert(r, LATER)])
    assert steps(run) == [("skipped", "protected")] and "live label" in run.records[0]["reason"]
    assert len(run.notifications) == 1  # the people warned are told it will not happen
    later = LATER + dt.timedelta(minutes=5)
    assert make_engine(dry_run=False).run(ctx_at(later), [alert(r, later)]).records == []
    assert mutating(api) == [] and calls(api) == [("GET", f"{GCE_BASE}/a3-train-01", (), None)]


def test_custom_protect_label_is_honoured(api: ApiStub, make_engine: Any, ctx_at: Any) -> None:
    r = gce_resource(**{"finops/keep": "yes"})
    run = make_engine(protect_label="finops/keep", protect_value="yes").run(ctx_at(T0), [alert(r, T0)])
    assert steps(run) == [("skipped", "protected")]


def test_exemption_globs_on_id_name_and_cluster(api: ApiStub, make_engine: Any, ctx_at: Any) -> None:
    by_name = gce_resource("prod-serving-1", "111")
    by_id = gce_resource("a3-train-07", "4519532173512345678")
    free = gce_resource("a3-train-08", "333")
    engine = make_engine(dry_run=False, exempt=["prod-*", "45195321735*"])
    run = engine.run(ctx_at(T0), [alert(by_name, T0), alert(by_id, T0), alert(free, T0)])
    got = {(rec["resource_name"], rec["step"]) for rec in run.records}
    assert got == {("prod-serving-1", "skipped"), ("a3-train-07", "skipped"), ("a3-train-08", "marked"),
                   ("a3-train-08", "warned")}  # fmt: skip
    reasons = {rec["resource_name"]: rec["reason"] for rec in run.records if rec["step"] == "skipped"}
    assert reasons["prod-serving-1"] == "exempt: prod-serving-1 matches alerts.actions.exempt 'prod-*'"


def test_exemption_added_during_grace_is_honoured(api: ApiStub, make_engine: Any, ctx_at: Any) -> None:
    route(api, "a3-train-01")
    r = gce_resource()
    make_engine(dry_run=False).run(ctx_at(T0), [alert(r, T0)])
    run = make_engine(dry_run=False, exempt=["a3-train-*"]).run(ctx_at(LATER), [alert(r, LATER)])
    assert steps(run) == [("skipped", "exempt")] and api.seen == []


def _three(api: ApiStub) -> list[Any]:
    names = ["a3-train-01", "a3-train-02", "a3-train-03"]
    for n in names:
        route(api, n)
    return [gce_resource(n, f"10{i}") for i, n in enumerate(names)]


def test_blast_radius_per_run(api: ApiStub, make_engine: Any, ctx_at: Any) -> None:
    """max_per_run 2: two stops, the third waits (one `skipped` record) and goes on the next run."""
    resources = _three(api)
    engine = dict(dry_run=False, max_per_run=2, max_per_hour=5)
    make_engine(**engine).run(ctx_at(T0), [alert(r, T0) for r in resources])
    run = make_engine(**engine).run(ctx_at(LATER), [alert(r, LATER) for r in resources])
    assert sorted(steps(run)) == [("executed", "done"), ("executed", "done"), ("skipped", "blast radius")]
    assert len(mutating(api)) == 2
    nxt = LATER + dt.timedelta(minutes=1)
    run2 = make_engine(**engine).run(ctx_at(nxt), [alert(r, nxt) for r in resources])
    assert steps(run2) == [("executed", "done")] and len(mutating(api)) == 3


def test_blast_radius_per_hour(api: ApiStub, make_engine: Any, ctx_at: Any) -> None:
    """max_per_hour 2: the third waits a rolling hour, recorded once however many runs it waits."""
    resources = _three(api)
    engine = dict(dry_run=False, max_per_run=5, max_per_hour=2)
    make_engine(**engine).run(ctx_at(T0), [alert(r, T0) for r in resources])
    run = make_engine(**engine).run(ctx_at(LATER), [alert(r, LATER) for r in resources])
    assert sorted(steps(run)) == [("executed", "done"), ("executed", "done"), ("skipped", "blast radius")]
    for minutes in (5, 30, 59):
        now = LATER + dt.timedelta(minutes=minutes)
        assert make_engine(**engine).run(ctx_at(now), [alert(r, now) for r in resources]).records == []
    assert len(mutating(api)) == 2
    hour_later = LATER + dt.timedelta(minutes=61)
    run2 = make_engine(**engine).run(ctx_at(hour_later), [alert(r, hour_later) for r in resources])
    assert steps(run2) == [("executed", "done")] and len(mutating(api)) == 3


def test_blast_radius_counts_dry_run_plans(api: ApiStub, make_engine: Any, ctx_at: Any) -> None:
    """Dry-run shows what the limits would allow: planned steps count like executed ones."""
    resources = _three(api)
    make_engine(max_per_run=1).run(ctx_at(T0), [alert(r, T0) for r in resources])
    run = make_engine(max_per_run=1).run(ctx_at(LATER), [alert(r, LATER) for r in resources])
    assert sorted(steps(run)) == [("planned", "dry-run"), ("skipped", "blast radius"), ("skipped", "blast radius")]
    assert api.seen == []


def test_no_action_on_old_samples(api: ApiStub, make_engine: Any, ctx_at: Any) -> None:
    """The newest sample is older than max_data_age: wait (recorded once), act when fresh data comes back."""
    route(api, "a3-train-01")
    r = gce_resource()
    make_engine(dry_run=False).run(ctx_at(T0), [alert(r, T0)])
    old = evidence(LATER, age=dt.timedelta(minutes=25))
    run = make_engine(dry_run=False, max_data_age="10m").run(ctx_at(LATER), [alert(r, LATER, ev=old)])
    assert steps(run) == [("skipped", "stale data")] and run.records[0]["act_after"] == T0 + GRACE
    again = LATER + dt.timedelta(minutes=1)
    assert make_engine(dry_run=False).run(ctx_at(again), [alert(r, again, ev=old)]).records == []
    assert mutating(api) == []
    fresh = LATER + dt.timedelta(minutes=2)
    run2 = make_engine(dry_run=False).run(ctx_at(fresh), [alert(r, fresh)])
    assert steps(run2) == [("executed", "done")] and len(mutating(api)) == 1


def test_no_action_while_a_collector_is_down(api: ApiStub, make_engine: Any, ctx_at: Any) -> None:
    route(api, "a3-train-01")
    r = gce_resource()
    make_engine(dry_run=False).run(ctx_at(T0), [alert(r, T0)])
    health = {"dcgm": JobHealth(up=False), "focus": JobHealth(up=True), "inventory": JobHealth(up=True)}
    run = make_engine(dry_run=False).run(ctx_at(LATER, health), [alert(r, LATER)])
    assert steps(run) == [("skipped", "stale data")] and "collector down: dcgm" in run.records[0]["reason"]
    inv_down = {"dcgm": JobHealth(up=True), "inventory": JobHealth(up=False)}
    assert make_engine(dry_run=False).run(ctx_at(LATER, inv_down), [alert(r, LATER)]).records == []  # same reason
    assert mutating(api) == []
    assert GPU_COLLECTORS <= DATA_JOBS and "inventory" in DATA_JOBS


def test_no_action_without_last_seen(api: ApiStub, make_engine: Any, ctx_at: Any) -> None:
    route(api, "a3-train-01")
    r = gce_resource()
    make_engine(dry_run=False).run(ctx_at(T0), [alert(r, T0)])
    no_time = {k: v for k, v in evidence(LATER).items() if k != "last_seen"}
    run = make_engine(dry_run=False).run(ctx_at(LATER), [alert(r, LATER, ev=no_time)])
    assert steps(run) == [("skipped", "stale data")] and mutating(api) == []


def test_already_stopping_is_not_acted_on(api: ApiStub, make_engine: Any, ctx_at: Any) -> None:
    route(api, "a3-train-01", status="STOPPING")
    r = gce_resource()
    make_engine(dry_run=False).run(ctx_at(T0), [alert(r, T0)])
    run = make_engine(dry_run=False).run(ctx_at(LATER), [alert(r, LATER)])
    assert steps(run) == [("skipped", "already stopped")] and run.records[0]["reason"].endswith("STOPPING")
    later = LATER + dt.timedelta(minutes=2)
    assert make_engine(dry_run=False).run(ctx_at(later), [alert(r, later)]).records == []
    assert mutating(api) == []


def test_dry_run_uses_the_inventory_state_for_idempotency(api: ApiStub, make_engine: Any, ctx_at: Any) -> None:
    """Dry-run reads nothing live: a resource the inventory saw TERMINATED is not planned."""
    from dataclasses import replace

    r = replace(gce_resource(), state="TERMINATED")
    make_engine().run(ctx_at(T0), [alert(r, T0)])
    run = make_engine().run(ctx_at(LATER), [alert(r, LATER)])
    assert steps(run) == [("skipped", "already stopped")] and api.seen == []


def test_unreadable_live_state_waits(api: ApiStub, make_engine: Any, ctx_at: Any) -> None:
    """The instance cannot be read (500): never act blind; the mark stays open and acts once it can read."""
    api.route("GET", f"{GCE_BASE}/a3-train-01", {"error": {"code": 500, "message": "backend error"}}, status=500)
    r = gce_resource()
    make_engine(dry_run=False).run(ctx_at(T0), [alert(r, T0)])
    run = make_engine(dry_run=False).run(ctx_at(LATER), [alert(r, LATER)])
    assert steps(run) == [("skipped", "live state unavailable")] and mutating(api) == []
    route(api, "a3-train-01")
    nxt = LATER + dt.timedelta(minutes=1)
    assert steps(make_engine(dry_run=False).run(ctx_at(nxt), [alert(r, nxt)])) == [("executed", "done")]


def test_silenced_alert_is_not_acted_on(api: ApiStub, make_engine: Any, ctx_at: Any) -> None:
    """A silenced alert's warning reaches nobody, so it is not marked (and a silence cancels a mark)."""
    r = gce_resource()
    silenced = alert(r, T0)
    silenced.silenced_by = "5c3a0c1e"
    run = make_engine(dry_run=False).run(ctx_at(T0), [silenced])
    assert steps(run) == [("skipped", "silenced")]
    other = gce_resource("a3-train-02", "222")
    make_engine(dry_run=False).run(ctx_at(T0), [alert(other, T0)])
    later = alert(other, LATER)
    later.silenced_by = "5c3a0c1e"
    assert steps(make_engine(dry_run=False).run(ctx_at(LATER), [silenced, later])) == [("cancelled", "silenced")]
    assert api.seen == []


def test_acked_before_marking_is_skipped_once(api: ApiStub, make_engine: Any, ctx_at: Any) -> None:
    r = gce_resource()
    run = make_engine().run(ctx_at(T0), [alert(r, T0, acked_by="ana")])
    assert steps(run) == [("skipped", "acked")]
    assert make_engine().run(ctx_at(LATER), [alert(r, LATER, acked_by="ana")]).records == []


def test_two_alerts_on_one_resource_act_once(api: ApiStub, make_engine: Any, ctx_at: Any) -> None:
    """Two idle rules naming the same instance: one mark, one stop; a resolved duplicate does not cancel it."""
    route(api, "a3-train-01")
    r = gce_resource()
    a, b = alert(r, T0, fingerprint="fp-a"), alert(r, T0, fingerprint="fp-b")
    assert len(make_engine(dry_run=False).run(ctx_at(T0), [a, b]).records) == 2
    run = make_engine(dry_run=False).run(
        ctx_at(LATER), [alert(r, LATER, State.resolved, fingerprint="fp-b"), alert(r, LATER, fingerprint="fp-a")]
    )
    assert steps(run) == [("executed", "done")] and len(mutating(api)) == 1
