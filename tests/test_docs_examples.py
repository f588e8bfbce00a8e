"""Every ```toml block in README.md and docs/*.md is a config spendscope accepts.

A block whose first line is `# fragment` is deliberately partial (one key out of context): it must still
be TOML, but is not validated as a whole config.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from spendscope.config import parse

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(r"^```toml[ \t]*\n(.*?)^```", re.DOTALL | re.MULTILINE)
FRAGMENT = "# fragment"


def toml_blocks(path: Path) -> list[tuple[str, str]]:
    """(`file:line`, text) of every toml code block in a Markdown file."""
    text = path.read_text(encoding="utf-8")
    where = path.relative_to(ROOT)
    return [(f"{where}:{text.count(chr(10), 0, m.start()) + 1}", m.group(1)) for m in _BLOCK.finditer(text)]


BLOCKS = [block for path in DOCS for block in toml_blocks(path)]


def is_fragment(text: str) -> bool:
    return text.lstrip().startswith(FRAGMENT)


def test_docs_have_toml_examples() -> None:
    """The extraction finds the README's config and the telemetry examples (a broken regex would pass vacuously)."""
    whole = [where for where, text in BLOCKS if not is_fragment(text)]
    assert {"README.md", "docs/telemetry.md"} <= {where.split(":")[0] for where in whole}
    assert len(whole) >= 9


@pytest.mark.parametrize(("where", "text"), BLOCKS, ids=[w for w, _ in BLOCKS])
def test_toml_example_is_a_valid_config(where: str, text: str) -> None:
    """spendscope.config.parse accepts the block (known keys, valid values); a `# fragment` need only be TOML."""
    if is_fragment(text):
        assert isinstance(tomllib.loads(text), dict)
    else:
        assert parse(text, source=where).source == where


def test_block_pattern_finds_each_block_once() -> None:
    """Two toml blocks with prose between are two blocks, each ending at its own fence; fragments are told apart."""
    sample = "text\n```toml\na = 1\n```\nmore\n```toml\n# fragment\nb = 2\n```\n"
    found = [m.group(1) for m in _BLOCK.finditer(sample)]
    assert found == ["a = 1\n", "# fragment\nb = 2\n"]
    assert [is_fragment(f) for f in found] == [False, True]
