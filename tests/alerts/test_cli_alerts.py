"""The alert CLI over a demo lake the engine has evaluated: list, ack, history, silences, actions, rules check,
evaluate — exit codes and what each prints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from alerts.engine import AlertEngine
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.cli import cli
from spendscope.config import Settings
from tests.alerts.conftest import Clock
from tests.alerts.test_end_to_end import IDLE

IDLE_RULE = {"name": "idle-shutdown", "type": "idle", "window": "30m", "windows": {"gce": "15m"}, "shutdown": True}


@pytest.fixture
def config(lake_copy: DuckDbLake, demo_settings: Settings, tmp_path: Path) -> Path:
    """A config over the evaluated lake copy: the idle rule (dry-run shutdown) inline, no rule files."""
    path = tmp_path / "spendscope.toml"
    path.write_text(
        f'home = "{tmp_path / "home"}"\n[warehouse]\npath = "{lake_copy.root}"\n[reporting]\ntimezone = "UTC"\n'
        "[alerts]\nrule_files = []\n[[alerts.rules]]\n"
        + "".join(f"{k} = {json.dumps(v) if not isinstance(v, dict) else _inline(v)}\n" for k, v in IDLE_RULE.items())
    )
    settings = Settings.model_validate({**demo_settings.model_dump(by_alias=True, exclude={"source"}),
                                        "warehouse": {"path": lake_copy.root},
                                        "alerts": {"rule_files": [], "rules": [IDLE_RULE]}})  # fmt: skip
    engine = AlertEngine.from_settings(settings, lake_copy, clock=Clock(IDLE))
    engine.evaluate()
    engine.close()  # the CLI below evaluates too: one evaluator at a time
    return path


def _inline(d: dict[str, str]) -> str:
    return "{" + ", ".join(f"{k} = {json.dumps(v)}" for k, v in d.items()) + "}"


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


def test_list_ack_and_history(config: Path) -> None:
    listed = run(config, "alerts", "list", "--format", "json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    [idle] = [r for r in rows if "a3-train-02" in r["labels"]]
    assert idle["state"] == "firing" and idle["alertname"] == "GpuIdle" and idle["acked_by"] is None
    acked = run(config, "alerts", "ack", idle["id"], "--comment", "fine-tuning restarts soon", "--author", "kim")
    assert acked.exit_code == 0 and "acked" in acked.output and "kim" in acked.output
    again = {r["id"]: r for r in json.loads(run(config, "alerts", "list", "--format", "json").stdout)}
    assert again[idle["id"]]["acked_by"] == "kim"
    history = json.loads(run(config, "alerts", "history", "--since", "30d", "--format", "json").stdout)
    assert {"firing", "acked"} <= {h["event"] for h in history}
    missing = run(config, "alerts", "ack", "ffffffff")
    assert missing.exit_code != 0 and "no pending or firing alert" in missing.output


def test_silence_add_list_expire(config: Path) -> None:
    added = run(config, "silence", "add", "--match", "cluster=a3-train-02", "--match", "severity=~warn.*",
                "--for", "2h", "--comment", "maintenance", "--author", "kim")  # fmt: skip
    assert added.exit_code == 0, added.output
    sid = added.output.split()[1]
    listed = json.loads(run(config, "silence", "list", "--format", "json").stdout)
    assert [s["id"] for s in listed] == [sid] and listed[0]["matchers"] == "cluster=a3-train-02, severity=~warn.*"
    assert run(config, "silence", "expire", sid[:8]).exit_code == 0
    assert json.loads(run(config, "silence", "list", "--format", "json").stdout) == []
    bad = run(config, "silence", "add", "--match", "cluster", "--comment", "x")
    assert bad.exit_code == 2 and "bad matcher" in bad.output


def test_actions_list_shows_the_dry_run_steps(config: Path) -> None:
    out = json.loads(run(config, "actions", "list", "--since", "30d", "--format", "json").stdout)
    steps = {(r["step"], r["resource_name"]) for r in out}
    assert ("marked", "a3-train-02") in steps and ("warned", "a3-train-02") in steps
    assert all(r["dry_run"] for r in out)


def test_rules_check_ok_and_error_with_line(config: Path, tmp_path: Path) -> None:
    ok = run(config, "rules", "check")
    assert ok.exit_code == 0 and "1 rule(s): 1 idle" in ok.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - name: x\n    type: budget\n    amount_usd: -5\n")
    got = run(config, "rules", "check", str(bad))
    assert got.exit_code == 2 and f"{bad}:4: rules[0] (x): amount_usd" in got.output


def test_evaluate_once_prints_summary_and_exits_zero(config: Path) -> None:
    got = run(config, "alerts", "evaluate", "--once", "--no-notify", "--format", "json")
    assert got.exit_code == 0, got.output
    assert "evaluated 1 rule(s)" in got.stderr
    json.loads(got.stdout)  # the table of current alerts is valid JSON
