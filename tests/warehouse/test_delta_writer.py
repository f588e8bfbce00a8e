"""The local Delta write path: our own Parquet files, then one commit of adds and removes (delta_writer.py)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import SchemaMismatchError

from exporters.warehouse import delta_writer
from exporters.warehouse.duckdb import DuckDbLake
from exporters.warehouse.partition_writer import DayPartitionWriter
from exporters.warehouse.schema import TABLES

D1, D2, D3 = dt.date(2026, 11, 1), dt.date(2026, 11, 2), dt.date(2026, 11, 3)
STATE = TABLES["ingest_state"].schema


def rows(day: dt.date, source: str, costs: list[float]) -> pa.Table:
    """ingest_state rows: one per cost, partitions p0, p1, ..."""
    return pa.Table.from_pylist(
        [{"source": source, "partition": f"p{i}", "cost": c, "_day": day} for i, c in enumerate(costs)]
    )


def table_path(lake: DuckDbLake) -> str:
    return os.path.join(lake.root, "ingest_state")


def delta_rows(lake: DuckDbLake) -> list[tuple[Any, ...]]:
    """What a Delta reader (delta-rs' pyarrow dataset) sees, sorted."""
    t = DeltaTable(table_path(lake)).to_pyarrow_dataset().to_table(columns=["_day", "source", "partition", "cost"])
    return sorted(tuple(r.values()) for r in t.to_pylist())


def duckdb_rows(lake: DuckDbLake) -> list[tuple[Any, ...]]:
    """What DuckDB sees reading the snapshot's files as hive-partitioned Parquet (the day from the path)."""
    files = [str(f) for f in DeltaTable(table_path(lake)).file_uris()]
    if not files:
        return []
    listed = ", ".join(f"'{f}'" for f in files)
    rel = duckdb.sql(
        f"SELECT _day, source, partition, cost FROM read_parquet([{listed}], hive_partitioning = true, "
        "hive_types = {'_day': DATE}) ORDER BY ALL"
    )
    return rel.fetchall()


def test_a_new_table_is_created_partitioned_by_day_and_both_readers_see_it(lake: DuckDbLake) -> None:
    lake.replace("ingest_state", rows(D1, "a", [1.0, 2.0]), [{"_day": D1, "source": "a"}])
    dt_ = DeltaTable(table_path(lake))
    assert dt_.version() == 0 and dt_.metadata().partition_columns == ["_day"]
    expected = [(D1, "a", "p0", 1.0), (D1, "a", "p1", 2.0)]
    assert delta_rows(lake) == expected
    assert duckdb_rows(lake) == expected
    # Like delta-rs, the files hold no `_day` column: Delta keeps the value in the log and the path.
    (rel,) = pa.table(dt_.get_add_actions()).column("path").to_pylist()
    assert rel.startswith("_day=2026-11-01/part-")
    assert "_day" not in pq.read_schema(os.path.join(table_path(lake), rel)).names
    add = pa.table(dt_.get_add_actions(flatten=True)).to_pylist()[0]
    assert add["num_records"] == 2


def test_rows_of_a_replaced_day_that_no_key_matches_are_kept(lake: DuckDbLake) -> None:
    both = pa.concat_tables([rows(D1, "a", [1.0]), rows(D1, "b", [10.0, 20.0]), rows(D2, "a", [5.0])])
    lake.replace("ingest_state", both, [{"_day": D1}, {"_day": D2}])
    lake.replace("ingest_state", rows(D1, "a", [7.0, 8.0]), [{"_day": D1, "source": "a"}])
    expected = [
        (D1, "a", "p0", 7.0),
        (D1, "a", "p1", 8.0),
        (D1, "b", "p0", 10.0),
        (D1, "b", "p1", 20.0),
        (D2, "a", "p0", 5.0),
    ]
    assert delta_rows(lake) == expected
    assert duckdb_rows(lake) == expected
    assert lake.query("SELECT SUM(cost) AS c FROM ingest_state").column("c")[0].as_py() == 50.0


def test_a_key_without_a_day_replaces_its_rows_on_every_day(lake: DuckDbLake) -> None:
    data = pa.concat_tables([rows(d, s, [1.0]) for d in (D1, D2) for s in ("a", "b")])
    lake.replace("ingest_state", data, [{"_day": D1}, {"_day": D2}])
    lake.replace("ingest_state", rows(D3, "a", [3.0]), [{"source": "a"}])
    assert delta_rows(lake) == [(D1, "b", "p0", 1.0), (D2, "b", "p0", 1.0), (D3, "a", "p0", 3.0)]


def test_empty_data_deletes_the_matching_rows_only(lake: DuckDbLake) -> None:
    data = pa.concat_tables([rows(D1, "a", [1.0]), rows(D1, "b", [2.0]), rows(D2, "a", [3.0])])
    lake.replace("ingest_state", data, [{"_day": D1}, {"_day": D2}])
    empty = STATE.empty_table()
    assert lake.replace("ingest_state", empty, [{"_day": D1, "source": "a"}]) == 0
    assert delta_rows(lake) == [(D1, "b", "p0", 2.0), (D2, "a", "p0", 3.0)]
    lake.replace("ingest_state", empty, [{"_day": D2}])
    assert delta_rows(lake) == duckdb_rows(lake) == [(D1, "b", "p0", 2.0)]


def test_no_keys_appends(lake: DuckDbLake) -> None:
    lake.append("ingest_state", rows(D1, "a", [1.0]))
    lake.append("ingest_state", rows(D1, "a", [1.0]))
    assert len(delta_rows(lake)) == 2


def test_rows_outside_the_keys_are_refused_and_nothing_is_committed(lake: DuckDbLake) -> None:
    lake.replace("ingest_state", rows(D1, "a", [1.0]), [{"_day": D1, "source": "a"}])
    with pytest.raises(ValueError, match="replace keys"):
        lake.replace("ingest_state", rows(D2, "a", [9.0]), [{"_day": D1, "source": "a"}])
    assert DeltaTable(table_path(lake)).version() == 0
    assert not os.path.exists(os.path.join(table_path(lake), "_day=2026-11-02")) or not os.listdir(
        os.path.join(table_path(lake), "_day=2026-11-02")
    ), "the refused write's files are deleted"


def test_a_table_written_with_another_schema_is_refused_before_writing(lake: DuckDbLake) -> None:
    path = table_path(lake)
    write_deltalake(path, pa.table({"source": ["x"], "_day": pa.array([D1], pa.date32())}), partition_by=["_day"])
    with pytest.raises(SchemaMismatchError):
        lake.replace("ingest_state", rows(D1, "a", [1.0]), [{"_day": D1, "source": "a"}])
    assert DeltaTable(path).version() == 0


def test_a_commit_that_lost_the_race_is_replanned_on_the_winners_version(
    lake: DuckDbLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer commits between our plan and our commit: ours is rebuilt on top, input read once."""
    lake.replace("ingest_state", pa.concat_tables([rows(D1, "a", [1.0]), rows(D1, "b", [2.0])]), [{"_day": D1}])
    plan = delta_writer._plan_removes
    calls: list[int] = []

    def racing_plan(*args: Any) -> Any:
        out = plan(*args)
        if not calls:  # the first plan goes stale: another process replaces source b meanwhile
            calls.append(1)
            other = DuckDbLake(lake.root)
            other.replace("ingest_state", rows(D1, "b", [20.0]), [{"_day": D1, "source": "b"}])
        return out

    monkeypatch.setattr(delta_writer, "_plan_removes", racing_plan)
    reads: list[int] = []

    def stream() -> Iterator[pa.RecordBatch]:
        reads.append(1)
        yield from rows(D1, "a", [10.0]).to_batches()

    lake.replace("ingest_state", stream(), [{"_day": D1, "source": "a"}])
    assert reads == [1]
    assert delta_rows(lake) == [(D1, "a", "p0", 10.0), (D1, "b", "p0", 20.0)]
    assert DeltaTable(table_path(lake)).version() == 2


def test_unsorted_input_over_many_days_lands_whole_in_bounded_buffers(tmp_path: Path) -> None:
    """A tiny buffer and few open files force many hand-overs and file roll-overs: no row is lost or doubled."""
    days = [D1 + dt.timedelta(days=i % 9) for i in range(3000)]
    data = pa.table(
        {
            "source": [f"s{i}" for i in range(3000)],
            "cost": [float(i) for i in range(3000)],
            "_day": pa.array(days, pa.date32()),
        }
    )
    schema = data.schema
    sink = DayPartitionWriter(str(tmp_path), schema, buffer_bytes=2_000, max_open_files=3)
    for batch in data.to_batches(max_chunksize=250):
        sink.write(batch)
    files = sink.close()
    assert sum(f.rows for f in files) == 3000
    read = pa.concat_tables(
        pq.read_table(tmp_path / f.path).append_column("_day", pa.array([f.day] * f.rows, pa.date32())) for f in files
    )
    assert sorted(read.to_pylist(), key=lambda r: r["cost"]) == data.to_pylist()
    assert all(f.path.startswith(f"_day={f.day.isoformat()}/") for f in files)
    assert all(pq.ParquetFile(tmp_path / f.path).metadata.num_rows == f.rows for f in files)


def test_every_column_is_dictionary_encoded_and_only_top_level_columns_keep_statistics(tmp_path: Path) -> None:
    kv = pa.list_(pa.struct([("key", pa.string()), ("value", pa.string())]))
    data = pa.table(
        {
            "account": ["a", "b"] * 50,
            "cost": [i / 7 for i in range(100)],
            "sku": pa.array(
                [{"id": "x", "price": 1.5}] * 100, pa.struct([("id", pa.string()), ("price", pa.float64())])
            ),
            "labels": pa.array([[{"key": "team", "value": "ml"}]] * 100, kv),
            "_day": pa.array([D1] * 100, pa.date32()),
        }
    )
    sink = DayPartitionWriter(str(tmp_path), data.schema)
    sink.write(data.to_batches()[0])
    (written,) = sink.close()

    group = pq.ParquetFile(tmp_path / written.path).metadata.row_group(0)
    columns = {group.column(i).path_in_schema: group.column(i) for i in range(group.num_columns)}
    dictionary = {path for path, c in columns.items() if "RLE_DICTIONARY" in c.encodings}
    # Every leaf, list elements included (gpu_minutes' repeating doubles and timestamps need it).
    assert dictionary == set(columns)
    with_stats = {path for path, c in columns.items() if c.is_stats_set and c.statistics.has_min_max}
    assert with_stats == {"account", "cost"}


def test_plain_floats_writes_every_float_leaf_without_a_dictionary_and_every_other_leaf_with_one(
    tmp_path: Path,
) -> None:
    """Billing tables (TableSpec.plain_floats): costs and amounts plain, nested too; strings and times keep theirs."""
    credit = pa.struct([("name", pa.string()), ("amount", pa.float64())])
    data = pa.table(
        {
            "account": ["a", "b"] * 50,
            "cost": [i / 7 for i in range(100)],
            "start": pa.array([dt.datetime(2026, 1, 1, tzinfo=dt.UTC)] * 100, pa.timestamp("us", tz="UTC")),
            "usage": pa.array(
                [{"amount": i / 3, "unit": "s"} for i in range(100)],
                pa.struct([("amount", pa.float64()), ("unit", pa.string())]),
            ),
            "credits": pa.array([[{"name": "cud", "amount": -i / 9}] for i in range(100)], pa.list_(credit)),
            "_day": pa.array([D1] * 100, pa.date32()),
        }
    )
    sink = DayPartitionWriter(str(tmp_path), data.schema, plain_floats=True)
    sink.write(data.to_batches()[0])
    (written,) = sink.close()

    group = pq.ParquetFile(tmp_path / written.path).metadata.row_group(0)
    columns = {group.column(i).path_in_schema: group.column(i) for i in range(group.num_columns)}
    dictionary = {path for path, c in columns.items() if "RLE_DICTIONARY" in c.encodings}
    assert dictionary == {"account", "start", "usage.unit", "credits.list.element.name"}
    assert set(columns) - dictionary == {"cost", "usage.amount", "credits.list.element.amount"}
    read = pq.read_table(tmp_path / written.path)
    assert read.to_pylist() == data.drop_columns(["_day"]).to_pylist()


def test_the_billing_tables_and_only_they_write_plain_floats(lake: DuckDbLake) -> None:
    plain = {name for name, spec in TABLES.items() if spec.plain_floats}
    assert plain == {"gcp_billing_export", "databricks_usage", "focus_import"}
    # Through the lake, the rows a replace keeps (rewritten next to the new ones) included.
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)

    def export(account: str, cost: float) -> pa.Table:
        row = {"billing_account_id": account, "cost": cost, "usage_start_time": start, "_day": D1,
               "usage_end_time": start + dt.timedelta(hours=1), "_source": "test"}  # fmt: skip
        return pa.Table.from_pylist([row])

    lake.replace("gcp_billing_export", pa.concat_tables([export("A", 1.25), export("B", 2.5)]), [])
    lake.replace("gcp_billing_export", export("A", 3.75), [{"billing_account_id": "A", "_day": D1}])
    files = DeltaTable(os.path.join(lake.root, "gcp_billing_export")).file_uris()
    assert len(files) == 2  # the new A rows, and B's rows kept from the file the replace removed
    for uri in files:
        group = pq.ParquetFile(uri.removeprefix("file://")).metadata.row_group(0)
        encodings = {group.column(i).path_in_schema: group.column(i).encodings for i in range(group.num_columns)}
        assert "RLE_DICTIONARY" not in encodings["cost"]
        assert "RLE_DICTIONARY" in encodings["billing_account_id"]
    got = lake.query("SELECT billing_account_id, cost FROM gcp_billing_export ORDER BY 1")
    assert got.to_pylist() == [{"billing_account_id": "A", "cost": 3.75}, {"billing_account_id": "B", "cost": 2.5}]


def test_the_log_records_row_counts_and_partition_values(lake: DuckDbLake) -> None:
    lake.replace("ingest_state", pa.concat_tables([rows(D2, "a", [1.0, 2.0, 3.0]), rows(D1, "a", [4.0])]), [])
    log = Path(table_path(lake)) / "_delta_log" / f"{0:020d}.json"
    adds = [json.loads(line)["add"] for line in log.read_text().splitlines() if '"add"' in line]
    counts = {a["partitionValues"]["_day"]: json.loads(a["stats"])["numRecords"] for a in adds}
    assert counts == {"2026-11-01": 1, "2026-11-02": 3}


RACER = textwrap.dedent(
    """
    import datetime as dt, sys
    import pyarrow as pa
    from exporters.warehouse.duckdb import DuckDbLake
    lake, me, day = DuckDbLake(sys.argv[1]), sys.argv[2], dt.date(2026, 11, 1)
    for i in range(15):
        row = {"source": "a", "partition": me, "cost": float(i), "_day": day}
        # A one-shot stream: a lost race must be replanned, never re-read (it cannot be).
        lake.replace("ingest_state", iter(pa.Table.from_pylist([row]).to_batches()), [{"_day": day, "source": "a"}])
    """
)


def test_two_processes_streaming_into_the_same_key_both_succeed_and_keep_other_rows(
    lake: DuckDbLake, tmp_path: Path
) -> None:
    lake.replace("ingest_state", pa.concat_tables([rows(D1, "a", [1.0]), rows(D1, "b", [2.0])]), [{"_day": D1}])
    script = tmp_path / "racer.py"
    script.write_text(RACER)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    procs = [subprocess.Popen([sys.executable, str(script), lake.root, me], env=env) for me in "xy"]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    (a,) = [r for r in delta_rows(lake) if r[1] == "a"]
    assert a[2] in {"x", "y"} and a[3] == 14.0
    assert [r for r in delta_rows(lake) if r[1] == "b"] == [(D1, "b", "p0", 2.0)]


KV = pa.list_(pa.struct([("key", pa.string()), ("value", pa.string())]))
ENCODED_SCHEMA = pa.schema(
    [("sku", pa.struct([("id", pa.string())])), ("labels", KV), ("cost", pa.float64()), ("_day", pa.date32())],
    metadata={"table": "demo"},
)


def encoded_rows(n: int) -> list[dict[str, Any]]:
    """Day i % 4; each day one SKU (4 in all); a label value unique to its row on 2 rows of 3."""
    return [
        {"sku": {"id": f"s{i % 4}"}, "labels": [{"key": "team", "value": f"v{i}"}] if i % 3 else [],
         "cost": float(i), "_day": D1 + dt.timedelta(days=i % 4)}
        for i in range(n)
    ]  # fmt: skip


def encoded(part: pa.Table) -> pa.RecordBatch:
    """`part` with its string leaves as dictionaries of its own, as a Parquet export's row group is read."""
    sku, labels = part.column("sku").combine_chunks(), part.column("labels").combine_chunks()
    pairs = labels.values
    cols = [
        pa.StructArray.from_arrays([sku.field("id").dictionary_encode()], names=["id"]),
        pa.ListArray.from_arrays(
            labels.offsets,
            pa.StructArray.from_arrays(
                [pairs.field("key").dictionary_encode(), pairs.field("value").dictionary_encode()],
                names=["key", "value"],
            ),
        ),
        part.column("cost").combine_chunks(),
        part.column("_day").combine_chunks(),
    ]
    return pa.RecordBatch.from_arrays(
        cols, schema=pa.schema([f.with_type(c.type) for f, c in zip(part.schema, cols, strict=True)])
    )


def read_back(root: Path, files: list[Any]) -> list[dict[str, Any]]:
    tables = [
        pq.read_table(root / f.path).append_column("_day", pa.array([f.day] * f.rows, pa.date32())) for f in files
    ]
    return sorted(pa.concat_tables(tables).to_pylist(), key=lambda r: r["cost"])


def test_dictionary_encoded_strings_are_written_as_the_queues_dictionaries_and_read_back_as_text(
    tmp_path: Path,
) -> None:
    """Batches whose string leaves are dictionaries, each batch its own, several to a queue: each day's row group
    holds the queue's unified dictionary (all 4 SKUs, where its rows have 1), except for a leaf whose dictionary
    outgrew the queue's rows per day (the unique label values), written as text (only the day's own values)."""
    rows = encoded_rows(2000)
    table = pa.Table.from_pylist(rows, ENCODED_SCHEMA)
    # Every other batch reversed: its dictionaries list the SKUs in the other order, so a queue's must be unified.
    parts = [table.slice(start, 250) for start in range(0, 2000, 250)]
    batches = [encoded(p.take(pa.array(range(249, -1, -1))) if i % 2 else p) for i, p in enumerate(parts)]
    assert batches[0].column("sku").field("id").dictionary != batches[1].column("sku").field("id").dictionary
    sink = DayPartitionWriter(str(tmp_path), ENCODED_SCHEMA, buffer_bytes=4 * batches[0].nbytes, plain_floats=True)
    for batch in batches:
        sink.write(batch)
    files = sink.close()

    assert read_back(tmp_path, files) == rows
    for f in files:
        pf = pq.ParquetFile(tmp_path / f.path)
        assert pf.schema_arrow.equals(ENCODED_SCHEMA.remove(3))  # the table's text, not dictionaries
        assert pf.schema_arrow.metadata == {b"table": b"demo"}
        assert 1 < pf.metadata.num_row_groups < len(batches)  # several queues, each of several batches
        stored = pq.ParquetFile(tmp_path / f.path, read_dictionary=["sku.id", "labels.list.element.value"])
        group = stored.read_row_group(0)
        skus = group.column("sku").chunk(0).field("id")
        assert sorted(skus.dictionary.to_pylist()) == ["s0", "s1", "s2", "s3"] and len(set(skus.to_pylist())) == 1
        values = group.column("labels").chunk(0).values.field("value")
        assert len(values.dictionary) == len(values) == len(set(values.to_pylist()))


@pytest.mark.parametrize("buffer_bytes", [1, 1 << 30], ids=["a-queue-per-batch", "one-queue"])
def test_text_and_dictionary_batches_land_as_the_same_rows(tmp_path: Path, buffer_bytes: int) -> None:
    """Batches of both forms (a Parquet and a JSON file in one command) interleaved over 4 days, on the writer's
    threads: a queue per batch (a day's file opened in one form takes the other's rows), or one queue of both."""
    rows = encoded_rows(3000)
    table = pa.Table.from_pylist(rows, ENCODED_SCHEMA)
    parts = [table.slice(start, 200) for start in range(0, 3000, 200)]
    batches = [encoded(p) if i % 3 else p.to_batches()[0] for i, p in enumerate(parts)]
    sink = DayPartitionWriter(str(tmp_path), ENCODED_SCHEMA, buffer_bytes=buffer_bytes, plain_floats=True)
    for batch in batches:
        sink.write(batch)
    files = sink.close()
    assert read_back(tmp_path, files) == rows
    assert all(pq.ParquetFile(tmp_path / f.path).schema_arrow.equals(ENCODED_SCHEMA.remove(3)) for f in files)
