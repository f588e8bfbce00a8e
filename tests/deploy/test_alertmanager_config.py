"""docker/alertmanager/alertmanager.yml: the real amtool accepts it, it routes as documented, and every secret it
uses is read from a compose secret file (Alertmanager does not expand environment variables).

The Debian amtool here and in CI is 0.25, which predates the webhook receiver's `url_file` (Alertmanager 0.26;
compose runs v0.27.0). With an older amtool the check reads each `url_file` into `url` first, which is what
Alertmanager itself does with the file's content, and checks the rest as shipped.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.files import ALERTMANAGER_YML, AMTOOL, compose, load_yaml, run_tool, service, tool_version

SECRET_DIR = "/run/secrets/"
# Keys of Alertmanager's config whose value is a secret; each has a *_file twin we use instead.
SECRET_KEYS = {"smtp_auth_password", "auth_password", "auth_secret", "smtp_auth_secret", "credentials", "password",
               "api_key", "routing_key", "service_key", "bot_token", "token"}  # fmt: skip


def config() -> dict[str, Any]:
    return load_yaml(ALERTMANAGER_YML)


def walk(node: Any, path: str = "") -> list[tuple[str, str, Any]]:
    """(dotted path, key, value) of every mapping entry in the config."""
    out: list[tuple[str, str, Any]] = []
    if isinstance(node, dict):
        for k, v in node.items():
            out.append((f"{path}.{k}", k, v))
            out.extend(walk(v, f"{path}.{k}"))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.extend(walk(v, f"{path}[{i}]"))
    return out


def file_refs() -> dict[str, str]:
    """Dotted path → file path of every `*_file` key."""
    return {p: v for p, k, v in walk(config()) if k.endswith("_file")}


def checkable_copy(tmp_path: Path) -> Path:
    """The config with each /run/secrets/X pointing at a file in tmp_path (and url_file inlined for amtool < 0.26)."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    contents = {"datadog_webhook_url": "https://intake.example.invalid/alertmanager?key=test\n"}
    text = ALERTMANAGER_YML.read_text(encoding="utf-8")
    for ref in sorted(set(file_refs().values())):
        name = ref.removeprefix(SECRET_DIR)
        (secrets / name).write_text(contents.get(name, "test-secret\n"), encoding="utf-8")
        text = text.replace(ref, str(secrets / name))
    if tool_version(AMTOOL) < (0, 26, 0):

        def inline(m: re.Match[str]) -> str:
            return f"{m.group(1)}url: {Path(m.group(2)).read_text(encoding='utf-8').strip()}"

        text, n = re.subn(r"^(\s*-?\s*)url_file: (\S+)$", inline, text, flags=re.MULTILINE)
        assert n == 1, "expected exactly the datadog receiver's url_file"
    out = tmp_path / "alertmanager.yml"
    out.write_text(text, encoding="utf-8")
    return out


def test_receivers_email_datadog_webhook() -> None:
    receivers = {r["name"]: r for r in config()["receivers"]}
    assert set(receivers) == {"email", "datadog", "webhook"}
    assert receivers["email"]["email_configs"][0]["to"]
    assert receivers["datadog"]["webhook_configs"][0]["url_file"] == "/run/secrets/datadog_webhook_url"
    hook = receivers["webhook"]["webhook_configs"][0]
    assert hook["url"].startswith("https://")
    assert hook["http_config"]["authorization"]["credentials_file"] == "/run/secrets/webhook_token"
    assert config()["global"]["smtp_auth_password_file"] == "/run/secrets/smtp_password"


def test_no_secret_value_in_the_file() -> None:
    literal = [p for p, k, v in walk(config()) if k in SECRET_KEYS and v]
    assert literal == [], "secrets must come from *_file keys"
    urls = [v for p, k, v in walk(config()) if k in {"url", "api_url"}]
    assert all(not re.search(r"(?i)(api[_-]?key|token|secret|password)=", u) for u in urls), urls


def test_every_secret_file_is_a_compose_secret_given_to_alertmanager() -> None:
    refs = file_refs()
    assert refs
    mounted = set(service("alertmanager")["secrets"])
    declared = compose()["secrets"]
    for where, path in refs.items():
        assert path.startswith(SECRET_DIR), f"{where}: {path} is not a compose secret"
        name = path.removeprefix(SECRET_DIR)
        assert name in mounted, f"{where}: secret {name} is not given to the alertmanager service"
        assert declared[name]["file"] == f"./secrets/{name}"


def test_alertmanager_does_not_receive_the_daemons_env_file() -> None:
    assert "env_file" not in service("alertmanager")
    assert "environment" not in service("alertmanager")


def test_the_shipped_spendscope_config_sends_its_alerts_here() -> None:
    import tomllib

    from tests.deploy.files import CONTAINER_TOML

    alerts = tomllib.loads(CONTAINER_TOML.read_text(encoding="utf-8"))["alerts"]
    (name,) = [n for n, cfg in alerts["notifiers"].items() if cfg["type"] == "alertmanager"]
    assert alerts["notifiers"][name]["url"] == "http://alertmanager:9093"
    assert alerts["routes"] == [{"notifiers": [name]}]


@pytest.mark.integration
def test_amtool_accepts_the_config(tmp_path: Path) -> None:
    assert shutil.which(AMTOOL), "amtool (Debian package prometheus-alertmanager) must be installed"
    result = run_tool(AMTOOL, "check-config", checkable_copy(tmp_path))
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "SUCCESS" in out and "3 receivers" in out and "1 inhibit rules" in out


@pytest.mark.integration
def test_amtool_rejects_a_receiver_that_does_not_exist(tmp_path: Path) -> None:
    """The check is not vacuous: a route to an undefined receiver fails it."""
    path = checkable_copy(tmp_path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["route"]["routes"][0]["receiver"] = "pagerduty"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = run_tool(AMTOOL, "check-config", path)
    assert result.returncode != 0
    assert "pagerduty" in result.stdout + result.stderr


@pytest.mark.integration
@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (["severity=critical", "alertname=SpendscopeGpuClusterIdle"], "datadog,webhook,email"),
        (["severity=warning", "alertname=SpendscopeBudgetUsed"], "datadog,email"),
        (["severity=info", "alertname=SpendscopeAlert"], "datadog"),
    ],
)
def test_routing_tree_sends_each_severity_where_documented(tmp_path: Path, labels: list[str], receivers: str) -> None:
    result = run_tool(AMTOOL, "config", "routes", "test", f"--config.file={checkable_copy(tmp_path)}", *labels)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receivers
