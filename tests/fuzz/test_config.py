"""Fuzz the config file (`spendscope.toml`): the README's and docs' valid configs, broken line by line.

Property: `parse`/`load` return Settings, or raise ConfigError whose message names the file; the CLI
turns it into `error: …` and exit 2, never a traceback.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from hypothesis import example, given
from hypothesis import strategies as st

from spendscope.cli import cli
from spendscope.config import Settings, load, parse
from spendscope.errors import ConfigError
from tests.fuzz import payloads as p
from tests.fuzz import payloads_text as pt
from tests.fuzz.conftest import fuzz
from tests.test_docs_examples import BLOCKS, is_fragment

CONFIGS = [text for _, text in BLOCKS if not is_fragment(text)]
SOURCE = "fuzz.toml"


def check_parsed(fn: object, source: str) -> None:
    """`fn()` gives Settings, or a ConfigError that names `source`; any other exception fails."""
    assert callable(fn)
    try:
        got = fn()
    except ConfigError as exc:
        assert source in str(exc), str(exc)
        return
    assert isinstance(got, Settings)


# Regressions the fuzz found (each escaped `parse` as a traceback).
DEEP_ARRAY = "[app]\nhost = " + "[" * 3000 + "]" * 3000 + "\n"  # RecursionError from tomllib
HUGE_INT = "[app]\nport = 1" + "0" * 5000 + "\n"  # ValueError: Python's 4,300-digit int limit, from tomllib
INF_DURATION = "[live]\nstale_after = inf\n"  # OverflowError from timedelta (pydantic passes only ValueError on)
LONG_DURATION = '[live]\nstale_after = "99999999999999999d"\n'  # OverflowError, the same way


@fuzz(150)
@given(text=st.sampled_from(CONFIGS).flatmap(lambda t: pt.mutated_kv(t, "=", pt.EVIL_TOML)))
@example(text=DEEP_ARRAY)
@example(text=HUGE_INT)
@example(text=INF_DURATION)
@example(text=LONG_DURATION)
def test_config_text(text: str) -> None:
    check_parsed(lambda: parse(text, SOURCE), SOURCE)


@fuzz(60)
@given(data=st.sampled_from(CONFIGS).flatmap(lambda t: p.strategies_of(lambda: p.damaged(t))))
@example(data="home = 'caf\u00e9'\n".encode("latin-1"))  # UnicodeDecodeError escaped read_text
def test_config_file(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "spendscope.toml"
    path.write_bytes(data)
    check_parsed(lambda: load(path), str(path))


def test_cli_refuses_a_bad_config_with_a_message(tmp_path: Path) -> None:
    """A latin-1 file and a too-deep array: exit 2 with `error:` and the file name, never a traceback."""
    for name, data in {
        "latin1.toml": "home = 'caf\u00e9'\n".encode("latin-1"),
        "deep.toml": DEEP_ARRAY.encode(),
    }.items():
        cfg = tmp_path / name
        cfg.write_bytes(data)
        res = CliRunner().invoke(cli, ["--config", str(cfg), "collect", "focus", "--from-file", str(cfg)])
        assert res.exit_code == 2 and isinstance(res.exception, SystemExit), res.output
        assert "error:" in res.output and str(cfg) in res.output and "Traceback" not in res.output
