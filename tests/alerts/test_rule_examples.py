"""Every rule type documents itself with a YAML example in its docstring, and that example validates."""

from __future__ import annotations

import re

import pytest

from alerts.loader import parse_rules
from alerts.rules import RULES

_YAML = re.compile(r"```yaml\n(.*?)```", re.S)


def _dedent(block: str) -> str:
    lines = block.splitlines()
    indent = min((len(line) - len(line.lstrip()) for line in lines if line.strip()), default=0)
    return "\n".join(line[indent:] for line in lines)


@pytest.mark.parametrize("kind", RULES.names())
def test_docstring_example_validates(kind: str) -> None:
    cls = RULES.get(kind)
    blocks = _YAML.findall(cls.__doc__ or "")
    assert blocks, f"{cls.__name__} has no ```yaml example in its docstring"
    for block in blocks:
        rules = parse_rules(_dedent(block), f"{cls.__name__} docstring")
        assert rules and all(type(r) is cls for r in rules)
