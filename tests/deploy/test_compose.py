"""docker/compose.yaml, checked for structure (no Docker engine in the tests): the services, non-root and
read-only spendscope containers, secrets only from the env file or secret files, the lake on a named volume
where the container config puts it, healthchecks, loopback-only ports, pinned images."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest

from tests.deploy.files import (
    CONTAINER_TOML,
    DOCKER,
    ROOT,
    SPENDSCOPE_SERVICES,
    compose,
    host_path,
    service,
)

SECRETISH = re.compile(r"(?i)(pass(word)?|secret|token|api_?key|credential|private)")
LONG_RUNNING = ("spendscope", "dashboard", "prometheus", "alertmanager", "grafana", "node-exporter")


def container_config() -> dict[str, Any]:
    return tomllib.loads(CONTAINER_TOML.read_text(encoding="utf-8"))


def environment(name: str) -> dict[str, str]:
    env = service(name).get("environment", {})
    assert isinstance(env, dict), f"{name}: environment as a mapping"
    return {str(k): str(v) for k, v in env.items()}


def test_services_present() -> None:
    assert set(compose()["services"]) == {
        "spendscope", "dashboard", "prometheus", "alertmanager", "grafana", "node-exporter", "dcgm-exporter",
    }  # fmt: skip
    assert service("dcgm-exporter")["profiles"] == ["gpu"]  # only on a GPU host


def test_daemon_and_dashboard_share_one_image_with_different_commands() -> None:
    daemon, dash = service("spendscope"), service("dashboard")
    assert daemon["image"] == dash["image"] == "spendscope:${SPENDSCOPE_VERSION:-0.1.0}"
    assert daemon["build"] == dash["build"] == {"context": "..", "dockerfile": "docker/Dockerfile"}
    assert (DOCKER / daemon["build"]["context"] / daemon["build"]["dockerfile"]).resolve() == DOCKER / "Dockerfile"
    assert daemon["command"] == ["spendscope", "run"]
    assert dash["command"][:5] == ["python", "-m", "streamlit", "run", "/opt/spendscope/app.py"]


@pytest.mark.parametrize("name", SPENDSCOPE_SERVICES)
def test_spendscope_containers_run_hardened_as_non_root(name: str) -> None:
    svc = service(name)
    uid, _, gid = svc["user"].partition(":")
    assert int(uid) >= 1000 and int(gid) >= 1000
    assert svc["read_only"] is True
    assert svc["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in svc["security_opt"]
    assert svc["init"] is True
    # the read-only root filesystem leaves /tmp (HOME, DuckDB's spill folder) to a writable volume
    assert any(v.split(":")[1] == "/tmp" for v in svc["volumes"])


def test_every_service_runs_as_a_non_root_user_except_the_gpu_exporter() -> None:
    for name, svc in compose()["services"].items():
        if name == "dcgm-exporter":  # DCGM needs root and SYS_ADMIN for the profiling counters
            continue
        assert "user" in svc and not svc["user"].startswith(("0:", "root")) and svc["user"] != "0", name
        assert svc["read_only"] is True, name


def test_no_secret_literal_in_any_environment() -> None:
    for name in compose()["services"]:
        for key, value in environment(name).items():
            if SECRETISH.search(key):
                # only pointers to mounted secret files (FOO_FILE / FOO__FILE = /run/secrets/...)
                assert key.endswith("_FILE") and value.startswith("/run/secrets/"), f"{name}: {key}"


def test_secrets_come_from_the_env_file_or_secret_files() -> None:
    assert service("spendscope")["env_file"] == [".env"]
    for name in set(compose()["services"]) - {"spendscope"}:
        assert "env_file" not in service(name), f"{name} must not get the daemon's secrets"
    declared = compose()["secrets"]
    readme = (DOCKER / "secrets" / "README.md").read_text(encoding="utf-8")
    for secret, spec in declared.items():
        assert spec == {"file": f"./secrets/{secret}"}, secret
        assert f"`{secret}`" in readme, f"docker/secrets/README.md does not describe {secret}"
    used = {s for svc in compose()["services"].values() for s in svc.get("secrets", [])}
    assert used == set(declared)
    ignore = (DOCKER / ".gitignore").read_text(encoding="utf-8").split()
    assert ".env" in ignore and "secrets/*" in ignore


def test_the_lake_is_a_named_volume_at_the_configured_warehouse_path() -> None:
    cfg = container_config()
    lake_path = cfg["warehouse"]["path"]
    assert cfg["warehouse"]["engine"] == "duckdb"
    assert "lake" in compose()["volumes"]
    for name in SPENDSCOPE_SERVICES:
        mounts = dict(v.split(":")[:2] for v in service(name)["volumes"])
        assert lake_path == mounts["lake"] or lake_path.startswith(mounts["lake"] + "/"), name
        assert cfg["home"] == mounts["lake"]
    assert "prometheus-data" in dict(v.split(":")[:2] for v in service("prometheus")["volumes"])
    assert "alertmanager-data" in dict(v.split(":")[:2] for v in service("alertmanager")["volumes"])


@pytest.mark.parametrize("name", SPENDSCOPE_SERVICES)
def test_spendscope_containers_read_the_container_config(name: str) -> None:
    env = environment(name)
    assert host_path(name, env["SPENDSCOPE_CONFIG"]) == CONTAINER_TOML
    assert any(v.endswith(":ro") and CONTAINER_TOML.name in v for v in service(name)["volumes"])


def test_exporter_and_dashboard_listen_where_compose_expects_them() -> None:
    cfg = container_config()
    assert cfg["exporters"]["prometheus"]["host"] == "0.0.0.0"  # reachable by Prometheus in another container
    assert service("spendscope")["expose"] == [str(cfg["exporters"]["prometheus"]["port"])]
    port = cfg["app"]["port"]
    assert f"--server.port={port}" in service("dashboard")["command"]
    assert "--server.address=0.0.0.0" in service("dashboard")["command"]
    assert service("dashboard")["ports"] == [f"127.0.0.1:{port}:{port}"]


def test_healthchecks_on_every_long_running_service() -> None:
    for name in LONG_RUNNING:
        check = service(name)["healthcheck"]
        assert check["test"][0] in {"CMD", "CMD-SHELL"}, name
        assert {"interval", "timeout", "retries"} <= set(check), name
    assert service("spendscope")["healthcheck"]["test"] == ["CMD", "spendscope", "healthcheck", "--target", "daemon"]
    assert service("dashboard")["healthcheck"]["test"] == [
        "CMD", "spendscope", "healthcheck", "--target", "dashboard",
    ]  # fmt: skip
    assert environment("dashboard")["SPENDSCOPE_HEALTHCHECK_TARGET"] == "dashboard"


def test_start_order_waits_for_health() -> None:
    for name, svc in compose()["services"].items():
        for dep, cond in svc.get("depends_on", {}).items():
            assert cond == {"condition": "service_healthy"}, f"{name} -> {dep}"
            assert "healthcheck" in service(dep), f"{name} waits on {dep}, which has no healthcheck"
    assert set(service("dashboard")["depends_on"]) == {"spendscope"}
    assert set(service("spendscope")["depends_on"]) == {"alertmanager", "prometheus"}


def test_published_ports_are_loopback_only() -> None:
    for name, svc in compose()["services"].items():
        for port in svc.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port}"


def test_restart_policy_logging_and_pinned_images() -> None:
    for name, svc in compose()["services"].items():
        assert svc["restart"] == "unless-stopped", name
        assert svc["logging"]["options"]["max-size"], name
        image = svc["image"]
        tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
        assert tag and tag != "latest", f"{name}: pin the image ({image})"


def test_daemon_gets_time_to_finish_its_writes_on_stop() -> None:
    assert service("spendscope")["stop_grace_period"] == "60s"


def test_bind_mounts_exist_in_the_repository() -> None:
    for name, svc in compose()["services"].items():
        for spec in svc.get("volumes", []):
            source = spec.split(":")[0]
            if source.startswith("."):
                assert (DOCKER / source).resolve().exists(), f"{name}: {source}"
                assert ROOT in (DOCKER / source).resolve().parents, f"{name}: {source} is outside the repository"
