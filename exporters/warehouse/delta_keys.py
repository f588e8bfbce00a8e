"""Replace keys evaluated in Arrow: which day partitions a replace touches and which rows it matches.

The same semantics as `engine.key_predicate` (the SQL form): a key is an AND of `column = value`, a
replace takes the OR of its keys, a key without `_day` spans every day, and `= NULL` matches nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from exporters.warehouse.engine import Key

# The non-day part of a key, as sorted (column, value) pairs; () when the key names days only.
Rest = tuple[tuple[str, Any], ...]


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


class KeyMatcher:
    """Keys grouped by their non-day columns, each group with its days (None: every day)."""

    def __init__(self, keys: Sequence[Key], schema: pa.Schema, partition: str = "_day") -> None:
        self.partition = partition
        self._schema = schema
        self.groups: dict[Rest, set[dt.date] | None] = {}
        for key in keys:
            for column in key:
                schema.field(column)  # a key on a column the table lacks is a bug: fail before writing
            rest: Rest = tuple(sorted((k, v) for k, v in key.items() if k != partition))
            if partition not in key:
                self.groups[rest] = None
            elif rest not in self.groups or self.groups[rest] is not None:
                days = self.groups.setdefault(rest, set())
                assert days is not None
                days.add(_as_date(key[partition]))

    @property
    def days(self) -> set[dt.date] | None:
        """Every day partition a key can match; None when some key spans all days."""
        out: set[dt.date] = set()
        for days in self.groups.values():
            if days is None:
                return None
            out |= days
        return out

    def on_day(self, day: dt.date) -> list[Rest] | None:
        """The keys that apply to `day`'s files: [] for none, None when one takes the whole day."""
        rests = [rest for rest, days in self.groups.items() if days is None or day in days]
        return None if () in rests else rests

    def mask(self, batch: pa.RecordBatch | pa.Table, rests: Sequence[Rest] | None = None) -> Any:
        """Rows of `batch` matching any key (or, with `rests`, any of those keys ignoring their days)."""
        out: Any = pa.nulls(batch.num_rows, pa.bool_()).fill_null(False)
        if rests is not None:
            groups: dict[Rest, set[dt.date] | None] = {rest: None for rest in rests}
        else:
            groups = self.groups
        for rest, days in groups.items():
            term: Any = pa.nulls(batch.num_rows, pa.bool_()).fill_null(True)
            for column, value in rest:
                term = pc.and_(term, pc.equal(batch.column(column), self._scalar(column, value)))
            if days is not None:
                day_values = pa.array(sorted(days), pa.date32())
                term = pc.and_(term, pc.is_in(batch.column(self.partition), value_set=day_values))
            out = pc.or_(out, pc.fill_null(term, False))
        return out

    def _scalar(self, column: str, value: Any) -> pa.Scalar:
        typ = self._schema.field(column).type
        if value is None:
            return pa.scalar(None, typ)
        try:
            return pa.scalar(value, typ)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
            return pa.scalar(value).cast(typ)  # e.g. '2026-11-01' text for a date column, as SQL coerces
