"""Action config: the YAML examples in the action docstrings validate, and `from_settings` builds clients lazily.

The Databricks end-to-end case uses the REAL databricks-sdk WorkspaceClient, built by the action from config,
against a local HTTP stand-in (not Databricks) that checks the exact requests.
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts.actions.base import Action
from alerts.actions.config import ActionsConfig
from alerts.actions.databricks import DatabricksTerminate
from alerts.actions.engine import ActionEngine
from alerts.actions.gce import GceStop
from alerts.actions.gke import GkeResizeZero
from spendscope.config import Settings
from tests.alerts.actions.conftest import (
    DBX_CLUSTER,
    T0,
    TOKEN_ENV,
    alert,
    calls,
    dbx_cluster,
    dbx_resource,
    gce_resource,
    gke_resource,
)
from tests.inventory.api_stub import ApiStub
from tests.inventory.conftest import TOKEN

ACTIONS: list[type[Action]] = [DatabricksTerminate, GceStop, GkeResizeZero]
LATER = T0 + dt.timedelta(minutes=31)


def yaml_example(cls: type) -> dict[str, Any]:
    found = re.findall(r"```yaml\n(.*?)```", inspect.getdoc(cls) or "", re.S)
    assert len(found) == 1, f"{cls.__name__} needs exactly one ```yaml example"
    doc: dict[str, Any] = yaml.safe_load(found[0])
    return doc


def make_settings(tmp_path: Path, **sections: Any) -> Settings:
    return Settings.model_validate(
        {"home": str(tmp_path / "home"), "warehouse": {"path": str(tmp_path / "lake")}, **sections}
    )


@pytest.mark.parametrize("cls", ACTIONS, ids=lambda c: c.name)
def test_docstring_yaml_example_validates(cls: type[Action], tmp_path: Path) -> None:
    doc = yaml_example(cls)
    settings = make_settings(tmp_path, **doc)
    cfg = settings.alerts.actions
    assert cfg == ActionsConfig.model_validate(doc["alerts"]["actions"])
    assert cfg.dry_run is False  # each example shows a live setup
    assert set(doc["alerts"]["actions"]) <= set(ActionsConfig.model_fields)


def test_unknown_action_setting_is_rejected() -> None:
    with pytest.raises(ValueError, match="dryrun"):
        ActionsConfig.model_validate({"dryrun": False})


def test_from_settings_uses_the_databricks_collector_host(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, collectors={"databricks": {"host": "https://1234.5.gcp.databricks.com",
                                                                  "token_env": "DBX_PAT"}})  # fmt: skip
    engine = ActionEngine.from_settings(settings, wh=None)  # type: ignore[arg-type]
    dbx = engine.actions["databricks"]
    assert isinstance(dbx, DatabricksTerminate)
    assert (dbx.host, dbx.token_env) == ("https://1234.5.gcp.databricks.com", "DBX_PAT")
    assert sorted(engine.actions) == ["databricks", "gce", "gke"] and engine.cfg.dry_run is True


def test_dry_run_from_settings_builds_no_client(tmp_path: Path, lake: Any, ctx_at: Any) -> None:
    """Default config, all three platforms: planned steps, and no client was ever constructed (no credentials)."""
    settings = make_settings(tmp_path, alerts={"actions": {"max_per_run": 3}})  # default 2 would hold one back
    engine = ActionEngine.from_settings(settings, lake)
    resources = [dbx_resource(), gce_resource(), gke_resource()]
    ActionEngine.from_settings(settings, lake).run(ctx_at(T0), [alert(r, T0) for r in resources])
    run = engine.run(ctx_at(LATER), [alert(r, LATER) for r in resources])
    assert sorted(r["action"] for r in run.records if r["step"] == "planned") == [
        "databricks-terminate", "gce-stop", "gke-resize-zero"
    ]  # fmt: skip
    assert all(a._client is None for a in engine.actions.values())  # type: ignore[attr-defined]


def test_live_databricks_client_built_from_config(
    api: ApiStub, tmp_path: Path, lake: Any, ctx_at: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    api.route("GET", "/api/2.1/clusters/get", dbx_cluster(), (("cluster_id", DBX_CLUSTER),))
    api.route("POST", "/api/2.1/clusters/delete", {})
    settings = make_settings(
        tmp_path, alerts={"actions": {"dry_run": False, "databricks_host": api.url, "databricks_token_env": TOKEN_ENV}}
    )
    ActionEngine.from_settings(settings, lake).run(ctx_at(T0), [alert(dbx_resource(), T0)])
    run = ActionEngine.from_settings(settings, lake).run(ctx_at(LATER), [alert(dbx_resource(), LATER)])
    assert [r["step"] for r in run.records] == ["executed"]
    assert calls(api, "/api/")[-1] == ("POST", "/api/2.1/clusters/delete", (), {"cluster_id": DBX_CLUSTER})
    assert api.problems == []
