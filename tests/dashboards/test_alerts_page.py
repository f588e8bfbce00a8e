"""The "Alerts & actions" page and its queries over a real DuckDB lake.

Alerts come from the real AlertEngine evaluating budget rules (one firing at once, one pending for an hour)
over seeded costs (synthetic FOCUS rows through the real rollup), or are written through AlertStore. The page
is driven by Streamlit's AppTest: the firing alerts it lists are the store's, an ack or a silence submitted
through its forms is what AlertStore and the CLI then see, and a real engine evaluation after a page silence
sends a real webhook (loopback HTTP server) for the unsilenced alert only.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner, Result
from streamlit.testing.v1 import AppTest

from alerts import manage
from alerts.actions import log as action_log
from alerts.engine import AlertEngine
from alerts.store import AlertStore, event_row
from dashboards import auth
from dashboards.queries import alerts as q
from exporters.warehouse.duckdb import DuckDbLake
from spendscope import config
from spendscope.cli import cli
from spendscope.config import Settings
from spendscope.records import AlertState, Severity, State
from tests.alerts.routing.helpers import HttpRecorder
from tests.dashboards.apptest import APP, open_page, reporting_today, sign_in, write_config
from tests.seed import seed_costs

RULE = """
[[alerts.rules]]
name = "{name}"
type = "budget"
period = "month"
group_by = ["provider"]
amount_usd = 50
"""
# Two budget rules over the same costs: one fires at once, the other (`for = "1h"`) stays pending for an hour.
RULES = "[alerts]\nrule_files = []\n" + RULE.format(name="provider-month") + RULE.format(name="provider-month-slow")
RULES += 'for = "1h"\n'
# The dashboard's shared sign-in secret in these tests (synthetic); writes need a sign-in with it.
SECRET = "alerts-page-test-secret-5f0c"
# The page's tables, in the order it draws them (widgets.table titles).
ACTIVE, SILENCES, RESOLVED, HISTORY, ACTIONS = range(5)


@pytest.fixture
def lake_config(app_config: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config over a lake with 20 days of seeded costs and the budget rules evaluated once by the real engine."""
    cfg = write_config(app_config.parent, RULES)
    monkeypatch.delenv(auth.READONLY_ENV, raising=False)
    monkeypatch.setenv(auth.SECRET_ENV, SECRET)
    today = reporting_today()
    rows = []
    for back in range(1, 21):
        ts = dt.datetime.combine(today - dt.timedelta(days=back), dt.time(20), tzinfo=dt.UTC)  # noon in LA
        rows.append({"BilledCost": 100.0, "ProviderName": "Google Cloud", "ServiceName": "Compute Engine",
                     "ChargePeriodStart": ts})  # fmt: skip
        rows.append({"BilledCost": 50.0, "ProviderName": "Databricks", "ServiceName": "Jobs Compute",
                     "ChargePeriodStart": ts})  # fmt: skip
    lake = DuckDbLake(app_config.parent / "lake")
    seed_costs(lake, rows)
    evaluate(config.load(cfg), lake)
    return cfg


def evaluate(settings: Settings, lake: DuckDbLake) -> list[AlertState]:
    engine = AlertEngine.from_settings(settings, lake, notify=False)
    try:
        return engine.evaluate().alerts
    finally:
        engine.close()


def parts(cfg: Path) -> tuple[Settings, DuckDbLake, AlertStore]:
    settings = config.load(cfg)
    lake = DuckDbLake(settings.warehouse.path)
    return settings, lake, AlertStore(lake)


def firing_ids(store: AlertStore) -> set[str]:
    return {a.fingerprint for a in store.current() if a.state == State.firing}


def table(at: AppTest, index: int) -> pa.Table:
    titles = [s.value for s in at.subheader]
    assert titles[:2] == ["Pending and firing", "Silences"] and titles[3:5] == ["Alert history", "Auto-shutdown log"]
    return at.dataframe[index].value


def cli_run(cfg: Path, *args: str) -> Result:
    got = CliRunner().invoke(cli, ["--config", str(cfg), *args], catch_exceptions=False)
    assert got.exit_code == 0, got.output
    return got


# -- the query layer ---------------------------------------------------------------------------------------


def test_firing_now_lists_the_store_s_firing_alerts_only(lake_config: Path) -> None:
    settings, lake, store = parts(lake_config)
    current = store.current()
    assert {str(a.state) for a in current} == {"firing", "pending"}  # the `for: 1h` rule's alerts are pending
    got = q.firing_now(lake, settings)
    assert got.column_names == ["fingerprint", "name", "severity", "summary", "since"]
    assert set(got["fingerprint"].to_pylist()) == firing_ids(store) and got.num_rows == 2
    by_fp = {a.fingerprint: a for a in current}
    for row in got.to_pylist():
        alert = by_fp[row["fingerprint"]]
        assert (row["name"], row["severity"]) == ("BudgetExceeded", "critical")
        assert row["summary"] == alert.annotations["summary"] and row["since"] == alert.fired_at


def test_active_is_the_cli_alerts_list(lake_config: Path) -> None:
    settings, lake, store = parts(lake_config)
    got = q.active(lake, settings)
    listed = json.loads(cli_run(lake_config, "alerts", "list", "--format", "json").stdout)
    assert got.num_rows == 4
    assert got["id"].to_pylist() == [r["id"] for r in listed]
    assert got["state"].to_pylist() == [r["state"] for r in listed]
    assert set(got["id"].to_pylist()) == {a.fingerprint[:8] for a in store.current()}


def test_history_and_resolved_follow_the_date_range(lake_config: Path) -> None:
    settings, lake, store = parts(lake_config)
    today = reporting_today()
    # A budget alert that fired and resolved three days ago, written through AlertStore as the engine writes it.
    labels = {"alertname": "BudgetExceeded", "rule": "old-budget", "severity": "warning", "budget": "old"}
    fired = dt.datetime.combine(today - dt.timedelta(days=3), dt.time(18), tzinfo=dt.UTC)
    old = AlertState("0ld0a1e7f1a9e7a1", "old-budget", labels, {"summary": "old budget crossed"}, Severity.warning,
                     State.firing, active_since=fired, last_active=fired, fired_at=fired)  # fmt: skip
    store.append([event_row(old, "firing", fired, 0)])
    old.state, old.resolved_at = State.resolved, fired + dt.timedelta(hours=2)
    store.append([event_row(old, "resolved", old.resolved_at, 0)])

    week = q.resolved(lake, settings, today - dt.timedelta(days=7), today)
    assert week["id"].to_pylist() == ["0ld0a1e7"] and week["resolved_at"].to_pylist() == [old.resolved_at]
    assert q.resolved(lake, settings, today - dt.timedelta(days=1), today).num_rows == 0

    events = q.history(lake, settings, today - dt.timedelta(days=7), today).to_pylist()
    assert [(e["event"], e["at"]) for e in events if e["fingerprint"] == old.fingerprint] == [
        ("resolved", old.resolved_at), ("firing", fired)
    ]  # fmt: skip
    assert sum(e["event"] == "firing" for e in events) == 3  # the old one and the two firing now
    before = q.history(lake, settings, today - dt.timedelta(days=7), today - dt.timedelta(days=4))
    assert before.num_rows == 0


def test_silences_table_is_the_cli_s_plus_the_alerts_each_mutes(lake_config: Path) -> None:
    settings, lake, store = parts(lake_config)
    now = dt.datetime.now(dt.UTC)
    gcp = next(a for a in store.current() if a.labels["provider"] == "Google Cloud" and a.state == State.firing)
    mine = manage.add_silence(store, [f"budget={gcp.labels['budget']}", "rule=provider-month"], now=now,
                              duration=dt.timedelta(hours=2), author="kim", comment="known overrun")  # fmt: skip
    ended = manage.add_silence(store, ["provider=Databricks"], now=now, duration=dt.timedelta(hours=1),
                               author="lee", comment="done")  # fmt: skip
    manage.expire_silence(store, ended.id[:8], now)

    got = q.silences(lake, settings).to_pylist()
    listed = json.loads(cli_run(lake_config, "silence", "list", "--format", "json").stdout)
    assert [r["id"] for r in got] == [r["id"] for r in listed] == [mine.id]
    assert got[0]["matchers"] == f"budget={gcp.labels['budget']}, rule=provider-month"
    assert (got[0]["created_by"], got[0]["comment"], got[0]["active"]) == ("kim", "known overrun", True)
    assert got[0]["mutes"] == gcp.fingerprint[:8]
    every = {r["id"]: r for r in q.silences(lake, settings, True).to_pylist()}
    assert set(every) == {mine.id, ended.id} and every[ended.id]["mutes"] == ""
    assert every[ended.id]["expired_at"] is not None


def test_actions_split_dry_run_and_real_steps(lake_config: Path) -> None:
    settings, lake, _ = parts(lake_config)
    # Synthetic action_log rows written through the action engine's own writer: a real stop cannot happen here
    # (no cloud), so the executed and failed steps are made up; the columns are the ACTION_LOG schema's.
    at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    base = {"run_id": "r1", "action": "gce-stop", "platform": "gce", "project": "acme-ml", "location": "us-central1-a",
            "reason": None, "act_after": None, "evidence": "{}", "request": "instances.stop", "fingerprint": "f" * 16,
            "_day": at.date(), "_source": "alerts.actions"}  # fmt: skip
    steps = [("planned", True, "vm-a", 98.3), ("executed", False, "vm-b", 98.3), ("executed", False, "vm-c", 12.5),
             ("failed", False, "vm-d", 98.3), ("warned", False, "vm-e", None)]  # fmt: skip
    action_log.write(lake, [
        {**base, "at": at + dt.timedelta(seconds=i), "step": step, "dry_run": dry, "resource_id": name,
         "resource_name": name, "saving_usd_per_hour": saving}
        for i, (step, dry, name, saving) in enumerate(steps)
    ])  # fmt: skip
    today = reporting_today()
    span = (today - dt.timedelta(days=1), today)
    every = q.actions(lake, settings, *span)
    assert every.num_rows == 5 and every["resource_name"].to_pylist() == ["vm-e", "vm-d", "vm-c", "vm-b", "vm-a"]
    assert q.actions(lake, settings, *span, "dry-run")["resource_name"].to_pylist() == ["vm-a"]
    assert q.actions(lake, settings, *span, "real")["resource_name"].to_pylist() == ["vm-e", "vm-d", "vm-c", "vm-b"]
    summary = q.action_summary(lake, settings, *span)
    assert summary == {"dry_run": 1, "real": 4, "planned": 1, "executed": 2, "failed": 1,
                       "saving_usd_per_hour": pytest.approx(98.3 + 12.5)}  # fmt: skip
    assert q.actions(lake, settings, today - dt.timedelta(days=9), today - dt.timedelta(days=2)).num_rows == 0
    with pytest.raises(ValueError, match="mode"):
        q.actions(lake, settings, *span, "maybe")


# -- the page ------------------------------------------------------------------------------------------------


def test_page_lists_the_store_s_firing_alerts(lake_config: Path) -> None:
    _, _, store = parts(lake_config)
    at = sign_in(open_page("alerts"), "kim", SECRET)
    active = table(at, ACTIVE)
    assert set(active.loc[active["state"] == "firing", "id"]) == {fp[:8] for fp in firing_ids(store)}
    assert set(active.loc[active["state"] == "pending", "id"]) == {
        a.fingerprint[:8] for a in store.current() if a.state == State.pending
    }
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Firing"], metrics["Pending"]) == ("2", "2")
    assert [b.label for b in at.button if b.key and b.key.endswith("-submit")] == ["Acknowledge", "Add silence"]


def test_a_notification_link_opens_that_alert_s_events(lake_config: Path) -> None:
    """Notifications link to `{external_url}/alerts?fingerprint=<fp>`: the page shows that alert's events first."""
    _, _, store = parts(lake_config)
    fp = sorted(firing_ids(store))[0]
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["fingerprint"] = fp[:8]
    at.run()
    at.switch_page("dashboards/pages/alerts.py").run()
    assert not at.exception, at.exception
    [heading] = [h.value for h in at.subheader if h.value.startswith(f"Alert {fp[:8]}")]
    shown = at.dataframe[0].value
    assert (
        set(shown["fingerprint"]) == {fp}
        and len(shown) == store.history(dt.datetime.now(dt.UTC) - dt.timedelta(days=30), fp).num_rows
    )
    assert heading.endswith(shown["alertname"].iloc[0])


def test_ack_through_the_page_is_what_the_store_and_the_cli_see(lake_config: Path) -> None:
    _, _, store = parts(lake_config)
    target = next(a for a in store.current() if a.state == State.firing and a.labels["provider"] == "Databricks")
    at = sign_in(open_page("alerts"), "kim", SECRET)
    at.selectbox(key="ack-alert").set_value(target.fingerprint[:8])
    at.text_input(key="ack-comment").input("migration week, expected")
    at.button(key="ack-submit").click().run()
    assert not at.exception, at.exception
    assert any("Acked" in s.value and target.fingerprint[:8] in s.value for s in at.success)

    acked = {a.fingerprint: a for a in store.current()}[target.fingerprint]
    assert (acked.acked_by, acked.ack_comment) == ("kim", "migration week, expected")
    [event] = [e for e in store.history(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).to_pylist()
               if e["event"] == "acked"]  # fmt: skip
    assert (event["fingerprint"], event["author"], event["comment"]) == (target.fingerprint, "kim",
                                                                         "migration week, expected")  # fmt: skip
    listed = {r["id"]: r for r in json.loads(cli_run(lake_config, "alerts", "list", "--format", "json").stdout)}
    assert listed[target.fingerprint[:8]]["acked_by"] == "kim"
    active = table(at, ACTIVE).set_index("id")
    assert active.loc[target.fingerprint[:8], "acked_by"] == "kim"  # the rerun shows it, not a cached read


def test_ack_needs_a_comment(lake_config: Path) -> None:
    _, _, store = parts(lake_config)
    at = sign_in(open_page("alerts"), "kim", SECRET)
    at.button(key="ack-submit").click().run()
    assert any("Please fill in: comment" in e.value for e in at.error)
    assert all(a.acked_by is None for a in store.current())


@pytest.mark.integration
def test_silence_from_the_page_mutes_the_alert(lake_config: Path) -> None:
    settings, lake, store = parts(lake_config)
    firing = {a.labels["provider"]: a for a in store.current() if a.state == State.firing}
    muted, heard = firing["Google Cloud"], firing["Databricks"]
    at = sign_in(open_page("alerts"), "lee", SECRET)
    at.text_area(key="silence-matchers").input("provider=Google Cloud\nrule=~provider-.*\n")
    at.text_input(key="silence-for").input("3h")
    at.text_input(key="silence-comment").input("GCP credits cover it")
    at.button(key="silence-submit").click().run()
    assert not at.exception, at.exception

    [silence] = store.silences()
    assert [str(m) for m in silence.matchers] == ["provider=Google Cloud", "rule=~provider-.*"]
    assert (silence.created_by, silence.comment, silence.ends_at - silence.starts_at) == (
        "lee", "GCP credits cover it", dt.timedelta(hours=3)
    )  # fmt: skip
    shown = table(at, SILENCES)
    assert list(shown["id"]) == [silence.id]
    # The slow rule's pending Google Cloud alert matches too; the silence covers both.
    assert set(shown.loc[0, "mutes"].split(", ")) == {
        a.fingerprint[:8] for a in store.current() if a.labels["provider"] == "Google Cloud"
    }

    # The next evaluation, with a real webhook notifier on loopback, records the silence and sends only the other.
    receiver = HttpRecorder().start()
    try:
        data = settings.model_dump(by_alias=True, exclude={"source"})
        data["alerts"]["notifiers"] = {"hook": {"type": "webhook", "url": receiver.url + "/hook"}}
        engine = AlertEngine.from_settings(Settings.model_validate(data), lake)
        try:
            engine.evaluate()
        finally:
            engine.close()
    finally:
        receiver.stop()
    now = {a.fingerprint: a for a in store.current()}
    assert now[muted.fingerprint].silenced_by == silence.id and now[heard.fingerprint].silenced_by is None
    sent = {a["labels"]["provider"] for seen in receiver.seen for a in seen.json()["alerts"]}
    assert sent == {"Databricks"}
    assert any(a["labels"].get("budget") == heard.labels["budget"] for s in receiver.seen for a in s.json()["alerts"])


def test_expire_from_the_page_ends_the_silence(lake_config: Path) -> None:
    _, _, store = parts(lake_config)
    silence = manage.add_silence(store, ["provider=Databricks"], now=dt.datetime.now(dt.UTC),
                                 duration=dt.timedelta(hours=2), author="kim", comment="planned")  # fmt: skip
    at = sign_in(open_page("alerts"), "kim", SECRET)
    assert list(table(at, SILENCES)["id"]) == [silence.id]
    at.selectbox(key="expire-silence").set_value(silence.id)
    at.button(key="expire-submit").click().run()
    assert not at.exception, at.exception
    [expired] = store.silences()
    assert expired.id == silence.id and expired.expired_at is not None
    assert table(at, SILENCES).empty
    assert json.loads(cli_run(lake_config, "silence", "list", "--format", "json").stdout) == []


def test_read_only_mode_hides_the_forms(lake_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(auth.READONLY_ENV, "1")
    at = open_page("alerts")
    assert not [b for b in at.button if b.key and b.key.endswith("-submit")]
    assert not at.text_input and not at.text_area
    assert any("Read-only" in c.value for c in at.caption)
    assert len(table(at, ACTIVE)) == 4  # the tables are still there


# -- the demo --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_evaluated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`spendscope demo --days 14` then `spendscope alerts evaluate --once --no-notify` (the shipped rules)."""
    cfg = write_config(tmp_path_factory.mktemp("alerts_page_demo"))
    cli_run(cfg, "demo", "--days", "14")
    cli_run(cfg, "alerts", "evaluate", "--once", "--no-notify")
    yield cfg


def test_page_renders_the_demo_alerts(demo_evaluated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPENDSCOPE_CONFIG", str(demo_evaluated))
    monkeypatch.delenv(auth.READONLY_ENV, raising=False)
    at = open_page("alerts")
    listed = json.loads(cli_run(demo_evaluated, "alerts", "list", "--format", "json").stdout)
    assert listed, "the shipped rules fire on the demo"
    assert list(table(at, ACTIVE)["id"]) == [r["id"] for r in listed]
    settings, lake, _ = parts(demo_evaluated)
    firing = q.firing_now(lake, settings)
    assert set(firing["fingerprint"].to_pylist()) == {
        a.fingerprint for a in AlertStore(lake).current() if a.state == State.firing
    }
    assert {m.label: m.value for m in at.metric}["Firing"] == str(firing.num_rows)
