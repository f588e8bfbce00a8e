"""A full disk during an ingest: a clear message and a non-zero exit, the previous data still readable, nothing
left half-written, and the next run (after space is freed) ingests everything.

The lake lives on a real, tiny tmpfs mounted in a private mount namespace (`unshare --map-root-user --mount`),
so the kernel itself answers ENOSPC; the CLI runs as a user would run it. The big input is bench/gen_gcp.py's
synthetic export in the real Parquet shape.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.gen_gcp import generate

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "tests" / "fixtures" / "gcp_billing" / "export.ndjson"

SCRIPT = r"""
set -u
mount -t tmpfs -o size=8m tmpfs "$MNT"
printf '[warehouse]\npath = "%s/lake"\n' "$MNT" > "$MNT/spendscope.toml"
S() { "$PY" -m spendscope.cli --config "$MNT/spendscope.toml" --log-level WARNING "$@"; }
S collect gcp-billing --from-file "$SMALL" >/dev/null || exit 90
S costs --by provider > "$OUT/before.txt" || exit 91
avail=$(df -k --output=avail "$MNT" | tail -1)
dd if=/dev/zero of="$MNT/filler" bs=1k count=$((avail - 200)) 2>/dev/null
S collect gcp-billing --from-file "$BIG" > "$OUT/full.out" 2> "$OUT/full.err"; echo $? > "$OUT/full.rc"
S costs --by provider > "$OUT/during.txt" || exit 92
du -sk "$MNT/lake" | cut -f1 > "$OUT/lake_kb_after_failure.txt"
rm "$MNT/filler"
S collect gcp-billing --from-file "$BIG" > "$OUT/again.out" 2>&1; echo $? > "$OUT/again.rc"
S costs --by provider > "$OUT/after.txt" || exit 93
"""


def test_a_full_disk_fails_cleanly_keeps_the_data_and_the_next_run_repairs(tmp_path: Path) -> None:
    unshare = shutil.which("unshare")
    assert unshare, "util-linux unshare is needed to mount a private tmpfs"
    big, _ = generate(tmp_path / "big", 20_000, days=20)
    mnt, out = tmp_path / "mnt", tmp_path / "out"
    mnt.mkdir()
    out.mkdir()
    env = {"MNT": str(mnt), "OUT": str(out), "PY": sys.executable, "SMALL": str(SMALL), "BIG": str(big),
           "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}  # fmt: skip
    done = subprocess.run(
        [unshare, "--map-root-user", "--mount", "bash", "-c", SCRIPT], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    err = (out / "full.err").read_text()
    assert (out / "full.rc").read_text().strip() == "7"
    assert "no space left on the lake's disk" in err and "previous data is intact" in err
    assert "Traceback" not in err + (out / "full.out").read_text()
    before, during = (out / "before.txt").read_text(), (out / "during.txt").read_text()
    assert during == before and "199.21" in before  # the small export's total, still whole
    assert int((out / "lake_kb_after_failure.txt").read_text()) < 1000  # the abandoned files were removed
    assert (out / "again.rc").read_text().strip() == "0", (out / "again.out").read_text()
    assert "20000 row(s) ingested" in (out / "again.out").read_text()
    assert (out / "after.txt").read_text() != before
