"""Saved nvidia-smi outputs: read a file whole (`--from-file`), or follow files an `-l` loop keeps appending to.

A whole read replaces the keys {_source: the file's real path, _day} for every UTC day the file holds, so
ingesting a file again never doubles a row (the CLI, a fresh collector each time).

Following (the daemon's `paths`, one collector instance for the daemon's life) reads each file once whole
and then only what was appended: per file it remembers the device and inode, the byte offset after the
last complete line, a hash of the bytes read so far and the parsed header (with the `# host:` / `# tz:`
lines). Each cycle:
- a file new to this instance is read whole and replaces its days' keys, as above;
- a file that grew gets its new complete lines parsed with the remembered header and APPENDED (keys=[]):
  the cost of a cycle is what was written since the last one, not the file's age;
- a file whose inode changed but whose first bytes are the ones already read (a sync tool's rewritten
  copy) is followed on from the same offset;
- a file truncated in place (size below the offset) or replaced by other content (logrotate) holds only
  lines written since the last read: they are read from the start (with the remembered header, host and
  zone where the running loop does not print them again) and appended. A keyed replace here would erase
  the rows of the same day read from the file's earlier content;
- a partial last line (no newline yet) is left for the next cycle.
Rows of days before the raw-retention cut are never written by the daemon, so a file's old lines do not
bring back days that retention deleted. A file that cannot be ingested (no `index`/`uuid` column, a
header-less file without `collectors.nvidia_smi.fields`) is quarantined once and set aside until rotated.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa

from collectors.base import Batch, Item, Quarantined
from collectors.common import files
from collectors.gpu import smi_csv
from exporters.warehouse.schema.telemetry import GPU_SAMPLES
from spendscope.config_telemetry import NvidiaSmiConfig
from spendscope.errors import InputError, MissingColumnsError

log = logging.getLogger(__name__)

TABLE = "gpu_samples"
SOURCE = "nvidia-smi"
_TAIL = 64  # bytes before the offset compared each cycle: unchanged unless the file was rotated or rewritten
NOHEADER = "looks like --format=csv,noheader output: set collectors.nvidia_smi.fields to its --query-gpu list"


@dataclass
class SmiFile:
    """One file's (or one appended part's) parse, with the host and zone its rows belong to."""

    path: str
    real: str
    host: str
    tz: dt.tzinfo
    result: smi_csv.SmiParse

    def check(self) -> None:
        """InputError when the file cannot be ingested at all (header-less without `fields`, columns missing)."""
        if self.result.headerless:
            raise InputError(f"{self.path}: {NOHEADER}")
        if self.result.missing:
            raise MissingColumnsError(self.path, self.result.missing)


def parse_text(
    path: str, text: str, config: NvidiaSmiConfig, default_ts: dt.datetime, prior: _Followed | None = None
) -> SmiFile:
    """A file's text from its first line: `# tz:` / `# host:` lines, header (or `config.fields`), rows.

    `prior` is what the file's earlier content said: after a `copytruncate` the `-l` loop goes on writing
    rows without printing its header or the init script's comment lines again.
    """
    head = smi_csv.parse(_comments(text))  # the `# tz:` line must be known before timestamps are read
    tz_name = head.meta.get("tz")
    tz = _zone(tz_name, path) if tz_name or prior is None else prior.tz
    noheader = (prior.fields if prior is not None else None) or config.fields or None
    result = smi_csv.parse(text, tz=tz, default_ts=default_ts, noheader_fields=noheader)
    host = result.meta.get("host") or (prior.host if prior is not None else None) or config.host or stem(path)
    return SmiFile(path, os.path.realpath(path), host, tz, result)


def read_whole(path: str | os.PathLike[str], config: NvidiaSmiConfig) -> SmiFile:
    """The whole file (gzip too), its last line included even without a newline."""
    st = _stat(path)
    return parse_text(str(path), files.read_text(path), config, _mtime(st))


def items(f: SmiFile, *, replace: bool, cut: dt.date | None = None, first_line: int = 0) -> Iterator[Item]:
    """gpu_samples rows of `f` (keyed by its days when `replace`, else appended) and its bad lines."""
    f.check()
    rows = [complete_row(r, f.host, f.path, f.real) for r in f.result.rows]
    old = 0
    if cut is not None:
        kept = [r for r in rows if r["_day"] >= cut]
        old, rows = len(rows) - len(kept), kept
    log.info("nvidia-smi file:%s host:%s rows:%s bad:%s before_retention:%s mode:%s",
             f.path, f.host, len(rows), len(f.result.bad), old, "replace" if replace else "append")  # fmt: skip
    if rows:
        keys = [{"_source": f.real, "_day": d} for d in sorted({r["_day"] for r in rows})] if replace else []
        yield Batch(TABLE, pa.Table.from_pylist(rows, schema=GPU_SAMPLES), keys=keys)
    for line, reason, raw in f.result.bad:
        yield Quarantined(TABLE, f.path, line + first_line, reason, raw)


def complete_row(row: dict[str, Any], host: str, target: str, source: str) -> dict[str, Any]:
    """A parsed row with the identity and provenance columns every gpu_samples row carries."""
    ts: dt.datetime = row["ts"]
    return {**row, "host": host, "source": SOURCE, "target": target, "_source": source,
            "_day": ts.astimezone(dt.UTC).date()}  # fmt: skip


@dataclass
class _Followed:
    ident: tuple[int, int]  # (st_dev, st_ino)
    offset: int  # bytes up to the end of the last complete line read
    lines: int  # complete lines read: quarantined lines of an appended part keep their line numbers
    tail: bytes  # the last bytes read: still there before `offset` unless the file was rotated or rewritten
    fields: list[str]  # canonical header; empty while none was seen
    host: str
    tz: dt.tzinfo
    whole: tuple[int, int] | None = None  # gzip: (size, mtime_ns) read; such a file is re-read whole on change
    broken: bool = False  # quarantined: left alone until its inode changes


class _Plan(NamedTuple):
    start: int | None  # byte offset to read from; None: nothing to read
    replace: bool  # keyed replace of the file's days (first read by this instance), else append
    lines: int  # complete lines before `start`


class Follower:
    """Per-file read state of the daemon's `paths` (in memory: a restarted daemon reads each file whole once)."""

    def __init__(self, config: NvidiaSmiConfig) -> None:
        self.config = config
        self.files: dict[str, _Followed] = {}

    def forget_except(self, reals: set[str]) -> None:
        """Drop the state of files no longer matched (deleted, or renamed away by rotation)."""
        for real in set(self.files) - reals:
            del self.files[real]

    def poll(self, path: str | os.PathLike[str], cut: dt.date) -> Iterator[Item]:
        """What `path` holds that was not read yet (see the module docstring); never rows of days before `cut`."""
        real, name = os.path.realpath(path), str(path)
        old = self.files.get(real)
        st: os.stat_result | None = None
        gz = False
        try:
            st = _stat(path)
            gz = files.head(path, 2) == files.GZIP_MAGIC
            if gz:
                yield from self._whole_gzip(name, real, st, old, cut)
                return
            yield from self._follow(name, real, st, old, cut)
        except InputError as exc:
            ident = (st.st_dev, st.st_ino) if st else (-1, -1)
            whole = (st.st_size, st.st_mtime_ns) if st and gz else None
            self.files[real] = _Followed(ident, 0, 0, b"", [], "", dt.UTC, whole=whole, broken=True)
            yield Quarantined(TABLE, name, None, f"file skipped: {exc}")

    def _follow(self, name: str, real: str, st: os.stat_result, old: _Followed | None, cut: dt.date) -> Iterator[Item]:
        ident = (st.st_dev, st.st_ino)
        plan = _plan(name, st, old)
        if plan.start is None:
            if old is not None:
                old.ident = ident
            return
        data = _read_from(name, plan.start)
        done = data[: data.rfind(b"\n") + 1]
        if not done:  # no complete line yet
            return
        if plan.start == 0 or old is None:
            prior = old if old is not None and old.fields else None
            f = parse_text(name, files.decode_text(done, name), self.config, _mtime(st), prior)
        else:  # an appended part, read with the remembered header; a bad byte spoils its own line only
            text = done.decode("utf-8", "replace")
            f = SmiFile(name, real, old.host, old.tz,
                        smi_csv.parse(text, fields=old.fields, tz=old.tz, default_ts=_mtime(st)))  # fmt: skip
        yield from items(f, replace=plan.replace, cut=cut, first_line=plan.lines)
        # Only once the consumer asked for more (the batch was written) does the offset move on.
        tail = (old.tail if plan.start and old is not None else b"") + done
        self.files[real] = _Followed(ident, plan.start + len(done), plan.lines + done.count(b"\n"), tail[-_TAIL:],
                                     f.result.fields, f.host, f.tz)  # fmt: skip

    def _whole_gzip(
        self, name: str, real: str, st: os.stat_result, old: _Followed | None, cut: dt.date
    ) -> Iterator[Item]:
        sig, ident = (st.st_size, st.st_mtime_ns), (st.st_dev, st.st_ino)
        if old is not None and old.whole == sig and old.ident == ident:
            return
        f = read_whole(name, self.config)
        yield from items(f, replace=True, cut=cut)  # a compressed file is a whole: its days are replaced
        self.files[real] = _Followed(ident, 0, 0, b"", f.result.fields, f.host, f.tz, whole=sig)


def _plan(path: str | os.PathLike[str], st: os.stat_result, old: _Followed | None) -> _Plan:
    if old is None:
        return _Plan(0, True, 0)
    ident = (st.st_dev, st.st_ino)
    if old.broken:
        return _Plan(None, False, 0) if ident == old.ident and old.whole is None else _Plan(0, False, 0)
    if old.whole is not None:  # was gzip, is not any more: a new file
        return _Plan(0, False, 0)
    # Same bytes before the offset: the same content (grown, or rewritten whole by a sync tool); else rotated.
    if st.st_size < old.offset or _bytes_before(path, old.offset, len(old.tail)) != old.tail:
        log.info("nvidia-smi file:%s rotated or truncated; reading it from the start", path)
        return _Plan(0, False, 0)
    if not old.fields:  # no header seen yet, so nothing was stored: read from the start again
        return _Plan(0, False, 0) if st.st_size > old.offset else _Plan(None, False, 0)
    return _Plan(old.offset, False, old.lines) if st.st_size > old.offset else _Plan(None, False, 0)


def _bytes_before(path: str | os.PathLike[str], offset: int, n: int) -> bytes:
    try:
        with open(path, "rb") as fh:
            fh.seek(offset - n)
            return fh.read(n)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _read_from(path: str | os.PathLike[str], start: int) -> bytes:
    try:
        with open(path, "rb") as fh:
            fh.seek(start)
            return fh.read()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def stem(path: str | os.PathLike[str]) -> str:
    """`gpu-node-3.csv.gz` → `gpu-node-3`; dots inside a host name are kept (`node.example.com.csv`)."""
    name = Path(path).name.removesuffix(".gz")
    return os.path.splitext(name)[0] or name


def _comments(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if line.lstrip().startswith("#"))


def _zone(name: str | None, path: str) -> dt.tzinfo:
    if not name:
        return dt.UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InputError(f"{path}: unknown time zone in '# tz: {name}' (use an IANA name like Europe/Berlin)") from None


def _stat(path: str | os.PathLike[str]) -> os.stat_result:
    try:
        return os.stat(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _mtime(st: os.stat_result) -> dt.datetime:
    return dt.datetime.fromtimestamp(st.st_mtime_ns / 1e9, dt.UTC)
