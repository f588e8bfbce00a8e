"""The shipped Prometheus rules (alerts/prometheus/*.yml): valid for the real promtool, unit-tested, and written
only over metrics our exporter emits (exporters/metrics.csv).

The integration tests run the Debian package's /usr/bin/promtool (Prometheus 2.42, which knows keep_firing_for)
on the real files: `promtool check rules` and `promtool test rules alerts/prometheus/tests/*.yml`.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from exporters.prometheus.catalog import catalog

ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = ROOT / "alerts" / "prometheus"
RULE_FILES = sorted(RULES_DIR.glob("*.yml"))
TEST_FILES = sorted((RULES_DIR / "tests").glob("*.yml"))
PROMTOOL = "/usr/bin/promtool"

# Words in an expression that are PromQL syntax, not metric names.
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right"}
KEYWORDS |= {"inf", "nan"}


def promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PROMTOOL, *map(str, args)], capture_output=True, text=True, timeout=120, cwd=ROOT)


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def rules() -> list[dict[str, Any]]:
    return [rule for path in RULE_FILES for group in load(path)["groups"] for rule in group["rules"]]


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects: identifiers that are not functions, keywords or label names."""
    text = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # range and subquery durations
    # Label lists of grouping and vector-matching modifiers: by (a, b), on (c), group_left (d), …
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for m in re.finditer(r"(?<![\w.:])([A-Za-z_:][\w:]*)(\s*\()?", text):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in KEYWORDS or re.fullmatch(r"\d+(ms|s|m|h|d|w|y)", word):
            continue
        names.add(word)
    return names


def test_metric_name_parser_finds_selectors_and_skips_syntax() -> None:
    expr = (
        'sum by (platform, cluster) (rate(spendscope_a_total{x="y z"}[5m])) > on (cluster) group_left (team) '
        "1.5 * min(spendscope:recorded) unless ignoring (gpu) spendscope_b offset 1h and bool spendscope_c"
    )
    assert metric_names(expr) == {"spendscope_a_total", "spendscope:recorded", "spendscope_b", "spendscope_c"}


def test_every_metric_in_the_rules_is_in_the_catalog_or_recorded_by_them() -> None:
    recorded = {r["record"] for r in rules() if "record" in r}
    used: dict[str, set[str]] = {}
    for rule in rules():
        names = metric_names(rule["expr"])
        assert names, f"no metric found in {rule.get('alert') or rule.get('record')}: {rule['expr']}"
        used[rule.get("alert") or rule["record"]] = names
    unknown = {
        name: sorted(n for n in names if n not in catalog() and n not in recorded) for name, names in used.items()
    }
    assert {k: v for k, v in unknown.items() if v} == {}, "metrics not in exporters/metrics.csv"
    assert all(r.startswith("spendscope:") for r in recorded), "recording rules use the spendscope: prefix"


def test_every_alert_has_a_severity_and_describes_itself() -> None:
    alerts = [r for r in rules() if "alert" in r]
    assert len(alerts) >= 15
    for rule in alerts:
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"].strip() and rule["annotations"]["description"].strip(), rule["alert"]
        assert re.fullmatch(r"Spendscope[A-Z][A-Za-z]+", rule["alert"]), rule["alert"]


def test_every_alert_is_expected_to_fire_in_some_promtool_test() -> None:
    fired = {
        case["alertname"]
        for path in TEST_FILES
        for test in load(path)["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    alerts = {r["alert"] for r in rules() if "alert" in r}
    assert alerts - fired == set(), "alerts with no promtool test that makes them fire"
    silent = {
        case["alertname"]
        for path in TEST_FILES
        for test in load(path)["tests"]
        for case in test.get("alert_rule_test", [])
        if not case.get("exp_alerts")
    }
    assert alerts - silent == set(), "alerts with no promtool test that checks they do not fire too early"


@pytest.mark.integration
def test_promtool_accepts_the_rule_files() -> None:
    assert RULE_FILES
    result = promtool("check", "rules", *RULE_FILES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules())} rules found" in result.stdout


@pytest.mark.integration
def test_promtool_unit_tests_pass() -> None:
    assert TEST_FILES
    result = promtool("test", "rules", *TEST_FILES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(TEST_FILES), result.stdout


@pytest.mark.integration
def test_promtool_unit_tests_catch_a_broken_rule(tmp_path: Path) -> None:
    """The tests are not vacuous: the saturation threshold raised to 95 % makes promtool report a failure."""
    broken = tmp_path / "spendscope-rules.yml"
    text = (RULES_DIR / "spendscope-rules.yml").read_text(encoding="utf-8")
    assert "(spendscope_gpu_utilization_ratio) > 0.85" in text
    broken.write_text(
        text.replace("(spendscope_gpu_utilization_ratio) > 0.85", "(spendscope_gpu_utilization_ratio) > 0.95")
    )
    (tmp_path / "tests").mkdir()
    test_file = tmp_path / "tests" / "gpu_test.yml"
    test_file.write_text((RULES_DIR / "tests" / "gpu_test.yml").read_text(encoding="utf-8"))
    result = promtool("test", "rules", test_file)
    assert result.returncode != 0
    assert "SpendscopeGpuClusterSaturated" in result.stdout + result.stderr
