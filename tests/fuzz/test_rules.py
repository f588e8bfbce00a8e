"""Fuzz alert rule files (YAML): the shipped rules/default.yaml, broken line by line, and as damaged bytes.

Property: `parse_rules`/`load_rule_file` return rules, or raise ConfigError naming the file (and the
line where YAML or validation knows it); `spendscope rules check` exits 2 with a message, no traceback.
"""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner
from hypothesis import example, given

from alerts.loader import SHIPPED, load_rule_file, parse_rules
from alerts.rules import RuleBase
from spendscope.cli import cli
from spendscope.errors import ConfigError
from tests.fuzz import payloads as p
from tests.fuzz import payloads_text as pt
from tests.fuzz.conftest import fuzz

SOURCE = "fuzz-rules.yaml"
DEFAULT = SHIPPED.read_text(encoding="utf-8")


def check_rules(fn: object, source: str) -> None:
    """`fn()` gives rules, or a ConfigError that starts each problem with `source` (and its line where known)."""
    assert callable(fn)
    try:
        got = fn()
    except ConfigError as exc:
        lines = str(exc).split("\n")
        problems = [line.strip() for line in lines[1:]] if lines[0] == "invalid rules" else lines[:1]
        assert problems and all(line.startswith(source) for line in problems), str(exc)
        if "not valid YAML" in str(exc) and "unacceptable character" in str(exc):
            assert re.match(rf"{re.escape(source)}:\d+: ", str(exc)), str(exc)  # a control character's line
        return
    assert all(isinstance(r, RuleBase) for r in got)


# Regressions the fuzz found (each escaped as a traceback).
BAD_DATE = "rules:\n  - name: x\n    type: budget\n    since: 2026-13-45\n"  # ValueError from PyYAML's date
DEEP = "rules: " + "[" * 3000 + "]" * 3000 + "\n"  # RecursionError from PyYAML's composer
HUGE_INT = "rules:\n  - name: x\n    amount_usd: 1" + "0" * 5000 + "\n"  # ValueError: the 4,300-digit limit
MIXED_KEYS = "1: a\nb: c\n"  # TypeError sorting int and str top-level keys
NUL = "rules:\n  - name: x\x00\n"  # a control character: the message had no line, and a second line without the file
INF_FOR = "rules:\n  - name: x\n    type: budget\n    period: day\n    amount_usd: 1\n    for: .inf\n"  # OverflowError


@fuzz(150)
@given(text=pt.mutated_kv(DEFAULT, ":", pt.EVIL_YAML))
@example(text=BAD_DATE)
@example(text=DEEP)
@example(text=HUGE_INT)
@example(text=MIXED_KEYS)
@example(text=INF_FOR)
@example(text=NUL)
def test_rule_text(text: str) -> None:
    check_rules(lambda: parse_rules(text, SOURCE), SOURCE)


@fuzz(60)
@given(data=p.strategies_of(lambda: p.damaged(DEFAULT)))
@example(data="rules: []\n# caf\u00e9\n".encode("latin-1"))  # UnicodeDecodeError escaped read_text
def test_rule_file(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "rules.yaml"
    path.write_bytes(data)
    check_rules(lambda: load_rule_file(path), str(path))


def test_cli_refuses_a_bad_rule_file_with_a_message(tmp_path: Path) -> None:
    """`spendscope rules check` on a UTF-16 file and on a bad date: exit 2, `error:` and the file, no traceback."""
    cfg = tmp_path / "spendscope.toml"
    cfg.write_text(f'home = "{tmp_path}/home"\n[warehouse]\npath = "{tmp_path}/lake"\n')
    for name, data in {"utf16.yaml": DEFAULT.encode("utf-16"), "date.yaml": BAD_DATE.encode()}.items():
        path = tmp_path / name
        path.write_bytes(data)
        res = CliRunner().invoke(cli, ["--config", str(cfg), "rules", "check", str(path)])
        assert res.exit_code == 2 and isinstance(res.exception, SystemExit), res.output
        assert "error:" in res.output and str(path) in res.output and "Traceback" not in res.output
