"""collectors.common.files: path expansion, reading (gzip, UTF-8, BOM), Parquet sniffing, CSV records."""

from __future__ import annotations

import csv
import gzip
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from collectors.common import files
from spendscope.errors import InputError


@pytest.fixture
def small_csv_limit() -> Iterator[int]:
    """Lower the csv module's field limit for one test (it is process-wide), then put it back."""
    old = csv.field_size_limit(100)
    yield 100
    csv.field_size_limit(old)


def test_the_same_file_under_three_spellings_is_expanded_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d").mkdir()
    (tmp_path / "x.json").write_text("{}")
    os.symlink(tmp_path / "x.json", tmp_path / "link.json")
    found = files.expand(["x.json", "./x.json", "d/../x.json", str(tmp_path / "x.json"), "link.json"])
    assert found == [Path("x.json")]


def test_a_directory_gives_its_files_sorted_without_hidden_ones(tmp_path: Path) -> None:
    for name in ("b.csv", "a.csv", ".hidden.csv", "sub/c.csv", ".git/d.csv"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    found = files.expand([str(tmp_path)])
    assert [f.relative_to(tmp_path).as_posix() for f in found] == ["a.csv", "b.csv", "sub/c.csv"]


def test_accept_filters_directory_and_glob_files_but_not_named_ones(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x")
    (tmp_path / "_SUCCESS").write_text("")
    only_csv = files.expand([str(tmp_path / "*")], accept=lambda f: f.suffix == ".csv")
    assert only_csv == [tmp_path / "a.csv"]
    named = files.expand([str(tmp_path / "_SUCCESS")], accept=lambda f: f.suffix == ".csv")
    assert named == [tmp_path / "_SUCCESS"]


def test_a_path_matching_nothing_is_an_input_error_unless_not_strict(tmp_path: Path) -> None:
    for p in (tmp_path / "nope.csv", tmp_path / "zz-*.csv"):
        with pytest.raises(InputError, match="no such file or directory"):
            files.expand([str(p)])
        assert files.expand([str(p)], strict=False) == []
    with pytest.raises(InputError, match="no export files in this directory"):
        files.expand([str(tmp_path)])


def test_gzip_is_recognised_by_magic_bytes_and_the_bom_is_dropped(tmp_path: Path) -> None:
    p = tmp_path / "export.csv"  # no .gz in the name
    p.write_bytes(gzip.compress("\ufeffa,b\n1,2\n".encode()))
    assert files.read_text(p) == "a,b\n1,2\n"
    with files.open_text(p) as fh:
        assert fh.read() == "a,b\n1,2\n"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"a,b\n1,2\n\xff\xfe\x00garbage\n", "not UTF-8 text \\(invalid byte at line 3\\)"),
        (b"\x1f\x8bnot really gzip", "not a valid gzip file"),
        (gzip.compress(b"a,b\n1,2\n")[:-6], "not a valid gzip file"),  # truncated
    ],
)
def test_unreadable_content_is_an_input_error_naming_the_file(tmp_path: Path, payload: bytes, reason: str) -> None:
    p = tmp_path / "bad.csv"
    p.write_bytes(payload)
    with pytest.raises(InputError, match=f"bad.csv: {reason}"):
        files.read_text(p)


def test_check_utf8_names_the_line_of_the_first_bad_byte(tmp_path: Path) -> None:
    files.check_utf8("é\n€\n".encode(), "ok.ndjson")
    with pytest.raises(InputError, match=r"x.ndjson: not UTF-8 text \(invalid byte at line 2\)"):
        files.check_utf8(b'{"a": 1}\n{"b": "\xc3"}\n', "x.ndjson")


def test_a_directory_or_missing_file_read_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=re.escape(f"{tmp_path}: cannot read: Is a directory")):
        files.read_bytes(tmp_path)
    with pytest.raises(InputError, match=r"gone\.csv: cannot read"):
        files.open_text(tmp_path / "gone.csv")


def test_parquet_is_sniffed_by_name_or_magic_and_garbage_is_not_readable(tmp_path: Path) -> None:
    rnd = tmp_path / "rnd.parquet"
    rnd.write_bytes(os.urandom(512))
    magic = tmp_path / "data.bin"
    magic.write_bytes(b"PAR1 and nothing else")
    empty = tmp_path / "empty.parquet"
    empty.write_bytes(b"")
    assert files.is_parquet(rnd) and files.is_parquet(magic)
    assert files.is_empty(empty) and not files.is_empty(rnd)
    for p in (rnd, magic):
        with pytest.raises(InputError, match="not a readable Parquet file"):
            files.parquet_file(p)


def test_csv_fields_above_the_default_limit_are_read_whole() -> None:
    big = "x" * 200_000  # the csv module's default limit is 131072 characters
    recs = list(files.csv_records(files.text_lines(f"a,b\n1,{big}\n2,3\n"), "big.csv"))
    assert [r.cells for r in recs] == [["a", "b"], ["1", big], ["2", "3"]]
    assert [r.line for r in recs] == [1, 2, 3]


def test_a_record_the_csv_module_rejects_is_returned_as_an_error_and_reading_goes_on(small_csv_limit: int) -> None:
    text = "a,b\n1,2\n" + "y" * 150 + ",3\n4,5\n"
    recs = list(files.csv_records(files.text_lines(text), "f.csv"))
    assert [(r.line, r.cells) for r in recs if r.error is None] == [(1, ["a", "b"]), (2, ["1", "2"]), (4, ["4", "5"])]
    (bad,) = [r for r in recs if r.error is not None]
    assert bad.line == 3 and bad.cells is None and bad.raw == "y" * 150 + ",3"
    assert "field larger than field limit" in (bad.error or "")


def test_a_rejected_quoted_cell_spanning_lines_stops_with_file_and_line(small_csv_limit: int) -> None:
    text = 'a,b\n1,2\n"' + "y" * 150 + '\nz",3\n4,5\n'
    with pytest.raises(InputError, match=r"f\.csv: line 3: field larger than field limit"):
        list(files.csv_records(files.text_lines(text), "f.csv"))


def test_undecodable_text_while_streaming_csv_names_file_and_line(tmp_path: Path) -> None:
    p = tmp_path / "s.csv"
    p.write_bytes(b"a,b\n1,2\n3,\xff\n")
    with (
        files.open_text(p) as fh,
        pytest.raises(InputError, match=r"s\.csv: not UTF-8 text \(invalid byte at or after line 1\)"),
    ):
        list(files.csv_records(fh, str(p)))
