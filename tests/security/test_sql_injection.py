"""Injection strings through every filter and user-chosen value, against a real DuckDB lake (tests/seed.py).

Each query function runs with every payload at once and must give exactly the answer it gives for the payloads
that exist as data (the seeded trap rows) — so no payload changed the SQL, and a payload that names a real
value still finds it. After the module (fixture `unchanged`) every table has the same Delta version and row
count, no file appeared in the lake or the working folder, and nothing a COPY … TO / ATTACH payload names
exists. The raw-SQL door (`Warehouse.read_only_query`) refuses anything but one SELECT and reads no file
outside the lake.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dashboards.queries import alerts as alert_queries
from dashboards.queries import budgets, gpu, migration, network, savings, savings_plan
from dashboards.queries import costs as cost_queries
from exporters.warehouse.duckdb import DuckDbLake
from exporters.warehouse.sqltext import bind, to_duckdb
from spendscope import costs
from spendscope.config import Settings
from spendscope.costs import FILTERS, CostFilter
from spendscope.errors import QueryError
from spendscope.pricing.book import list_prices
from tests.security.payloads import (
    DAY,
    ENV,
    HOST,
    PAYLOADS,
    PROJECT,
    PROVIDER,
    PWN,
    TEAM,
    TELEMETRY_START,
    Snapshot,
    nothing_escaped,
    seed,
    snapshot,
)
from tests.seed import TZ

SINCE, UNTIL = DAY - dt.timedelta(days=1), DAY + dt.timedelta(days=1)
NOW = dt.datetime(2026, 11, 11, 12, tzinfo=dt.UTC)
SERIES = f"{HOST} / eth0"
# The one seeded value each CostFilter field has among the payloads (platform is derived: none).
TRAPS: dict[str, tuple[str, ...]] = {"providers": (PROVIDER,), "platforms": (), "teams": (TEAM,),
                                     "projects": (PROJECT,), "envs": (ENV,)}  # fmt: skip
NOTHING = ("no-such-value",)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[DuckDbLake, Settings]:
    root = tmp_path_factory.mktemp("injection")
    wh = DuckDbLake(root / "lake")
    seed(wh)
    return wh, Settings.model_validate({"home": str(root / "home"), "warehouse": {"path": str(root / "lake")}})


@pytest.fixture(scope="module", autouse=True)
def unchanged(seeded: tuple[DuckDbLake, Settings], tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The module runs in an empty folder; after its last test the lake and that folder are exactly as before."""
    wh, _ = seeded
    cwd = tmp_path_factory.mktemp("cwd")
    before: Snapshot = snapshot(wh, cwd)
    assert before.rows["cost_daily"] == 2 and before.rows["gpu_minutes"] == 180 and before.rows["net_samples"] == 8
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(cwd)
        yield
    assert snapshot(wh, cwd) == before
    assert nothing_escaped() == []


def flt(field: str, values: tuple[str, ...]) -> CostFilter:
    return CostFilter(**{field: values})


# Every dashboards/queries (and costs) function that takes a CostFilter: (name, call with a filter).
FILTERED: list[tuple[str, Callable[[DuckDbLake, Settings, CostFilter], Any]]] = [
    ("costs.summary", lambda wh, s, f: costs.summary(wh, ["team", "project", "env"], SINCE, UNTIL, TZ, f)),
    ("costs.daily_by", lambda wh, s, f: cost_queries.daily_by(wh, s, "provider", SINCE, UNTIL, f)),
    ("costs.month_to_date", lambda wh, s, f: cost_queries.month_to_date(wh, s, UNTIL, f)),
    ("costs.headline", lambda wh, s, f: cost_queries.headline(wh, s, UNTIL, f)),
    ("gpu.efficiency", lambda wh, s, f: gpu.efficiency(wh, s, SINCE, UNTIL, f)),
    ("gpu.idle_now", lambda wh, s, f: gpu.idle_now(wh, s, TELEMETRY_START + dt.timedelta(minutes=50), f)),
    ("network.traffic", lambda wh, s, f: network.traffic(wh, s, SINCE, UNTIL, f)),
    ("savings.savings", lambda wh, s, f: savings.savings(wh, s, SINCE, UNTIL, f, now=NOW)),
    ("savings.idle_waste", lambda wh, s, f: savings.idle_waste(wh, s, SINCE, UNTIL, f, now=NOW)),
    ("savings_plan.spot_share", lambda wh, s, f: savings_plan.spot_share(wh, s, SINCE, UNTIL, f)),
    ("savings_plan.spot_share_weekly", lambda wh, s, f: savings_plan.spot_share_weekly(wh, s, SINCE, UNTIL, f)),
    ("migration.daily_sides", lambda wh, s, f: migration.daily_sides(wh, s, SINCE, UNTIL, f)),
    ("migration.monthly_cost", lambda wh, s, f: migration.monthly_cost(wh, s, UNTIL, f)),
    ("migration.view", lambda wh, s, f: migration.view(wh, s, SINCE, UNTIL, f)),
    ("budgets.month_outlook", lambda wh, s, f: budgets.month_outlook(wh, s, UNTIL, f, now=NOW)),
]  # fmt: skip


@pytest.mark.parametrize("field", list(FILTERS))
@pytest.mark.parametrize(("name", "call"), FILTERED, ids=[n for n, _ in FILTERED])
def test_every_filter_field_takes_payloads_as_values(
    seeded: tuple[DuckDbLake, Settings], field: str, name: str, call: Callable[..., Any]
) -> None:
    wh, s = seeded
    got = call(wh, s, flt(field, PAYLOADS))
    assert got == call(wh, s, flt(field, TRAPS[field] or NOTHING)), f"{name}: a payload changed the {field} filter"


def test_payloads_in_every_field_at_once_cannot_smuggle_each_other(seeded: tuple[DuckDbLake, Settings]) -> None:
    """One value naming another parameter (@f_teams) next to a value that would break out of its quotes."""
    wh, s = seeded
    everywhere = CostFilter(**{f: PAYLOADS for f in FILTERS})
    rows = costs.summary(wh, ["team", "provider"], SINCE, UNTIL, s.reporting.timezone, everywhere).to_pylist()
    assert rows == []  # platform is never a payload, so nothing passes every filter
    trap_only = CostFilter(**{f: PAYLOADS for f in FILTERS if f != "platforms"})
    rows = costs.summary(wh, ["team", "provider"], SINCE, UNTIL, s.reporting.timezone, trap_only).to_pylist()
    assert [(r["team"], r["provider"], r["billed_cost"]) for r in rows] == [(TEAM, PROVIDER, 7.0)]


def test_the_seeded_trap_values_are_found_exactly(seeded: tuple[DuckDbLake, Settings]) -> None:
    wh, s = seeded
    tz = s.reporting.timezone
    for field, values in TRAPS.items():
        total = sum(r["billed_cost"] for r in costs.summary(wh, [], SINCE, UNTIL, tz, flt(field, PAYLOADS)).to_pylist())
        assert total == (7.0 if values else 0.0), field
    assert costs.dimension_values(wh, tz)["team"] == sorted(["ml-research", TEAM])


def test_host_series_and_id_lists_take_payloads_as_values(seeded: tuple[DuckDbLake, Settings]) -> None:
    wh, s = seeded
    heat = gpu.heatmap(wh, s, SINCE, UNTIL, PAYLOADS)
    assert set(heat.column("host").to_pylist()) == {HOST} and heat == gpu.heatmap(wh, s, SINCE, UNTIL, (HOST,))
    assert gpu.health_trend(wh, s, SINCE, UNTIL, PAYLOADS) == gpu.health_trend(wh, s, SINCE, UNTIL, (HOST,))
    thr = network.throughput(wh, s, SINCE, UNTIL, PAYLOADS, PAYLOADS)
    assert thr == network.throughput(wh, s, SINCE, UNTIL, (HOST,), ()) and thr.num_rows > 0
    sat = network.saturation(wh, s, SINCE, UNTIL, (*PAYLOADS, SERIES))
    assert set(sat.column("series").to_pylist()) == {SERIES}
    for p in PAYLOADS:
        assert alert_queries.one_alert(wh, s, p).num_rows == 0
        assert list_prices(wh, [p]).num_rows == 0


@pytest.mark.parametrize("payload", PAYLOADS[:8])
def test_identifiers_are_allow_listed_not_quoted(seeded: tuple[DuckDbLake, Settings], payload: str) -> None:
    """`--by` and the chart's dimension name a column: anything outside costs.DIMENSIONS is refused."""
    wh, s = seeded
    with pytest.raises(ValueError, match="unknown --by"):
        costs.summary(wh, ["provider", payload], SINCE, UNTIL, s.reporting.timezone)
    with pytest.raises(ValueError, match="unknown --by"):
        cost_queries.daily_by(wh, s, payload, SINCE, UNTIL)


def test_bind_is_one_pass_and_leaves_strings_and_comments_alone() -> None:
    # Before: @f_projects' value "@f_teams" was re-scanned and got f_teams' literal spliced into its quotes.
    sql = bind("SELECT * FROM t WHERE a IN UNNEST(@f_teams) AND b IN UNNEST(@f_projects)",
               {"f_teams": ["' OR 1=1 --"], "f_projects": ["@f_teams"]})  # fmt: skip
    assert sql == r"SELECT * FROM t WHERE a IN UNNEST(['\' OR 1=1 --']) AND b IN UNNEST(['@f_teams'])"
    kept = "SELECT '@tz', `@tz`, @tzx, @@tz -- @tz\n/* @tz */ '''@tz''' # @tz\n"
    assert bind(kept + ", @tz", {"tz": "UTC"}) == kept + ", 'UTC'"


@pytest.mark.parametrize("value", PAYLOADS)
def test_every_payload_round_trips_through_a_literal(value: str) -> None:
    import duckdb

    from exporters.warehouse.sqltext import DUCKDB_SHIMS

    con = duckdb.connect()
    for shim in DUCKDB_SHIMS:
        con.execute(shim)
    assert con.execute(to_duckdb(bind("SELECT @v AS v, [@v] AS l", {"v": value}))).fetchall() == [(value, [value])]


def test_text_that_is_not_utf8_is_a_clean_query_error(seeded: tuple[DuckDbLake, Settings]) -> None:
    wh, _ = seeded
    with pytest.raises(QueryError, match="not valid UTF-8"):
        list_prices(wh, ["\udcff"])  # what Python makes of a non-UTF-8 byte in argv


READ_ONLY_REFUSED = [
    f"COPY (SELECT 1) TO '{PWN}'",
    f"SELECT 1; COPY (SELECT 1) TO '{PWN}'",
    f"ATTACH '{PWN}.db' AS pwn",
    "DROP TABLE cost_daily",
    "DELETE FROM cost_daily WHERE TRUE",
    "INSERT INTO silences SELECT * FROM silences",
    "CREATE TABLE pwn AS SELECT 1",
    "CREATE OR REPLACE VIEW cost_daily AS SELECT 1 AS x",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "PRAGMA version",
    "CALL pragma_version()",
    f"EXPORT DATA OPTIONS (uri = '{PWN}/*.csv', format = 'CSV') AS SELECT 1",
    "BEGIN SELECT 1; END",
]


@pytest.mark.parametrize("sql", READ_ONLY_REFUSED)
def test_the_raw_sql_door_refuses_anything_but_one_select(seeded: tuple[DuckDbLake, Settings], sql: str) -> None:
    wh, _ = seeded
    with pytest.raises(QueryError):
        wh.read_only_query(sql)


@pytest.mark.parametrize("path", ["/etc/passwd", "/etc/hostname"])
def test_a_select_in_the_raw_sql_door_reads_no_file_outside_the_lake(
    seeded: tuple[DuckDbLake, Settings], path: str
) -> None:
    wh, _ = seeded
    assert Path(path).exists()
    with pytest.raises(QueryError, match="Permission Error"):
        wh.read_only_query(f"SELECT * FROM read_csv('{path}')")
    with pytest.raises(QueryError, match="Permission Error"):
        wh.read_only_query(f"SELECT * FROM read_text('{path}')")
    got = wh.read_only_query("SELECT team, SUM(billed_cost) AS usd FROM cost_daily GROUP BY 1 ORDER BY 1")
    assert got.to_pylist() == [{"team": TEAM, "usd": 7.0}, {"team": "ml-research", "usd": 100.0}]
