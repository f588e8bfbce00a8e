"""The local Delta write path: stream rows to Parquet ourselves, then commit adds and removes at once.

`write_deltalake(mode="overwrite", predicate=...)` buffers every open day's file in memory (2+ GB for a
few million unsorted export rows). Here `DayPartitionWriter` writes the files in bounded memory and
one `create_write_transaction` commits them with a remove for every file of the replaced days, so
readers still see the old version or the new one, never a mix, and a killed write leaves only
uncommitted files (orphans that vacuum deletes).

Concurrency: the commit is made against the exact version the removes were planned on
(`max_commit_retries=0`). When another process committed first, the plan is rebuilt on the new
version (its files removed, rows outside the keys preserved again) and the commit retried; the new
data files are kept, so a streamed input is never re-read. Plain appends use delta-rs' own retries.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import random
import time
from collections.abc import Iterable, Iterator, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import DeltaTable
from deltalake import Schema as DeltaSchema
from deltalake.exceptions import CommitFailedError, DeltaError, SchemaMismatchError
from deltalake.transaction import AddAction, CommitProperties, RemoveAction, create_table_with_add_actions

from exporters.warehouse.delta_keys import KeyMatcher, Rest
from exporters.warehouse.engine import Key
from exporters.warehouse.partition_writer import DayPartitionWriter, WrittenFile
from exporters.warehouse.schema import conform

log = logging.getLogger(__name__)

_REBASES = 20
_READ_ROWS = 65_536


def replace_local(
    path: str,
    schema: pa.Schema,
    batches: Iterable[pa.RecordBatch],
    keys: Sequence[Key],
    partition: str = "_day",
    *,
    plain_floats: bool = False,
) -> int:
    """Replace the rows of the Delta table at local `path` matching any of `keys` with `batches`; rows written.

    `plain_floats`: the table's float columns are written without dictionaries (TableSpec.plain_floats).
    """
    matcher = KeyMatcher(keys, schema, partition)
    _check_layout(path, schema, partition)
    sink = DayPartitionWriter(path, schema, partition, plain_floats=plain_floats)
    try:
        for batch in batches:
            if keys and not pc.all(matcher.mask(batch)).as_py():
                raise ValueError(f"{path}: rows to write must match one of the replace keys")
            sink.write(batch)
        added = sink.close()
    except BaseException:
        sink.abort()
        raise
    _commit(path, schema, added, matcher if keys else None, partition, plain_floats)
    return sink.rows


def _check_layout(path: str, schema: pa.Schema, partition: str) -> None:
    """Fail before writing when an existing table's schema or partitioning differs from ours.

    `create_write_transaction` would commit files of a new schema without updating the table's,
    hiding the new columns from readers; `write_deltalake` refuses such a write, and so do we.
    """
    if not DeltaTable.is_deltatable(path):
        return
    table = DeltaTable(path)
    if table.schema() != DeltaSchema.from_arrow(schema) or table.metadata().partition_columns != [partition]:
        raise SchemaMismatchError(
            f"{path}: the table's schema or partitioning differs from the code's; migrate the table first"
        )


def _commit(
    path: str,
    schema: pa.Schema,
    added: list[WrittenFile],
    matcher: KeyMatcher | None,
    partition: str,
    plain_floats: bool = False,
) -> None:
    adds = [_add_action(f, partition) for f in added]
    for attempt in range(_REBASES):
        if not DeltaTable.is_deltatable(path):
            try:
                create_table_with_add_actions(path, DeltaSchema.from_arrow(schema), adds, partition_by=[partition])
                return
            except DeltaError:
                if not DeltaTable.is_deltatable(path):
                    raise
                continue  # another process created it first: commit onto theirs
        table = DeltaTable(path)
        if matcher is None:
            if adds:  # a blind append conflicts with nothing; delta-rs retries it on its own
                table.create_write_transaction([*adds], mode="append", schema=schema, partition_by=[partition])
            return
        removes, kept = _plan_removes(table, path, schema, matcher, partition, plain_floats)
        actions: list[AddAction | RemoveAction] = [*adds, *removes, *(_add_action(f, partition) for f in kept)]
        if not actions:
            return
        read_version = table.version()
        try:
            table.create_write_transaction(
                actions,
                mode="append",
                schema=schema,
                partition_by=[partition],
                commit_properties=CommitProperties(max_commit_retries=0),
            )
            return
        except CommitFailedError:
            for f in kept:  # rewritten from files another commit may have changed: plan them again
                _remove_quietly(os.path.join(path, f.path))
            if DeltaTable(path).version() == read_version:
                raise  # not a concurrent commit: a real failure
        log.info("commit-rebase path:%s attempt:%s", path, attempt + 1)
        time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
    raise CommitFailedError(f"{path}: other writers kept committing first ({_REBASES} attempts)")


def _plan_removes(
    table: DeltaTable, path: str, schema: pa.Schema, matcher: KeyMatcher, partition: str, plain_floats: bool = False
) -> tuple[list[RemoveAction], list[WrittenFile]]:
    """Removes for every file the keys touch, and new files holding those files' rows no key matches."""
    files = pa.table(table.get_add_actions(flatten=True))
    days = matcher.days
    now = int(time.time() * 1000)
    removes: list[RemoveAction] = []
    sink = DayPartitionWriter(path, schema, partition, plain_floats=plain_floats)
    try:
        for rel, size, day in zip(
            files.column("path").to_pylist(),
            files.column("size_bytes").to_pylist(),
            files.column(f"partition.{partition}").to_pylist(),
            strict=True,
        ):
            if days is not None and day not in days:
                continue
            rests = matcher.on_day(day)
            if rests == []:
                continue
            full = os.path.join(path, rel)
            matched = "all" if rests is None else _matched(full, schema, matcher, rests)
            if matched == "none":  # e.g. the other hours of a day whose one hour is refreshed: left as is
                continue
            removes.append(RemoveAction(rel, True, now, size, {partition: day.isoformat()}))
            if matched == "some":  # only some rows of the file are replaced: carry the others over
                for batch in _unmatched_rows(full, schema, matcher, rests or [], day):
                    sink.write(batch)
        kept = sink.close()
    except BaseException:
        sink.abort()
        raise
    return removes, kept


def _matched(full: str, schema: pa.Schema, matcher: KeyMatcher, rests: list[Rest]) -> str:
    """Whether the keys match "all", "some" or "none" of a file's rows, reading only the key columns."""
    pf = pq.ParquetFile(full)
    key_schema = pa.schema([schema.field(c) for c in sorted({c for rest in rests for c, _ in rest})])
    present = [c for c in key_schema.names if c in pf.schema_arrow.names]
    mask = matcher.mask(conform(pf.read(columns=present), key_schema), rests)
    if pc.all(mask).as_py():
        return "all"  # re-ingesting a file replaces every row of it: nothing to carry over
    return "some" if pc.any(mask).as_py() else "none"


def _unmatched_rows(
    full: str, schema: pa.Schema, matcher: KeyMatcher, rests: list[Rest], day: dt.date
) -> Iterator[pa.RecordBatch]:
    """A data file's rows that none of `rests` matches, conformed to `schema` with the day put back."""
    pf = pq.ParquetFile(full)
    day_field = schema.field(matcher.partition)
    for batch in pf.iter_batches(batch_size=_READ_ROWS):
        whole = batch.append_column(day_field, pa.array([day] * batch.num_rows, day_field.type))
        for rows in conform(whole, schema).to_batches():
            yield rows.filter(pc.invert(matcher.mask(rows, rests)))


def _add_action(f: WrittenFile, partition: str) -> AddAction:
    stats = json.dumps({"numRecords": f.rows})
    return AddAction(f.path, f.size, {partition: f.day.isoformat()}, int(time.time() * 1000), True, stats)


def _remove_quietly(full: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(full)
