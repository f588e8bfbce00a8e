"""Rule files: YAML and the TOML config validate the same way; errors name the file, line and key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from alerts.loader import SHIPPED, load_rule_file, load_rules, parse_rules
from alerts.rules import RULES
from spendscope.config import parse
from spendscope.errors import ConfigError


def test_shipped_default_rules_validate_and_cover_every_rule_type() -> None:
    rules = load_rule_file(SHIPPED)
    assert {r.type for r in rules} == set(RULES.names())  # type: ignore[attr-defined]
    assert len({r.name for r in rules}) == len(rules)


def test_error_names_file_line_rule_and_key(tmp_path: Path) -> None:
    text = "rules:\n  - name: ok-rule\n    type: runtime\n  - name: broken\n    type: runtime\n    sevrity: high\n"
    path = tmp_path / "r.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_rule_file(path)
    assert re.search(rf"{re.escape(str(path))}:6: rules\[1\] \(broken\): sevrity: Extra inputs", str(err.value))


def test_unknown_type_lists_valid_types() -> None:
    with pytest.raises(ConfigError) as err:
        parse_rules("rules:\n  - {name: x, type: nope}\n", "f.yaml")
    assert "f.yaml:2" in str(err.value) and "budget" in str(err.value) and "idle" in str(err.value)


def test_bad_yaml_and_bad_shape_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"f.yaml:\d+: not valid YAML"):
        parse_rules("rules:\n  - name: [unclosed\n", "f.yaml")
    with pytest.raises(ConfigError, match="unknown top-level"):
        parse_rules("rule:\n  - name: x\n", "f.yaml")
    assert parse_rules("", "empty.yaml") == []


def test_config_inline_rules_and_files_together_names_unique(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.yaml").write_text("rules:\n  - {name: long-run, type: runtime, max_hours: 12}\n")
    toml = 'alerts.rule_files = ["rules/*.yaml"]\n[[alerts.rules]]\nname = "other"\ntype = "runtime"\n'
    cfg = tmp_path / "spendscope.toml"
    cfg.write_text(toml)
    settings = parse(toml, str(cfg))
    assert [r.name for r in load_rules(settings)] == ["long-run", "other"]
    dup = parse(toml.replace('"other"', '"long-run"'), str(cfg))
    with pytest.raises(ConfigError, match="defined twice"):
        load_rules(dup)
    missing = parse('alerts.rule_files = ["nope/*.yaml"]\n', str(cfg))
    with pytest.raises(ConfigError, match="matches no file"):
        load_rules(missing)


def test_inline_rule_errors_name_the_config_line() -> None:
    with pytest.raises(ConfigError) as err:
        parse('[[alerts.rules]]\nname = "x"\ntype = "runtime"\nfor = "5 parsecs"\n', "s.toml")
    assert "s.toml" in str(err.value) and "for" in str(err.value) and "not a duration" in str(err.value)
