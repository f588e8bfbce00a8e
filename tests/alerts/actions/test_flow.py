"""Mark → warn → act after the grace period, dry-run by default, cancellations, restarts and action_log rows.

Driven through the REAL google-cloud-compute InstancesClient (REST) against a local HTTP stand-in — not
Compute Engine — that checks the exact requests (method, path, body); see conftest.py. Every run uses a fresh
ActionEngine over the same warehouse, as a restarted daemon would: its state comes only from action_log.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from alerts.actions import recent_actions
from alerts.actions.config import ActionsConfig
from alerts.actions.engine import ActionEngine
from spendscope.records import NotificationKind, State
from tests.alerts.actions.conftest import (
    GCE_BASE,
    PROJECT,
    T0,
    ZONE,
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


def steps(run: Any) -> list[str]:
    return [r["step"] for r in run.records]


def route_gce(api: ApiStub, name: str = "a3-train-01", **labels: str) -> None:
    api.route("GET", f"{GCE_BASE}/{name}", gce_instance(name, **labels))
    api.route("POST", f"{GCE_BASE}/{name}/stop", gce_operation(name))


def test_dry_run_is_the_default_and_makes_no_api_call(api: ApiStub, make_engine: Any, ctx_at: Any) -> None:
    """Default config: the warning goes out, then a `planned` step with the request text; the server sees nothing."""
    assert ActionsConfig().dry_run is True
    route_gce(api)
    r = gce_resource()
    first = make_engine().run(ctx_at(T0), [alert(r, T0)])
    assert steps(first) == ["marked", "warned"]
    assert all(rec["dry_run"] is True for rec in first.records)
    assert "Dry-run" in first.notifications[0].text

    second = make_engine().run(ctx_at(LATER), [alert(r, LATER)])
    assert steps(second) == ["planned"]
    planned = second.records[0]
    assert planned["request"] == f"POST {GCE_BASE}/a3-train-01/stop (InstancesClient.stop)"
    assert planned["reason"].startswith("dry-run: would stop")
    assert [n.title for n in second.notifications] == ["Auto-shutdown (dry-run): would stop a3-train-01"]
    assert api.seen == []  # not even a read: dry-run makes no API call at all


def test_mark_warn_then_act_after_grace(api: ApiStub, make_engine: Any, ctx_at: Any, lake: Any) -> None:
    """Warned at T0 naming resource, evidence, $/h and the stop time; nothing during the grace; stop after it."""
    route_gce(api)
    r = gce_resource()
    first = make_engine(dry_run=False, grace="30m").run(ctx_at(T0), [alert(r, T0)])
    assert steps(first) == ["marked", "warned"]
    (warning,) = first.notifications
    assert warning.kind is NotificationKind.action
    assert "a3-train-01 (4519532173512345678)" in warning.text
    assert "8 of 8 GPUs idle" in warning.text and "busy 1.0%" in warning.text
    assert "$80.50/h" in warning.text  # the idle share from the evidence
    assert "unless the alert is acked" in warning.text.lower() and "spendscope-protect=true" in warning.text
    assert "2026-11-22 03:30 UTC" in warning.title and "2026-11-22 03:30 UTC" in warning.text
    assert {rec["act_after"] for rec in first.records} == {T0 + GRACE}

    during_at = T0 + dt.timedelta(minutes=29)
    during = make_engine(dry_run=False).run(ctx_at(during_at), [alert(r, during_at)])
    assert during.records == [] and during.notifications == []
    assert api.seen == []

    after = make_engine(dry_run=False).run(ctx_at(LATER), [alert(r, LATER)])
    assert steps(after) == ["executed"]
    assert calls(api) == [
        ("GET", f"{GCE_BASE}/a3-train-01", (), None),
        ("POST", f"{GCE_BASE}/a3-train-01/stop", (), None),
    ]
    assert api.problems == []
    done = after.records[0]
    assert "operation-1795230000000-a3-train-01" in done["reason"]
    assert [n.title for n in after.notifications] == ["Auto-shutdown: stop a3-train-01 requested"]

    again = make_engine(dry_run=False).run(ctx_at(LATER + dt.timedelta(minutes=1)), [alert(r, LATER)])
    assert again.records == [] and len(mutating(api)) == 1  # acted once per firing episode

    assert recent_actions(lake, T0).column("step").to_pylist() == ["executed", "warned", "marked"]


def test_every_record_carries_the_full_context(api: ApiStub, make_engine: Any, ctx_at: Any, lake: Any) -> None:
    """Each action_log row: run id, fingerprint, action, resource, step, dry_run, reason, act_after, evidence,
    the $/h saved and the request; `_day` is the UTC day of `at`."""
    route_gce(api)
    r = gce_resource()
    ev = evidence(T0)
    make_engine(dry_run=False).run(ctx_at(T0), [alert(r, T0, ev=ev)])
    rows = lake.query("SELECT * FROM action_log ORDER BY step").to_pylist()
    assert [row["step"] for row in rows] == ["marked", "warned"]
    for row in rows:
        assert row["at"] == T0 and row["_day"] == T0.date()
        assert row["run_id"] and len({x["run_id"] for x in rows}) == 1
        assert (row["fingerprint"], row["action"], row["platform"]) == ("fp-gce-a3-train-01", "gce-stop", "gce")
        assert (row["resource_id"], row["resource_name"]) == ("4519532173512345678", "a3-train-01")
        assert (row["project"], row["location"]) == (PROJECT, ZONE)
        assert row["dry_run"] is False and row["act_after"] == T0 + GRACE
        assert json.loads(row["evidence"]) == ev
        assert row["saving_usd_per_hour"] == 80.5
        assert row["request"].startswith("POST /compute/v1/")
    # Without an idle share in the evidence, the saving is the resource's whole price.
    no_share = {k: v for k, v in ev.items() if k != "idle_cost_usd_per_hour"}
    other = gce_resource("a3-train-02", "222")
    run = make_engine().run(ctx_at(T0), [alert(other, T0, ev=no_share)])
    assert {rec["saving_usd_per_hour"] for rec in run.records if rec["resource_id"] == "222"} == {88.49}


def test_acked_while_marked_cancels(api: ApiStub, make_engine: Any, ctx_at: Any) -> None:
    route_gce(api)
    r = gce_resource()
    make_engine(dry_run=False).run(ctx_at(T0), [alert(r, T0)])
    run = make_engine(dry_run=False).run(ctx_at(LATER), [alert(r, LATER, acked_by="ana")])
    assert steps(run) == ["cancelled"] and run.records[0]["reason"] == "acked: by ana"
    assert run.notifications[0].title == "Auto-shutdown cancelled: a3-train-01"
    later = make_engine(dry_run=False).run(ctx_at(LATER + GRACE), [alert(r, LATER + GRACE, acked_by="ana")])
    assert later.records == [] and api.seen == []


def test_busy_again_cancels(api: ApiStub, make_engine: Any, ctx_at: Any) -> None:
    """The idle alert resolved while marked (the GPUs got busy): cancelled, never stopped."""
    route_gce(api)
    r = gce_resource()
    make_engine(dry_run=False).run(ctx_at(T0), [alert(r, T0)])
    run = make_engine(dry_run=False).run(ctx_at(T0 + dt.timedelta(minutes=10)), [alert(r, T0, State.resolved)])
    assert steps(run) == ["cancelled"] and run.records[0]["reason"].startswith("busy again")
    after = make_engine(dry_run=False).run(ctx_at(LATER), [alert(r, LATER, State.resolved)])
    assert after.records == [] and api.seen == []


def test_pending_alert_is_not_marked(api: ApiStub, make_engine: Any, ctx_at: Any) -> None:
    run = make_engine(dry_run=False).run(ctx_at(T0), [alert(gce_resource(), T0, State.pending)])
    assert run.records == [] and run.notifications == [] and api.seen == []


def test_a_new_firing_episode_is_marked_again(api: ApiStub, make_engine: Any, ctx_at: Any) -> None:
    """After the episode closed (cancelled when busy), the next time it fires it is warned about again."""
    r = gce_resource()
    make_engine().run(ctx_at(T0), [alert(r, T0)])
    make_engine().run(ctx_at(T0 + dt.timedelta(minutes=5)), [alert(r, T0, State.resolved)])
    refired = T0 + dt.timedelta(hours=3)
    run = make_engine().run(ctx_at(refired), [alert(r, refired, fired_at=refired)])
    assert steps(run) == ["marked", "warned"]


def test_open_mark_without_candidate_is_cancelled(api: ApiStub, make_engine: Any, ctx_at: Any) -> None:
    """The rule stopped opting in (or the alert is gone): the open mark is cancelled, nothing is stopped."""
    make_engine(dry_run=False).run(ctx_at(T0), [alert(gce_resource(), T0)])
    run = make_engine(dry_run=False).run(ctx_at(LATER), [])
    assert steps(run) == ["cancelled"] and run.records[0]["reason"].startswith("not a candidate")
    assert make_engine(dry_run=False).run(ctx_at(LATER), []).records == [] and api.seen == []


def test_failed_call_is_recorded_and_not_retried(api: ApiStub, make_engine: Any, ctx_at: Any) -> None:
    api.route("GET", f"{GCE_BASE}/a3-train-01", gce_instance())
    denied = {"error": {"code": 403, "message": "Required 'compute.instances.stop' permission", "errors": []}}
    api.route("POST", f"{GCE_BASE}/a3-train-01/stop", denied, status=403)
    r = gce_resource()
    make_engine(dry_run=False).run(ctx_at(T0), [alert(r, T0)])
    run = make_engine(dry_run=False).run(ctx_at(LATER), [alert(r, LATER)])
    assert steps(run) == ["failed"]
    assert "instances.stop failed" in run.records[0]["reason"] and "compute.instances.stop" in run.records[0]["reason"]
    assert run.notifications[0].title == "Auto-shutdown FAILED: stop a3-train-01"
    again = make_engine(dry_run=False).run(ctx_at(LATER + dt.timedelta(minutes=1)), [alert(r, LATER)])
    assert again.records == [] and len(mutating(api)) == 1


def test_recent_actions_latest_first(api: ApiStub, make_engine: Any, ctx_at: Any, lake: Any) -> None:
    r = gce_resource()
    make_engine().run(ctx_at(T0), [alert(r, T0)])
    make_engine().run(ctx_at(LATER), [alert(r, LATER)])
    table = recent_actions(lake, T0 - dt.timedelta(hours=1))
    assert table.column("step").to_pylist() == ["planned", "warned", "marked"]
    assert recent_actions(lake, LATER).column("step").to_pylist() == ["planned"]


def test_resource_without_an_action_is_left_alone(lake: Any, ctx_at: Any) -> None:
    """A candidate whose platform has no action configured gets no step at all."""
    run = ActionEngine(ActionsConfig(), lake, {}).run(ctx_at(T0), [alert(gce_resource(), T0)])
    assert run.records == [] and run.notifications == []


def test_warning_reads_the_idle_rule_evidence_shape() -> None:
    """The idle rule's evidence keys (window_minutes, coverage, price…) render in the warning text."""
    from alerts.actions import notify

    ev = {"window_minutes": 45.0, "gpus": 8.0, "idle_gpus": 8.0, "busy_ratio": 0.0, "coverage": 1.0,
          "last_seen": "2026-11-22T02:59:00+00:00", "hosts": ["a3-train-01"], "idle_cost_usd_per_hour": 88.49,
          "price_usd_per_hour": 88.49, "inventory_gpus": 8}  # fmt: skip
    title, text = notify.warning(gce_resource(), ev, "stop", LATER, None, False, "spendscope-protect=true")
    assert "8 of 8 GPUs idle, over 45 min, busy 0.0%, last sample 2026-11-22T02:59:00+00:00" in text
    assert "$88.49/h" in text and title == "Auto-shutdown: a3-train-01 will stop at 2026-11-22 03:31 UTC"
