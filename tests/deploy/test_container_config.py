"""The spendscope configs we ship for containers validate with the real CLI (`spendscope config check`), their
commented examples too once uncommented, and docker/.env.example lists every secret variable they name, empty."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from pydantic import BaseModel

from spendscope.config import Settings, parse
from tests.deploy.files import CONTAINER_TOML, DOCKER, ENV_EXAMPLE, load_yaml_docs

SPENDSCOPE = Path(sys.executable).with_name("spendscope")
SECRETISH = re.compile(r"(?i)(pass(word)?|secret|token|api_?key|credential|private)")
TOML_LINE = re.compile(r"^# (\[\[?[\w.]+\]\]?|[A-Za-z_]\w* = .+)$")


def config_check(path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPENDSCOPE_")}
    return subprocess.run(
        [str(SPENDSCOPE), "--config", str(path), "config", "check"],
        capture_output=True, text=True, timeout=120, env=env, cwd="/",
    )  # fmt: skip


def uncommented(text: str) -> str:
    """The file with its commented-out TOML examples (`# [section]`, `# key = value`) switched on."""
    return "\n".join(line[2:] if TOML_LINE.match(line) else line for line in text.splitlines()) + "\n"


def env_names(settings: BaseModel) -> set[str]:
    """Every environment variable a `*_env` key names, switched on or not, defaults included."""
    out: set[str] = set()
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if name.endswith("_env") and isinstance(value, str) and value:
            out.add(value)
        elif isinstance(value, BaseModel):
            out |= env_names(value)
        elif isinstance(value, dict):
            out |= {n for v in value.values() if isinstance(v, BaseModel) for n in env_names(v)}
    return out


def env_example() -> dict[str, str]:
    pairs = [line.split("=", 1) for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
             if line and not line.startswith("#")]  # fmt: skip
    return {k: v for k, v in pairs}


def gke_toml(tmp_path: Path) -> Path:
    (cm,) = load_yaml_docs(DOCKER / "gke" / "configmap.yaml")
    path = tmp_path / "gke.toml"
    path.write_text(cm["data"]["spendscope.toml"], encoding="utf-8")
    return path


def test_spendscope_config_check_accepts_the_container_config() -> None:
    res = config_check(CONTAINER_TOML)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(f"ok: {CONTAINER_TOML}; engine=duckdb; collectors enabled: prometheus, network")


def test_config_check_catches_a_broken_copy(tmp_path: Path) -> None:
    """Not vacuous: a typo in a key of the same file exits 2 naming it."""
    bad = tmp_path / "spendscope.toml"
    bad.write_text(CONTAINER_TOML.read_text(encoding="utf-8").replace("max_per_hour", "max_per_hours"))
    res = config_check(bad)
    assert res.returncode == 2 and "max_per_hours" in res.stderr


def test_the_commented_examples_validate_once_switched_on() -> None:
    text = CONTAINER_TOML.read_text(encoding="utf-8")
    on = uncommented(text)
    assert on != text
    settings = parse(on, "docker/spendscope.toml (examples on)")
    assert settings.collectors.gcp_billing.enabled and settings.collectors.databricks.enabled
    assert settings.report.enabled and settings.report.smtp.password_env == "SMTP_PASSWORD"


def test_the_container_config_is_what_a_container_needs() -> None:
    s = parse(CONTAINER_TOML.read_text(encoding="utf-8"))
    assert s.exporters.prometheus.enabled and s.exporters.prometheus.host == "0.0.0.0"
    assert s.warehouse.path.startswith(s.home + "/")
    assert s.alerts.actions.dry_run is True  # nothing is stopped until an operator says so
    assert not s.collectors.network.local  # a container's own interfaces are the compose bridge


def test_env_example_lists_every_secret_variable_empty() -> None:
    listed = env_example()
    on = parse(uncommented(CONTAINER_TOML.read_text(encoding="utf-8")))
    named = env_names(on) | env_names(parse(CONTAINER_TOML.read_text(encoding="utf-8")))
    assert named, "the configs name no secret variable?"
    assert named - set(listed) == set()
    secret = {k: v for k, v in listed.items() if SECRETISH.search(k)}
    assert secret and all(v == "" for v in secret.values()), "secret values stay empty in the example"


def test_gke_config_validates_and_uses_bigquery(tmp_path: Path) -> None:
    path = gke_toml(tmp_path)
    res = config_check(path)
    assert res.returncode == 0, res.stderr
    assert "engine=bigquery" in res.stdout
    s: Settings = parse(path.read_text(encoding="utf-8"))
    # the billing collectors are CronJobs: the daemon must not schedule them as well
    assert not s.collectors.gcp_billing.enabled and s.collectors.gcp_billing.export_table
    assert not s.collectors.databricks.enabled and s.collectors.databricks.host
    # the daemon runs the inventory: auto-shutdown checks that job's health before acting
    assert s.collectors.inventory.enabled and s.collectors.prometheus.enabled
    assert not s.gcp_budgets.enabled and s.gcp_budgets.billing_account  # `collect gcp-budgets` needs the account
    assert s.alerts.actions.dry_run is True
