"""Every text argument of every `spendscope` command, fed each injection string through click's CliRunner.

The commands are enumerated from the click tree itself: a test fails when a command grows a text argument that
is neither exercised here (SLOTS) nor listed as one that never reaches the warehouse (NOT_WAREHOUSE, with the
reason). Each invocation must end with exit 0 or a clean error (1–5: a message, no traceback, no "internal
error"); after each argument's sweep the lake is unchanged — except the tables an ack or a silence writes, which
grow by one row per accepted call and hold the payload verbatim.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from alerts.store import AlertStore, event_row
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.cli import cli
from spendscope.records import State
from tests.alerts.routing.helpers import make_alert
from tests.security.payloads import PAYLOADS, PWN, Snapshot, nothing_escaped, seed, snapshot

P = "\0PAYLOAD\0"  # where the payload goes in an argv template
CLI_PAYLOADS = (*PAYLOADS, "\udcff")  # what Python makes of a non-UTF-8 byte in argv
ALERT = make_alert(labels={"team": "ml"})
ALERT_ID = ALERT.fingerprint[:8]

# (command path, parameter name) → argv template. Each reaches code that reads or writes the warehouse.
SLOTS: dict[tuple[str, str], list[str]] = {
    ("collect", "name"): ["collect", P],
    ("demo", "end"): ["demo", "--days", "1", "--end", P],
    ("query", "sql"): ["query", P],
    ("costs", "by"): ["costs", "--by", P],
    ("costs", "since"): ["costs", "--since", P],
    ("costs", "until"): ["costs", "--until", P],
    ("gpu-costs", "since"): ["gpu-costs", "--since", P],
    ("gpu-costs", "until"): ["gpu-costs", "--until", P],
    ("focus export", "since"): ["focus", "export", "--out", "x.parquet", "--since", P],
    ("focus export", "until"): ["focus", "export", "--out", "x.parquet", "--until", P],
    ("alerts ack", "alert_id"): ["alerts", "ack", P, "--author", "sec"],
    ("alerts ack", "comment"): ["alerts", "ack", ALERT_ID, "--author", "sec", "--comment", P],
    ("alerts ack", "author"): ["alerts", "ack", ALERT_ID, "--author", P],
    ("alerts history", "since"): ["alerts", "history", "--since", P],
    ("alerts history", "alert_id"): ["alerts", "history", "--since", "30d", "--id", P],
    ("silence add", "matchers"): ["silence", "add", "--match", P, "--comment", "c", "--author", "sec"],
    ("silence add", "duration"): ["silence", "add", "--match", "team=ml", "--comment", "c", "--for", P],
    ("silence add", "comment"): ["silence", "add", "--match", "team=ml", "--comment", P, "--author", "sec"],
    ("silence add", "author"): ["silence", "add", "--match", "team=ml", "--comment", "c", "--author", P],
    ("silence expire", "silence_id"): ["silence", "expire", P],
    ("actions list", "since"): ["actions", "list", "--since", P],
    ("report daily", "date"): ["report", "daily", "--date", P, "--out", "report.html"],
    ("prices list", "skus"): ["prices", "list", "--sku", P],
    ("live estimate", "at_text"): ["live", "estimate", "--at", P],
    ("live estimate", "since"): ["live", "estimate", "--at", "2026-11-10T12:00Z", "--since", P],
    ("live show", "at_text"): ["live", "show", "--at", P],
}
# Matchers as name=value too: the value half is what a silence stores and compares.
EXTRA = {("silence add", "matchers"): ["silence", "add", "--match", "team=" + P, "--comment", "c", "--author", "sec"]}
NOT_WAREHOUSE = {
    ("", "config_path"): "the config file to read (pydantic validates it; tests/test_config.py)",
    ("collect", "paths"): "files to ingest: read by the collector's parser (tests/fuzz), never SQL",
    ("collect", "targets"): "URLs to scrape over HTTP, never SQL",
    ("focus export", "out"): "the file the user asks the export to be written to",
    ("report daily", "out"): "the file the user asks the report to be written to",
    ("rules check", "path"): "a rules file, validated by pydantic",
    ("healthcheck", "url"): "the URL of a running daemon's health endpoint, fetched over HTTP",
}
# Tables an accepted call writes to (one row each).
WRITES = {("alerts ack", "comment"): "alert_events", ("alerts ack", "author"): "alert_events",
          ("silence add", "matchers"): "silences", ("silence add", "comment"): "silences",
          ("silence add", "author"): "silences"}  # fmt: skip


def text_params() -> set[tuple[str, str]]:
    """(command path, parameter name) of every free-text argument and option in the click tree."""
    out: set[tuple[str, str]] = set()

    def walk(cmd: click.Command, path: list[str]) -> None:
        for p in cmd.params:
            if isinstance(p.type, click.types.StringParamType | click.Path) and not getattr(p, "is_flag", False):
                out.add((" ".join(path), str(p.name)))
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                walk(sub, [*path, name])

    walk(cli, [])
    return out


def test_every_text_argument_is_swept_or_never_reaches_sql() -> None:
    assert text_params() == set(SLOTS) | set(NOT_WAREHOUSE)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[DuckDbLake, Path]:
    root = tmp_path_factory.mktemp("cli_injection")
    wh = DuckDbLake(root / "lake")
    seed(wh)
    store = AlertStore(wh)
    store.append([event_row(ALERT, "firing", dt.datetime.now(dt.UTC), 0)])
    assert [a.state for a in store.current()] == [State.firing]
    cfg = root / "spendscope.toml"
    cfg.write_text(f'home = "{root}/home"\n[warehouse]\npath = "{root}/lake"\n')
    return wh, cfg


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def invoke(cfg: Path, wh: DuckDbLake, argv: list[str]) -> tuple[int, str]:
    # The module's warehouse is handed in (as the CLI caches it per run), so each call costs milliseconds.
    res = CliRunner().invoke(cli, ["--config", str(cfg), *argv], obj={"warehouse": wh}, catch_exceptions=True)
    assert res.exception is None or isinstance(res.exception, SystemExit), (argv, res.exception)
    return res.exit_code, res.output


@pytest.mark.parametrize("slot", list(SLOTS), ids=[" ".join(s).strip() for s in SLOTS])
def test_payloads_through_one_argument(lake: tuple[DuckDbLake, Path], cwd: Path, slot: tuple[str, str]) -> None:
    wh, cfg = lake
    before: Snapshot = snapshot(wh, cwd)
    accepted: list[list[str]] = []
    for template in (SLOTS[slot], *([EXTRA[slot]] if slot in EXTRA else [])):
        accepted.append([])
        for payload in CLI_PAYLOADS:
            code, out = invoke(cfg, wh, [payload if a == P else a.replace(P, payload) for a in template])
            assert code in (0, 1, 2, 3, 4, 5), (slot, payload, code, out)
            assert "Traceback" not in out and "internal error" not in out, (slot, payload, out)
            if code == 0:
                accepted[-1].append(payload)
    after = snapshot(wh, cwd)
    written = WRITES.get(slot)
    changed = {t for t in before.rows if (before.rows[t], before.versions[t]) != (after.rows[t], after.versions[t])}
    assert changed <= ({written} if written else set()), (slot, changed)
    assert {f for f in after.files - before.files if not (written and f"/lake/{written}" in f)} == set()
    assert nothing_escaped() == []
    if written:
        assert after.rows[written] - before.rows[written] == sum(map(len, accepted))
        stored(wh, slot, accepted[-1])


def stored(wh: DuckDbLake, slot: tuple[str, str], accepted: list[str]) -> None:
    """The accepted payloads are in the table exactly as given (a payload is data, in and out)."""
    store = AlertStore(wh)
    if slot[0] == "alerts ack":
        column = "comment" if slot[1] == "comment" else "author"
        history = store.history(dt.datetime.now(dt.UTC) - dt.timedelta(days=1), ALERT.fingerprint).to_pylist()
        values = {r[column] for r in history if r["event"] == "acked"}
    elif slot[1] == "matchers":  # `team=<payload>`: the matcher's value (trimmed, outer quotes dropped)
        values = {m.value for s in store.silences() for m in s.matchers}
        accepted = [p.strip().strip('"') for p in accepted]
    else:
        values = {s.comment if slot[1] == "comment" else s.created_by for s in store.silences()}
    if slot[1] == "author":
        accepted = [p for p in accepted if p]  # an empty --author means the login name
    assert accepted and set(accepted) <= values, slot


@pytest.mark.parametrize(
    "sql",
    [f"COPY (SELECT 1) TO '{PWN}'", f"SELECT 1; COPY (SELECT 1) TO '{PWN}'", f"ATTACH '{PWN}.db' AS pwn",
     "SELECT * FROM read_text('/etc/hostname')", "DROP VIEW cost_daily", "INSTALL httpfs"],
)  # fmt: skip
def test_spendscope_query_is_read_only(lake: tuple[DuckDbLake, Path], cwd: Path, sql: str) -> None:
    wh, cfg = lake
    before = snapshot(wh, cwd)
    code, out = invoke(cfg, wh, ["query", sql])
    assert (code, out.startswith("error:")) == (5, True), out
    assert snapshot(wh, cwd) == before and nothing_escaped() == []
    code, out = invoke(cfg, wh, ["query", "SELECT COUNT(*) AS n FROM cost_daily", "--format", "csv"])
    assert (code, out) == (0, '"n"\n2\n')
