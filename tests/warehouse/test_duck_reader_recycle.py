"""The lake reader replaces its DuckDB database every RECYCLE_AFTER queries (its memory grows otherwise, see
BENCHMARKS.md's daemon soak) without breaking a query still running on the old one."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from exporters.warehouse import duck_reader
from exporters.warehouse.duckdb import DuckDbLake

ROW = {"table_name": "gpu_samples", "file": "f", "line": 1, "reason": "bad", "raw": "", "_day": dt.date(2026, 11, 20)}


def test_recycled_database_serves_running_queries_until_they_end(
    lake: DuckDbLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(duck_reader, "RECYCLE_AFTER", 3)
    reader = lake._reader
    with reader.session() as held:
        first_db = reader._db
        for _ in range(4):
            assert lake.query("SELECT 1 AS one").column("one").to_pylist() == [1]
        assert reader._db is not first_db, "a fresh database after RECYCLE_AFTER queries"
        assert id(first_db) in reader._retired, "the old one waits for the query still on it"
        assert held.execute("SELECT 2").fetchall() == [(2,)]
    assert reader._retired == {}, "closed once its last query ended"
    assert first_db is not None
    with pytest.raises(Exception, match="closed"):
        first_db.execute("SELECT 1")


def test_queries_after_a_recycle_see_the_latest_commits(lake: DuckDbLake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(duck_reader, "RECYCLE_AFTER", 2)
    for n in range(1, 6):
        lake.append("quarantine", pa.Table.from_pylist([{**ROW, "line": n}]))
        assert lake.query("SELECT COUNT(*) AS n FROM quarantine").column("n").to_pylist() == [n]


def test_release_memory_closes_the_database_and_the_next_query_opens_a_fresh_one(lake: DuckDbLake) -> None:
    lake.append("quarantine", pa.Table.from_pylist([ROW]))
    assert lake.query("SELECT COUNT(*) AS n FROM quarantine").column("n").to_pylist() == [1]
    before = lake._reader._db
    assert before is not None
    lake.release_memory()
    assert lake._reader._db is None
    with pytest.raises(Exception, match="closed"):
        before.execute("SELECT 1")
    assert lake.query("SELECT COUNT(*) AS n FROM quarantine").column("n").to_pylist() == [1]
