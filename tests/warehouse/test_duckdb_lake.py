"""The embedded engine: whole-partition replace, BigQuery SQL via sqlglot, readers during writes, crash safety."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from exporters.warehouse.duckdb import DuckDbLake
from exporters.warehouse.engine import key_predicate
from spendscope.errors import QueryError

D1, D2 = dt.date(2026, 11, 1), dt.date(2026, 11, 2)


def state_rows(day: dt.date, source: str, costs: list[float]) -> pa.Table:
    """Rows of the small ingest_state table, which exercises the same write path as every table."""
    return pa.Table.from_pylist(
        [{"source": source, "partition": f"p{i}", "cost": c, "rows": 1, "_day": day} for i, c in enumerate(costs)]
    )


def total(lake: DuckDbLake, where: str = "TRUE") -> float:
    return float(lake.query(f"SELECT IFNULL(SUM(cost), 0) AS c FROM ingest_state WHERE {where}").column("c")[0].as_py())


def test_replace_swaps_only_the_named_partitions(lake: DuckDbLake) -> None:
    lake.replace("ingest_state", state_rows(D1, "a", [1, 2]), [{"_day": D1, "source": "a"}])
    lake.replace("ingest_state", state_rows(D2, "a", [10]), [{"_day": D2, "source": "a"}])
    lake.replace("ingest_state", state_rows(D1, "b", [100]), [{"_day": D1, "source": "b"}])
    assert total(lake) == 113
    # Same partition again with changed rows: replaced, not added; the others stay.
    lake.replace("ingest_state", state_rows(D1, "a", [5]), [{"_day": D1, "source": "a"}])
    assert total(lake) == 115
    assert total(lake, "source = 'b'") == 100
    assert total(lake, f"_day = DATE '{D2}'") == 10


def test_replacing_twice_with_the_same_rows_is_idempotent(lake: DuckDbLake) -> None:
    for _ in range(3):
        lake.replace("ingest_state", state_rows(D1, "a", [1.5, 2.5]), [{"_day": D1, "source": "a"}])
    assert total(lake) == 4.0


def test_empty_replace_clears_the_partition(lake: DuckDbLake) -> None:
    lake.replace("ingest_state", state_rows(D1, "a", [1]), [{"_day": D1, "source": "a"}])
    lake.replace("ingest_state", pa.table({"_day": pa.array([], pa.date32())}), [{"_day": D1, "source": "a"}])
    assert total(lake) == 0


def test_key_predicate_folds_days_and_escapes_quotes() -> None:
    pred = key_predicate([{"_day": D1, "source": "o'brien"}, {"_day": D2, "source": "o'brien"}])
    assert pred == "(source = 'o''brien' AND _day IN ('2026-11-01', '2026-11-02'))"
    assert key_predicate([]) == "FALSE"


def test_queries_are_bigquery_sql_and_missing_tables_read_empty(lake: DuckDbLake) -> None:
    out = lake.query(
        "SELECT COUNT(*) AS n, SAFE_DIVIDE(1, 0) AS z, DATE(TIMESTAMP '2026-11-01 03:00:00+00', "
        "'America/Los_Angeles') AS la FROM focus_costs"
    )
    assert out.to_pylist() == [{"n": 0, "z": None, "la": dt.date(2026, 10, 31)}]


def test_query_params_are_literals_not_injection(lake: DuckDbLake) -> None:
    lake.replace("ingest_state", state_rows(D1, "a", [1]), [{"_day": D1, "source": "a"}])
    out = lake.query("SELECT COUNT(*) AS n FROM ingest_state WHERE source = @s", {"s": "a' OR TRUE --"})
    assert out.column("n")[0].as_py() == 0


def test_bad_sql_is_a_query_error(lake: DuckDbLake) -> None:
    with pytest.raises(QueryError):
        lake.query("SELECT no_such_column FROM focus_costs")


def test_compaction_keeps_every_row(lake: DuckDbLake) -> None:
    for i in range(5):
        lake.replace("ingest_state", state_rows(D1, f"s{i}", [1.0]), [{"_day": D1, "source": f"s{i}"}])
    before = total(lake)
    lake.maintain()
    assert total(lake) == before == 5.0


WRITER = textwrap.dedent(
    """
    import datetime as dt, sys, time
    import pyarrow as pa
    from exporters.warehouse.duckdb import DuckDbLake
    lake = DuckDbLake(sys.argv[1])
    mode = sys.argv[2]
    day = dt.date(2026, 11, 1)
    if mode == "slow":
        # One replace whose data trickles in: killed half-way through, it must leave nothing behind.
        schema = pa.schema([("source", pa.string()), ("cost", pa.float64()), ("_day", pa.date32())])
        def batches():
            for i in range(10_000):
                yield pa.RecordBatch.from_pylist([{"source": "a", "cost": 999.0, "_day": day}] * 1000, schema=schema)
                if i == 3:
                    print("writing", flush=True)
                time.sleep(0.05)
        lake.replace("ingest_state", batches(), [{"_day": day, "source": "a"}])
    elif mode.startswith("same:"):
        # Two processes replacing the very same partition: one commit wins each round, the other retries.
        for i in range(15):
            row = {"source": "a", "partition": mode, "cost": 1.0, "_day": day}
            lake.replace("ingest_state", pa.Table.from_pylist([row]), [{"_day": day, "source": "a"}])
        print("done", flush=True)
    else:
        # Rewrite the same partition over and over; its total is always 100, split differently.
        for i in range(int(mode)):
            n = 1 + i % 7
            rows = [{"source": "a", "partition": f"p{j}", "cost": 100.0 / n, "_day": day} for j in range(n)]
            lake.replace("ingest_state", pa.Table.from_pylist(rows), [{"_day": day, "source": "a"}])
        print("done", flush=True)
    """
)


def _spawn(tmp_path: Path, lake: DuckDbLake, mode: str) -> subprocess.Popen[str]:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    return subprocess.Popen(
        [sys.executable, str(script), lake.root, mode],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )


def test_readers_never_fail_or_see_partial_data_while_another_process_writes(lake: DuckDbLake, tmp_path: Path) -> None:
    lake.replace("ingest_state", state_rows(D1, "a", [100.0]), [{"_day": D1, "source": "a"}])
    writer = _spawn(tmp_path, lake, "40")
    seen = []
    while writer.poll() is None:
        seen.append(round(total(lake), 6))  # a fresh reader each time, like the dashboard and the CLI
    assert writer.wait() == 0
    assert seen, "the reader should have run while the writer wrote"
    assert set(seen) == {100.0}, "every snapshot a reader sees is whole: old or new, never both or neither"
    assert total(lake) == pytest.approx(100.0)


def test_a_write_killed_half_way_leaves_the_previous_data_intact(lake: DuckDbLake, tmp_path: Path) -> None:
    lake.replace("ingest_state", state_rows(D1, "a", [1.0, 2.0]), [{"_day": D1, "source": "a"}])
    version = lake.table_version("ingest_state")
    writer = _spawn(tmp_path, lake, "slow")
    assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
    time.sleep(0.3)
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    fresh = DuckDbLake(lake.root)
    assert fresh.table_version("ingest_state") == version
    assert total(fresh) == 3.0
    # And the next write goes through.
    fresh.replace("ingest_state", state_rows(D1, "a", [7.0]), [{"_day": D1, "source": "a"}])
    assert total(DuckDbLake(lake.root)) == 7.0


def test_two_processes_replacing_the_same_partition_both_succeed_and_never_double(
    lake: DuckDbLake, tmp_path: Path
) -> None:
    lake.replace("ingest_state", state_rows(D1, "a", [1.0]), [{"_day": D1, "source": "a"}])
    writers = [_spawn(tmp_path, lake, f"same:{w}") for w in "xy"]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    rows = lake.query("SELECT partition, cost FROM ingest_state").to_pylist()
    assert len(rows) == 1 and rows[0]["partition"] in {"same:x", "same:y"}


def test_the_object_store_write_path_replaces_the_same_way(tmp_path: Path) -> None:
    """The delta-rs path used for gs:// and s3:// roots, exercised on a local folder (no object store here)."""
    from exporters.warehouse.duckdb import _replace_remote
    from exporters.warehouse.schema import TABLES, conform

    path, schema = str(tmp_path / "ingest_state"), TABLES["ingest_state"].schema

    def write(day: dt.date, source: str, costs: list[float]) -> int:
        batches = conform(state_rows(day, source, costs), schema).to_batches()
        return _replace_remote(path, schema, batches, [{"_day": day, "source": source}], "_day")

    assert write(D1, "a", [1, 2]) == 2
    write(D2, "a", [10])
    assert write(D1, "a", [5]) == 1
    lake = DuckDbLake(tmp_path)
    assert total(lake) == 15 and total(lake, f"_day = DATE '{D1}'") == 5


def test_replace_many_from_query_routes_each_row_to_the_table_its_target_names(lake: DuckDbLake) -> None:
    lake.replace("ingest_state", state_rows(D1, "a", [1, 2, 30]), [{"_day": D1, "source": "a"}])
    sql = """SELECT IF(cost > @cut, 'cost_hourly', 'cost_daily') AS _target, source AS provider,
                    cost AS billed_cost, 'ingest_state' AS x_SourceTable, _day
             FROM ingest_state"""
    keys = [{"x_SourceTable": "ingest_state", "_day": D1}]
    for _ in range(2):  # a second refresh replaces the first: nothing doubles
        written = lake.replace_many_from_query({"cost_daily": keys, "cost_hourly": keys}, sql, {"cut": 5})
        assert written == {"cost_daily": 2, "cost_hourly": 1}
    daily = lake.query("SELECT SUM(billed_cost) AS c, COUNT(*) AS n FROM cost_daily").to_pylist()
    hourly = lake.query("SELECT SUM(billed_cost) AS c, COUNT(*) AS n FROM cost_hourly").to_pylist()
    assert daily == [{"c": 3.0, "n": 2}] and hourly == [{"c": 30.0, "n": 1}]


def test_texts_carrying_long_lists_are_transpiled_but_not_kept() -> None:
    # A bound text with a long list parameter (the idle rule's hosts) is new at every evaluation: caching it would
    # only hold memory. Short texts (views, dashboard queries) stay cached.
    from exporters.warehouse import sqltext

    hosts = [f"host-{i}" for i in range(1000)]
    long_text = sqltext.bind("SELECT h FROM UNNEST(@hosts) AS h", {"hosts": hosts})
    assert len(long_text) > sqltext._CACHED_CHARS
    before = sqltext._to_duckdb_cached.cache_info().currsize
    con = duckdb.connect()
    assert [r[0] for r in con.execute(sqltext.to_duckdb(long_text)).fetchall()] == hosts
    assert sqltext._to_duckdb_cached.cache_info().currsize == before
    sqltext.to_duckdb(f"SELECT {len(hosts)} AS n")
    assert sqltext._to_duckdb_cached.cache_info().currsize == min(before + 1, 512)
