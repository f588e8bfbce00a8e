"""The real BudgetServiceClient (REST transport) against the loopback Budget API stand-in (tests/gcp_budgets/
budget_api.py — not Google): the snapshot collector, `spendscope budgets list` and `spendscope budgets sync`.

The stand-in records every request: a dry run sends no write; --apply sends exactly the expected create and patch
bodies (the client sends enums as integers: `$alt=json;enum-encoding=int`) and never writes a budget that is not
named `spendscope:`; API errors exit 4 with one line; a missing or bad [gcp_budgets] exits 2.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from collectors.base import RunContext
from collectors.gcp_budgets.collector import GcpBudgetsCollector
from collectors.gcp_budgets.diff import beside
from collectors.gcp_budgets.plan import PlanInputs, plan
from collectors.gcp_budgets.sync import read_snapshot
from exporters.warehouse.duckdb import DuckDbLake
from spendscope import ingest
from spendscope.cli import cli
from spendscope.clock import fixed_clock
from spendscope.config import load
from spendscope.scheduler import Daemon
from tests.gcp_budgets import budget_api
from tests.gcp_budgets.budget_api import ACCOUNT, PAGE_TOKEN, PARENT, BudgetApi
from tests.gcp_budgets.scenario import NOT_OURS, RESEARCH, RETIRED, budget_rules, write_config
from tests.gcp_budgets.test_parse import parsed

pytestmark = pytest.mark.integration
ALT = "json;enum-encoding=int"  # what the REST client adds to every call
FORECAST, CURRENT = 2, 1  # ThresholdRule.Basis as the client sends it
MONTH, INCLUDE_ALL = 1, 1  # CalendarPeriod.MONTH, Filter.CreditTypesTreatment.INCLUDE_ALL_CREDITS


@pytest.fixture
def api() -> Iterator[BudgetApi]:
    with budget_api.serve() as stub:
        yield stub


@pytest.fixture
def cfg(tmp_path: Path, api: BudgetApi) -> Path:
    return write_config(tmp_path, api.url)


def run(cfg: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(cfg), *args])


def test_listing_follows_both_pages(api: BudgetApi, cfg: Path) -> None:
    result = run(cfg, "budgets", "list", "--format", "json")
    assert result.exit_code == 0, result.output
    assert [(s.method, s.path, s.query) for s in api.seen] == [
        ("GET", PARENT, {"$alt": ALT}),
        ("GET", PARENT, {"pageToken": PAGE_TOKEN, "$alt": ALT}),
    ]
    want = beside(plan(budget_rules(), PlanInputs(ACCOUNT)), list(parsed().values())).to_pylist()
    assert json.loads(result.stdout) == want  # ours (an empty lake: the rules' `amounts` groups) beside GCP's


def test_the_collector_snapshots_every_budget_and_a_later_sync_replaces_the_day(api: BudgetApi, tmp_path: Path) -> None:
    settings = load(str(write_config(tmp_path, api.url)))
    lake = DuckDbLake(settings.warehouse.path)
    at = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
    collector = GcpBudgetsCollector(settings.gcp_budgets, client=budget_api.client(api))
    ingest.run(collector, RunContext(settings, lake, clock=fixed_clock(at)))
    snap = read_snapshot(lake, ACCOUNT)
    assert snap.synced_at == at
    assert list(snap.budgets) == sorted(parsed().values(), key=lambda b: (b.display_name, b.name))
    api.budgets = api.budgets[:1]  # five budgets deleted in GCP since
    later = at + dt.timedelta(hours=6)
    ingest.run(collector, RunContext(settings, lake, clock=fixed_clock(later)))
    assert [b.name for b in read_snapshot(lake, ACCOUNT).budgets] == [RESEARCH]
    assert lake.query("SELECT COUNT(*) AS n FROM gcp_budgets").column("n")[0].as_py() == 1  # the day replaced whole
    api.budgets = []
    ingest.run(collector, RunContext(settings, lake, clock=fixed_clock(later + dt.timedelta(hours=1))))
    empty = read_snapshot(lake, ACCOUNT)
    assert (empty.synced_at, empty.budgets) == (later + dt.timedelta(hours=1), ())  # an empty account, not stale rows


def test_dry_run_prints_the_diff_and_sends_no_write(api: BudgetApi, cfg: Path) -> None:
    result = run(cfg, "budgets", "sync")
    assert result.exit_code == 0, result.output
    assert api.writes() == [] and {s.method for s in api.seen} == {"GET"}
    lines = result.output.splitlines()
    assert "~ update spendscope:team-monthly/ml-research (" + RESEARCH + "):" in lines
    assert "    amount: 15,000.00 USD → 20,000.00 USD" in lines
    assert "    threshold_rules: 70%, 90% → 70%, 90%, 70% forecast, 90% forecast" in lines
    assert "= unchanged spendscope:project-monthly/acme-ml-prod" in lines
    assert ("+ create spendscope:gce-monthly: 20,000.00 USD; MONTH; services: Compute Engine; "
            "credits INCLUDE_ALL_CREDITS; thresholds 90%") in lines  # fmt: skip
    assert f"? spendscope:retired-rule ({RETIRED}): no budget rule maps to it now; left as it is" in lines
    assert "- not synced dbx-monthly: platform databricks: not a GCP service (GCP budgets see GCP spend only)" in lines
    assert lines[-1] == ("dry run: 2 to create, 1 to update, 1 unchanged, 0 conflict(s), 2 not synced; "
                         "nothing was changed (--apply to apply)")  # fmt: skip
    assert not (cfg.parent / "lake" / "gcp_budgets").exists()  # a dry run writes nothing anywhere


def test_apply_sends_exactly_the_expected_creates_and_patch(api: BudgetApi, cfg: Path) -> None:
    result = run(cfg, "budgets", "sync", "--apply")
    assert result.exit_code == 0, result.output
    writes = api.writes()
    assert [(w.method, w.path, w.query) for w in writes] == [
        ("POST", PARENT, {"$alt": ALT}),
        ("PATCH", "/v1/" + RESEARCH, {"updateMask": "amount,thresholdRules", "$alt": ALT}),
        ("POST", PARENT, {"$alt": ALT}),
    ]
    thresholds = [{"thresholdPercent": p, "spendBasis": b} for b in (CURRENT, FORECAST) for p in (0.7, 0.9)]
    assert writes[0].body == {
        "displayName": "spendscope:team-monthly/ml-platform",
        "budgetFilter": {"labels": {"team": ["ml-platform"]}, "calendarPeriod": MONTH,
                         "creditTypesTreatment": INCLUDE_ALL},
        "amount": {"specifiedAmount": {"currencyCode": "USD", "units": "15000"}},
        "thresholdRules": thresholds,
    }  # fmt: skip
    assert writes[1].body == {  # the name travels in the path only; the etag refuses a budget changed since read
        "etag": "6f1d3c0a9b8e7d21",
        "amount": {"specifiedAmount": {"currencyCode": "USD", "units": "20000"}},
        "thresholdRules": thresholds,
    }
    assert writes[2].body == {
        "displayName": "spendscope:gce-monthly",
        "budgetFilter": {"services": ["services/6F81-5844-456A"], "calendarPeriod": MONTH,
                         "creditTypesTreatment": INCLUDE_ALL},
        "amount": {"specifiedAmount": {"currencyCode": "USD", "units": "20000"}},
        "thresholdRules": [{"thresholdPercent": 0.9, "spendBasis": CURRENT}],
    }  # fmt: skip
    assert "applied: 2 created, 1 updated" in result.output
    assert "snapshot: 8 budget(s) recorded in gcp_budgets" in result.output
    research = next(b for b in api.budgets if b["name"] == RESEARCH)
    assert research["notificationsRule"]  # a field outside the mask is left as it was


def test_apply_never_writes_a_budget_that_is_not_ours_and_a_second_sync_has_nothing_to_do(
    api: BudgetApi, cfg: Path
) -> None:
    assert run(cfg, "budgets", "sync", "--apply").exit_code == 0
    written = {w.path.removeprefix("/v1/") for w in api.writes() if w.method == "PATCH"}
    assert written == {RESEARCH} and not written & (NOT_OURS | {RETIRED})
    api.seen.clear()
    again = run(cfg, "budgets", "sync", "--apply")
    assert again.exit_code == 0, again.output
    assert api.writes() == []
    assert "applied: 0 created, 0 updated" in again.output
    assert sum(line.startswith("= unchanged") for line in again.output.splitlines()) == 4


def test_the_cached_list_reads_the_snapshot_without_calling_the_api(api: BudgetApi, cfg: Path) -> None:
    missing = run(cfg, "budgets", "list", "--cached")
    assert missing.exit_code == 2 and "no snapshot yet" in missing.output
    assert run(cfg, "collect", "gcp-budgets").exit_code == 0
    api.seen.clear()
    result = run(cfg, "budgets", "list", "--cached", "--format", "json")
    assert result.exit_code == 0, result.output
    assert api.seen == []
    assert {r["gcp_budget"] for r in json.loads(result.stdout)} >= {"Finance: whole account", "GPU project FY26"}


DENIED = "failed: HTTP 403 PERMISSION_DENIED: caller lacks billing.budgets.list"


@pytest.mark.parametrize(
    ("method", "args", "expect"),
    [
        ("GET", ["budgets", "list"], f"listing the budgets of billingAccounts/{ACCOUNT} {DENIED}"),
        ("POST", ["budgets", "sync", "--apply"], f"creating budget 'spendscope:team-monthly/ml-platform' {DENIED}"),
    ],
)
def test_an_api_error_exits_4_with_one_line(
    api: BudgetApi, cfg: Path, method: str, args: list[str], expect: str
) -> None:
    api.fail[method] = (403, "PERMISSION_DENIED", "caller lacks billing.budgets.list")
    result = run(cfg, *args)
    assert result.exit_code == 4, result.output
    assert f"error: the Cloud Billing Budget API: {expect}" in result.output
    assert "Traceback" not in result.output
    if method == "POST":
        assert "(applied 0 of 3 change(s) before it)" in result.output
        assert [w.method for w in api.writes()] == ["POST"]  # it stopped at the first failure


def test_an_unreachable_endpoint_exits_4(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, "http://127.0.0.1:9")  # the discard port: nothing listens there
    result = run(cfg, "budgets", "list")
    assert result.exit_code == 4, result.output
    assert "error: the Cloud Billing Budget API: listing the budgets of" in result.output


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("", "gcp_budgets.billing_account is not set"),
        ('[gcp_budgets]\nbilling_account = "not-an-account"\n', "gcp_budgets.billing_account: Value error, "
                                                                "'not-an-account' is not a billing account ID"),
        ("[gcp_budgets]\nenabled = true\n", "enabled = true needs billing_account"),
    ],
)  # fmt: skip
def test_a_missing_or_bad_section_exits_2(tmp_path: Path, section: str, message: str) -> None:
    cfg = tmp_path / "spendscope.toml"
    cfg.write_text(f'[warehouse]\npath = "{tmp_path}/lake"\n{section}')
    result = run(cfg, "budgets", "sync")
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_the_daemon_schedules_the_snapshot_from_the_section(tmp_path: Path, api: BudgetApi) -> None:
    extra = "enabled = true\ninterval_minutes = 720\n"
    settings = load(str(write_config(tmp_path, api.url, extra)))
    daemon = Daemon(settings, DuckDbLake(settings.warehouse.path))
    assert daemon.jobs["gcp-budgets"].interval_minutes == 720
    assert daemon.run_job("gcp-budgets")
    assert len(read_snapshot(DuckDbLake(settings.warehouse.path), ACCOUNT).budgets) == 6
