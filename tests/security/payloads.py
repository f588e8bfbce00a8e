"""Injection strings, a lake seeded with some of them AS DATA, and a snapshot that tells whether anything changed.

The seeded rows (synthetic) carry trap values — a team called `'; DROP TABLE cost_daily; --`, a host called
"' OR '1'='1" — so a filter on a payload must return exactly the row holding it: values reach SQL as data,
compared byte for byte, never as SQL text. PWN is a fresh path per run that a COPY … TO / ATTACH payload names;
it must never appear.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from exporters.warehouse.duckdb import DuckDbLake
from exporters.warehouse.schema import TABLES
from tests.seed import seed_costs
from tests.telemetry.helpers import minute_rows, write_minutes

PWN = Path(tempfile.gettempdir()) / f"spendscope-pwn-{uuid.uuid4().hex[:12]}"

PAYLOADS: tuple[str, ...] = (
    "'; DROP TABLE cost_daily; --",
    "' OR '1'='1",
    'x" OR 1=1 --',
    f"1); COPY (SELECT 1) TO '{PWN}' --",
    f"`; ATTACH '{PWN}.db' AS pwn; --",
    "') UNION ALL SELECT * FROM read_csv('/etc/passwd') --",
    "\u2019 OR \u20181\u2019=\u20181",  # curly quotes
    "\uff07 OR 1=1 --",  # FULLWIDTH APOSTROPHE
    "\u02bc; DROP TABLE alert_events; --",  # MODIFIER LETTER APOSTROPHE
    "\x00' OR 1=1 --",  # NUL: DuckDB's parser would stop at it
    "a\nb'\r\n; DROP TABLE silences; --",  # newlines: BigQuery's quoted strings may not hold one
    "\\' OR 1=1 --",  # a backslash before the quote
    "\\",
    "'",
    '"',
    "`",
    "",
    " ",
    "/* */ OR 1=1 /*",
    "@f_teams",  # another parameter's name: must stay this text, never become that parameter's value
    "@tz",
    "]) OR TRUE OR x IN UNNEST([",
    "%s %d {0} $1 ? :name",
    "\u202e' OR 1=1 --",  # RIGHT-TO-LEFT OVERRIDE
    "x" * 2000,
)
# Seeded as data (below): each filter value that exists.
TEAM, PROVIDER, PROJECT, ENV = PAYLOADS[0], PAYLOADS[1], PAYLOADS[2], PAYLOADS[9]
HOST = PAYLOADS[1]
DAY = dt.date(2026, 11, 10)
TS = dt.datetime(2026, 11, 10, 20, tzinfo=dt.UTC)  # 12:00 in Los Angeles: reporting day DAY
TELEMETRY_START = dt.datetime(2026, 11, 10, 18, tzinfo=dt.UTC)


def seed(wh: DuckDbLake) -> None:
    """Costs, GPU minutes and network samples of a plain host and of trap-named teams, projects and hosts."""
    seed_costs(
        wh,
        [
            {"BilledCost": 100.0, "ProviderName": "Google Cloud", "ServiceName": "Compute Engine",
             "ChargePeriodStart": TS, "SubAccountId": "acme-ml",
             "Tags": json.dumps({"team": "ml-research", "env": "prod"})},
            {"BilledCost": 7.0, "ProviderName": PROVIDER, "ServiceName": "Jobs Compute", "ChargePeriodStart": TS,
             "SubAccountId": PROJECT, "Tags": json.dumps({"team": TEAM, "env": ENV})},
        ],
    )  # fmt: skip
    busy, idle = minute_rows("node-a", 2, TELEMETRY_START, 60, True), minute_rows(HOST, 1, TELEMETRY_START, 60, False)
    write_minutes(wh, busy + idle)
    rows = []
    for host in ("node-a", HOST):
        for i in range(4):
            ts = TELEMETRY_START + dt.timedelta(minutes=15 * i)
            rows.append({"ts": ts, "host": host, "interface": "eth0", "source": "node_exporter", "target": "t",
                         "rx_bytes_per_second": 1e8, "tx_bytes_per_second": 2e7, "interval_seconds": 900.0,
                         "speed_bytes_per_second": 1.25e9, "saturation_ratio": 0.08, "_day": ts.date(),
                         "_source": f"node_exporter:{host}"})  # fmt: skip
    wh.append("net_samples", pa.Table.from_pylist(rows, schema=TABLES["net_samples"].schema))


@dataclass(frozen=True)
class Snapshot:
    """Every table's Delta version and row count, and the files under the lake and a scratch folder."""

    versions: dict[str, int | None]
    rows: dict[str, int]
    files: frozenset[str]


def snapshot(wh: DuckDbLake, *folders: Path) -> Snapshot:
    rows = {name: int(wh.query(f"SELECT COUNT(*) AS n FROM {name}").column("n")[0].as_py()) for name in TABLES}
    files = frozenset(str(p) for folder in (Path(wh.root), *folders) for p in folder.rglob("*"))
    return Snapshot({name: wh.table_version(name) for name in TABLES}, rows, files)


def nothing_escaped() -> list[str]:
    """Files a COPY … TO / ATTACH payload would have made (none, or the test fails)."""
    return [str(p) for p in PWN.parent.glob(PWN.name + "*")]
