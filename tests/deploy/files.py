"""The deployment files we ship (docker/), loaded for the tests, and the container → repository path mapping
that docker/compose.yaml's bind mounts define (so a config can be checked with the files it will really see)."""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "compose.yaml"
PROMETHEUS_YML = DOCKER / "prometheus" / "prometheus.yml"
ALERTMANAGER_YML = DOCKER / "alertmanager" / "alertmanager.yml"
CONTAINER_TOML = DOCKER / "spendscope.toml"
ENV_EXAMPLE = DOCKER / ".env.example"
DASHBOARD_JSON = DOCKER / "grafana" / "dashboards" / "spendscope.json"
SPENDSCOPE_RULES = ROOT / "alerts" / "prometheus" / "spendscope-rules.yml"
PROMTOOL, AMTOOL = "/usr/bin/promtool", "/usr/bin/amtool"
SPENDSCOPE_SERVICES = ("spendscope", "dashboard")


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_yaml_docs(path: Path) -> list[Any]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


@cache
def compose() -> dict[str, Any]:
    """compose.yaml with its anchors and merge keys resolved (PyYAML applies `<<` as compose does)."""
    data: dict[str, Any] = load_yaml(COMPOSE)
    return data


def service(name: str) -> dict[str, Any]:
    svc: dict[str, Any] = compose()["services"][name]
    return svc


def bind_mounts(name: str) -> dict[PurePosixPath, Path]:
    """Container path → repository path of each bind mount of service `name` (named volumes left out)."""
    out: dict[PurePosixPath, Path] = {}
    for spec in service(name).get("volumes", []):
        source, target = spec.split(":")[:2]
        if source.startswith((".", "/")):
            out[PurePosixPath(target)] = (DOCKER / source).resolve()
    return out


def host_path(name: str, container_path: str) -> Path:
    """Where the file at `container_path` in service `name` comes from; AssertionError when nothing mounts it."""
    wanted = PurePosixPath(container_path)
    for target, source in sorted(bind_mounts(name).items(), key=lambda kv: -len(kv[0].parts)):
        if wanted == target or target in wanted.parents:
            return source / wanted.relative_to(target)
    raise AssertionError(f"{container_path} is not mounted into service {name}")


def tool_version(tool: str) -> tuple[int, ...]:
    """`promtool --version` / `amtool --version` as a tuple, e.g. (0, 25, 0)."""
    text = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=30).stdout
    m = re.search(r"version (\d+)\.(\d+)\.(\d+)", text)
    assert m, f"cannot read the version of {tool}: {text!r}"
    return tuple(int(x) for x in m.groups())


def run_tool(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120, cwd=cwd)
