"""Rules from YAML files and the TOML config, validated the same way; errors name the file, line and key.

A rule file holds `rules:` (a list of rule mappings; a bare list also works). With no `alerts.rule_files`
in the config, the shipped rules/default.yaml applies (our users' targets); `rule_files = []` means none.
Relative paths and globs are resolved against the config file's folder (the working directory without one).
"""

from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from alerts.rules import Rule, RuleBase
from spendscope.errors import ConfigError

SHIPPED = Path(__file__).resolve().parents[1] / "rules" / "default.yaml"
_ADAPTER: TypeAdapter[Any] = TypeAdapter(Rule)


def _node_line(node: yaml.Node | None, loc: Sequence[Any]) -> int | None:
    """1-based line of the value at `loc` (keys and list indexes) in a composed YAML node tree."""
    line = None if node is None else node.start_mark.line + 1
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value if getattr(k, "value", None) == str(key)), None)
            if found is None:
                break
            line, node = found[0].start_mark.line + 1, found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _yaml_problem(exc: yaml.YAMLError, text: str) -> tuple[int | None, str]:
    """(1-based line, what is wrong) of a YAML error; a ReaderError (a control character) has a position, no mark."""
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        return mark.line + 1, str(getattr(exc, "problem", exc))
    if isinstance(exc, yaml.reader.ReaderError) and isinstance(exc.character, int):
        return text.count("\n", 0, exc.position) + 1, f"unacceptable character #x{exc.character:04x}: {exc.reason}"
    return None, str(exc).split("\n")[0]


def parse_rules(text: str, source: str = "<string>") -> list[RuleBase]:
    """Validate a YAML rule document; ConfigError lists every problem as file:line: rules[i] (name): key: msg."""
    try:
        data = yaml.safe_load(text)
        tree = yaml.compose(text)
    except yaml.YAMLError as exc:
        line, problem = _yaml_problem(exc, text)
        where = f"{source}:{line}" if line else source
        raise ConfigError(f"{where}: not valid YAML: {problem}") from None
    except (ValueError, RecursionError) as exc:
        # Not YAMLError: PyYAML builds dates and ints with Python's own checks (2026-13-45, 5,000 digits),
        # and composes nested collections recursively.
        raise ConfigError(f"{source}: not valid YAML: {exc or type(exc).__name__}") from None
    if data is None:
        return []
    prefix: list[Any] = []
    if isinstance(data, dict):
        unknown = sorted(str(k) for k in set(data) - {"rules"})  # str: keys may be ints or dates too
        if unknown:
            raise ConfigError(f"{source}: unknown top-level key(s) {', '.join(unknown)}; a rule file holds `rules:`")
        data, prefix = data.get("rules") or [], ["rules"]
    if not isinstance(data, list):
        raise ConfigError(f"{source}: `rules` must be a list of rules")
    rules, problems = [], []
    for i, item in enumerate(data):
        name = item.get("name", "?") if isinstance(item, dict) else "?"
        try:
            rules.append(_ADAPTER.validate_python(item))
        except ValidationError as exc:
            for err in exc.errors():
                # The discriminated union puts the type tag first in `loc`: drop it to get the key path.
                loc = [p for p in err["loc"] if p != (item.get("type") if isinstance(item, dict) else None)]
                line = _node_line(tree, [*prefix, i, *loc])
                where = f"{source}:{line}" if line else source
                key = ".".join(str(p) for p in loc) or "(rule)"
                problems.append(f"{where}: rules[{i}] ({name}): {key}: {err['msg']}")
    if problems:
        raise ConfigError("invalid rules\n  " + "\n  ".join(problems))
    return rules


def load_rule_file(path: str | Path) -> list[RuleBase]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read rule file {p}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:  # a latin-1 or UTF-16 file: a clear error, not a traceback
        raise ConfigError(f"{p}: not UTF-8 text (invalid byte at offset {exc.start})") from None
    return parse_rules(text, str(p))


def rule_paths(patterns: Sequence[str] | None, base: Path) -> list[Path]:
    """The files named by `patterns` (globs relative to `base`); the shipped defaults when None."""
    if patterns is None:
        return [SHIPPED]
    paths: list[Path] = []
    for pattern in patterns:
        full = pattern if Path(pattern).is_absolute() else str(base / pattern)
        hits = sorted(glob.glob(full)) if glob.has_magic(full) else [full]
        if not hits:
            raise ConfigError(f"alerts.rule_files: {pattern!r} matches no file")
        paths.extend(Path(h) for h in hits)
    return paths


def load_rules(settings: Any) -> list[RuleBase]:
    """Every rule of the configured files plus the inline `[[alerts.rules]]`; names must be unique."""
    base = Path(settings.source).parent if settings.source else Path.cwd()
    rules: list[RuleBase] = []
    origin: dict[str, str] = {}
    for path in rule_paths(settings.alerts.rule_files, base):
        for rule in load_rule_file(path):
            _add(rules, origin, rule, str(path))
    for rule in settings.alerts.rules:
        _add(rules, origin, rule, settings.source or "config")
    return rules


def _add(rules: list[RuleBase], origin: dict[str, str], rule: RuleBase, where: str) -> None:
    if rule.name in origin:
        raise ConfigError(f"rule name {rule.name!r} defined twice: in {origin[rule.name]} and {where}")
    origin[rule.name] = where
    rules.append(rule)
