"""docker/Dockerfile and .dockerignore, checked without a Docker engine: a slim Python base, a non-root user,
no secret in the image, a HEALTHCHECK through `spendscope healthcheck`; the build context carries what the
image needs and none of the local state. The install step itself is replayed here: the context (as
.dockerignore filters it) is copied to a temporary /opt/spendscope and installed the way the Dockerfile does,
into a fresh virtual environment that borrows the test environment's dependencies; the Dockerfile's own path
check, `spendscope config check` and compose's dashboard command (loaded in headless Chromium) run from it."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.deploy.dockerignore import excluded, repository_files
from tests.deploy.files import DOCKER, ROOT, service

DOCKERFILE = DOCKER / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
SECRETISH = re.compile(r"(?i)(pass(word)?|secret|token|api_?key|credential|private)")


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    current = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        op, _, args = current.partition(" ")
        out.append((op.upper(), args.strip()))
        current = ""
    return out


def args_of(op: str) -> list[str]:
    return [a for o, a in instructions() if o == op]


def env_vars() -> dict[str, str]:
    out: dict[str, str] = {}
    for args in args_of("ENV"):
        for item in shlex.split(args):
            key, _, value = item.partition("=")
            out[key] = value
    return out


def test_one_slim_python_base() -> None:
    assert args_of("FROM") == ["python:3.11-slim"]


def test_runs_as_the_non_root_user_compose_and_kubernetes_expect() -> None:
    (user,) = args_of("USER")
    uid, _, gid = user.partition(":")
    assert int(uid) >= 1000 and int(gid) >= 1000
    assert service("spendscope")["user"] == service("dashboard")["user"] == user
    for manifest in (DOCKER / "gke").glob("*.yaml"):
        for m in re.finditer(r"runAsUser: (\d+)", manifest.read_text(encoding="utf-8")):
            assert m.group(1) == uid, manifest.name
    assert any('--uid "${UID}"' in a for a in args_of("RUN"))
    assert args_of("ARG") == [f"UID={uid}"]


def test_healthcheck_runs_spendscope_healthcheck() -> None:
    (check,) = args_of("HEALTHCHECK")
    options, _, command = check.partition("CMD ")
    assert json.loads(command) == ["spendscope", "healthcheck"]
    assert {"--interval", "--timeout", "--start-period", "--retries"} <= {o.split("=")[0] for o in options.split()}


def test_default_command_is_the_daemon() -> None:
    assert [json.loads(a) for a in args_of("CMD")] == [["spendscope", "run"]]


def test_pip_installs_without_cache_and_the_package_in_place() -> None:
    runs = " && ".join(args_of("RUN"))
    installs = re.findall(r"pip install [^&]*", runs)
    assert installs and all("--no-cache-dir" in i for i in installs), installs
    assert "pip install --no-cache-dir --no-deps -e ." in runs
    assert args_of("WORKDIR") == ["/opt/spendscope"]
    # the dashboard command of compose and GKE runs the app.py of this install
    assert "/opt/spendscope/app.py" in service("dashboard")["command"]


def test_no_secret_in_the_image() -> None:
    for key, value in env_vars().items():
        assert not (SECRETISH.search(key) and value), f"ENV {key} carries a value"
    for arg in args_of("ARG"):
        assert not SECRETISH.search(arg.partition("=")[0]), arg
    copies = args_of("COPY") + args_of("ADD")
    assert all(".env" not in c and "secrets" not in c for c in copies), copies
    assert env_vars()["SPENDSCOPE_CONFIG"] == "/etc/spendscope/spendscope.toml"
    assert env_vars()["HOME"] == "/tmp"


@pytest.mark.parametrize(
    "path",
    [".venv/bin/python", "bench/data/export-5m.parquet", ".spendscope/lake/gcp_billing_export/x.parquet",
     "spendscope/__pycache__/cli.cpython-311.pyc", ".pytest_cache/v/cache", ".mypy_cache/3.11/x.json",
     ".ruff_cache/x", ".hypothesis/examples/x", ".git/HEAD", "docker/.env", "docker/secrets/smtp_password",
     "spendscope.egg-info/PKG-INFO", "tests/test_cli.py", ".env"],
)  # fmt: skip
def test_dockerignore_keeps_local_state_and_secrets_out(path: str) -> None:
    assert excluded(DOCKERIGNORE, path)


def test_build_context_holds_what_the_image_needs() -> None:
    context = {f for f in repository_files(ROOT) if not excluded(DOCKERIGNORE, f)}
    needed = {"pyproject.toml", "README.md", "app.py", "rules/default.yaml", "exporters/metrics.csv"}
    needed |= {str(p.relative_to(ROOT)) for p in (ROOT / "dashboards" / "pages").glob("*.py")}
    needed |= {str(p.relative_to(ROOT)) for p in (ROOT / "exporters" / "warehouse" / "sql").glob("*.sql")}
    for package in ("spendscope", "collectors", "exporters", "alerts", "dashboards"):
        needed |= {str(p.relative_to(ROOT)) for p in (ROOT / package).rglob("*.py") if "__pycache__" not in p.parts}
    assert needed - context == set()


def test_dockerignore_matcher_follows_docker_rules(tmp_path: Path) -> None:
    ignore = tmp_path / ".dockerignore"
    ignore.write_text("# comment\n/build\n*.log\n**/cache\ndocs\n!docs/keep.md\n", encoding="utf-8")
    assert excluded(ignore, "build/x") and not excluded(ignore, "src/build/x")
    assert excluded(ignore, "a.log") and not excluded(ignore, "sub/a.log")  # `*` stays in one segment
    assert excluded(ignore, "cache/x") and excluded(ignore, "a/b/cache/y")
    assert excluded(ignore, "docs/other.md") and not excluded(ignore, "docs/keep.md")


def dockerfile_check_script() -> str:
    """The `python -c "..."` of the Dockerfile's install step (it fails the build if a runtime file is missing)."""
    runs = " ".join(args_of("RUN"))
    m = re.search(r'python -c "(from spendscope\.up import APP;.*?)"', runs)
    assert m, "the install step's path check is gone from the Dockerfile"
    return m.group(1)


@dataclass(frozen=True)
class Replay:
    """The image's /opt/spendscope and its interpreter, replayed in a temporary folder."""

    opt: Path
    bin: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Replay:
    """COPY (the context as .dockerignore filters it) + `pip install --no-deps -e .` into a fresh venv whose
    dependencies come from the test environment (the image's dependency layer)."""
    root = tmp_path_factory.mktemp("image")
    opt = root / "opt" / "spendscope"
    for rel in repository_files(ROOT):
        if not excluded(DOCKERIGNORE, rel):
            (opt / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, opt / rel)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = next((venv / "lib").glob("python3*/site-packages"))
    deps = next(p for p in map(Path, sys.path) if p.name == "site-packages" and (p / "duckdb").is_dir())
    (site / "deps.pth").write_text(f"{deps}\n", encoding="utf-8")
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q", "--no-deps",
           "--no-build-isolation", "-e", str(opt)]  # fmt: skip
    subprocess.run(pip, check=True, capture_output=True, timeout=300, cwd=opt)
    home = root / "home"
    home.mkdir()
    # the Dockerfile's ENV, with HOME and the matplotlib folder in this test's temporary folder
    image_env = {**env_vars(), "HOME": str(home), "MPLCONFIGDIR": str(home / "matplotlib")}
    base = {
        k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith(("SPENDSCOPE_", "STREAMLIT_"))
    }
    return Replay(opt, venv / "bin", {**base, **image_env})


@pytest.mark.integration
def test_the_install_step_resolves_app_rules_and_catalog_from_the_build_context(replay: Replay) -> None:
    """The Dockerfile's own check passes on the replayed install, and the paths point into /opt/spendscope."""

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, capture_output=True, text=True, timeout=120, env=replay.env, cwd="/")

    python, spendscope = str(replay.bin / "python"), str(replay.bin / "spendscope")
    check = run(python, "-c", dockerfile_check_script())
    assert check.returncode == 0, check.stderr
    where = run(python, "-c", "import spendscope.up as u, alerts.loader as l; print(u.APP); print(l.SHIPPED)")
    assert where.stdout.split() == [str(replay.opt / "app.py"), str(replay.opt / "rules" / "default.yaml")]
    version = run(spendscope, "--version")
    assert version.returncode == 0 and "0.1.0" in version.stdout
    toml = run(spendscope, "--config", str(DOCKER / "spendscope.toml"), "config", "check")
    assert toml.returncode == 0, toml.stderr


@pytest.mark.integration
def test_the_dashboard_command_serves_the_app_from_the_replayed_image(replay: Replay, tmp_path: Path) -> None:
    """compose's dashboard command, run from /opt/spendscope with the image's environment: Streamlit finds app.py
    and its pages, the Overview renders (an empty warehouse: its empty state), and the image's healthcheck agrees."""
    from tests.common.browser import Chromium
    from tests.common.servers import free_port, poll, stop

    port = free_port()
    config = tmp_path / "spendscope.toml"
    config.write_text(f'home = "{tmp_path}"\n[warehouse]\npath = "{tmp_path}/lake"\n[app]\nport = {port}\n')
    command = [str(replay.bin / "python") if a == "python" else a for a in service("dashboard")["command"]]
    command = [a.replace("/opt/spendscope", str(replay.opt)).replace("0.0.0.0", "127.0.0.1") for a in command]
    command = [a.replace("8501", str(port)) for a in command]
    env = {**replay.env, "SPENDSCOPE_CONFIG": str(config), "SPENDSCOPE_DASHBOARD_READONLY": "1"}
    log = (tmp_path / "dashboard.log").open("wb")
    app = subprocess.Popen(command, cwd=replay.opt, env=env, stdout=log, stderr=subprocess.STDOUT)
    probe = [str(replay.bin / "spendscope"), "healthcheck", "--target", "dashboard"]
    try:
        poll(lambda: subprocess.run(probe, env=env, capture_output=True, timeout=60).returncode == 0, timeout=90)
        with Chromium() as browser:
            text = browser.open_streamlit(f"http://127.0.0.1:{port}/")
            assert browser.errors() == []
        assert "No data yet" in text
    finally:
        stop(app)
