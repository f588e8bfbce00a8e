"""docker/prometheus/: the real promtool accepts prometheus.yml with exactly the files compose mounts, loads our
rule files, reads the file_sd target lists; the deployment's own alerts are unit-tested with `promtool test rules`."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.deploy.files import (
    DOCKER,
    PROMETHEUS_YML,
    PROMTOOL,
    host_path,
    load_yaml,
    run_tool,
    service,
)

DEPLOY_RULES = DOCKER / "prometheus" / "rules" / "deploy.yml"
RULE_TESTS = sorted((Path(__file__).parent / "promtool").glob("*_test.yml"))
CONTAINER_PATH = re.compile(r"(/etc/prometheus/[\w./-]+)")


def config() -> dict:
    return load_yaml(PROMETHEUS_YML)


def resolved_config(tmp_path: Path) -> Path:
    """prometheus.yml with every container path replaced by the repository file compose mounts there."""
    text = PROMETHEUS_YML.read_text(encoding="utf-8")
    paths = set(CONTAINER_PATH.findall(text))
    assert paths, "prometheus.yml names no rule or target file"
    for path in sorted(paths, key=len, reverse=True):
        text = text.replace(path, str(host_path("prometheus", path)))
    out = tmp_path / "prometheus.yml"
    out.write_text(text, encoding="utf-8")
    return out


def test_compose_runs_prometheus_with_this_config_file() -> None:
    command = service("prometheus")["command"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in command
    assert host_path("prometheus", "/etc/prometheus/prometheus.yml") == PROMETHEUS_YML


def test_scrapes_spendscope_dcgm_and_node_exporter_and_alerts_to_alertmanager() -> None:
    cfg = config()
    jobs = {job["job_name"]: job for job in cfg["scrape_configs"]}
    assert {"spendscope", "dcgm", "node"} <= set(jobs)
    daemon_port = 9464
    assert jobs["spendscope"]["static_configs"][0]["targets"] == [f"spendscope:{daemon_port}"]
    assert f"{daemon_port}" in service("spendscope")["expose"]
    for job in ("dcgm", "node"):
        files = [f for sd in jobs[job]["file_sd_configs"] for f in sd["files"]]
        targets = [t for f in files for group in load_yaml(host_path("prometheus", f)) for t in group["targets"]]
        assert targets, f"{job}: no target in {files}"
        assert all(re.fullmatch(r"[\w.-]+:\d+", t) for t in targets), targets
    dcgm = load_yaml(host_path("prometheus", "/etc/prometheus/targets/dcgm.yml"))
    assert dcgm[0]["targets"] == ["dcgm-exporter:9400"]  # the compose service (--profile gpu)
    am = cfg["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert am == ["alertmanager:9093"]
    assert "--web.listen-address=:9093" in service("alertmanager")["command"]


def test_rule_files_are_ours_and_mounted_from_the_repository() -> None:
    rule_files = config()["rule_files"]
    sources = {host_path("prometheus", f) for f in rule_files}
    assert sources == {(DOCKER.parent / "alerts" / "prometheus" / "spendscope-rules.yml").resolve(), DEPLOY_RULES}


def test_the_dcgm_job_is_the_one_the_container_config_reads_back() -> None:
    """spendscope's `prometheus` collector selects job="dcgm": the scrape job must carry that name."""
    import tomllib

    toml = tomllib.loads((DOCKER / "spendscope.toml").read_text(encoding="utf-8"))
    assert toml["collectors"]["prometheus"]["selector"] == 'job="dcgm"'
    assert toml["collectors"]["prometheus"]["url"] == "http://prometheus:9090"
    assert "--web.listen-address=:9090" in service("prometheus")["command"]


@pytest.mark.integration
def test_promtool_accepts_the_config_with_its_rules_and_target_files(tmp_path: Path) -> None:
    assert shutil.which(PROMTOOL), "promtool (Debian package prometheus) must be installed"
    result = run_tool(PROMTOOL, "check", "config", resolved_config(tmp_path))
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "SUCCESS: 2 rule files found" in out
    assert "WARNING" not in out, out  # e.g. a file_sd file that does not exist


@pytest.mark.integration
def test_promtool_rejects_a_broken_target_file(tmp_path: Path) -> None:
    """The check is not vacuous: promtool reads the file_sd lists compose mounts."""
    cfg = resolved_config(tmp_path)
    targets = tmp_path / "targets"
    shutil.copytree(DOCKER / "prometheus" / "targets", targets)
    (targets / "node.yml").write_text("- targets: [host.docker.internal:9100\n", encoding="utf-8")
    text = cfg.read_text(encoding="utf-8").replace(str(DOCKER / "prometheus" / "targets"), str(targets))
    cfg.write_text(text, encoding="utf-8")
    result = run_tool(PROMTOOL, "check", "config", cfg)
    assert result.returncode != 0
    assert "node.yml" in result.stdout + result.stderr


@pytest.mark.integration
def test_promtool_accepts_the_deployment_rules() -> None:
    result = run_tool(PROMTOOL, "check", "rules", DEPLOY_RULES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 4 rules found" in result.stdout


@pytest.mark.integration
def test_the_deployment_rules_pass_their_promtool_unit_tests() -> None:
    assert RULE_TESTS
    result = run_tool(PROMTOOL, "test", "rules", *RULE_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULE_TESTS)


def test_every_deployment_alert_is_made_to_fire_by_a_promtool_test() -> None:
    alerts = {r["alert"] for g in load_yaml(DEPLOY_RULES)["groups"] for r in g["rules"]}
    fired = {
        case["alertname"]
        for path in RULE_TESTS
        for test in load_yaml(path)["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert alerts == fired
