"""On the BigQuery engine a filter value travels as a typed query parameter of the job, never in the SQL text.

The real google-cloud-bigquery client against the real `bqemulator` on loopback (tests/bqemu.py); a spy on
`client.query` keeps each job's SQL and the `queryParameters` of its request body (`QueryJobConfig.to_api_repr`).
"""

from __future__ import annotations

from typing import Any

import pytest

from exporters.warehouse.bigquery import BigQueryWarehouse
from spendscope import costs
from spendscope.costs import CostFilter
from spendscope.errors import QueryError
from tests.security.payloads import DAY, PAYLOADS, TEAM, TS
from tests.seed import TZ, seed_costs

pytestmark = pytest.mark.integration


def spy(monkeypatch: pytest.MonkeyPatch, wh: BigQueryWarehouse) -> list[tuple[str, dict[str, Any]]]:
    sent: list[tuple[str, dict[str, Any]]] = []
    real = wh.client.query

    def query(sql: str, job_config: Any = None, **kw: Any) -> Any:
        sent.append((sql, job_config.to_api_repr() if job_config is not None else {}))
        return real(sql, job_config=job_config, **kw)

    monkeypatch.setattr(wh.client, "query", query)
    return sent


def test_filter_payloads_are_job_parameters_and_match_only_as_data(
    bq_warehouse: BigQueryWarehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_costs(bq_warehouse, [
        {"BilledCost": 100.0, "ProviderName": "Google Cloud", "ServiceName": "Compute Engine", "ChargePeriodStart": TS,
         "Tags": '{"team": "ml-research"}'},
        {"BilledCost": 7.0, "ProviderName": "Databricks", "ServiceName": "Jobs Compute", "ChargePeriodStart": TS,
         "Tags": '{"team": "\'; DROP TABLE cost_daily; --"}'},
    ])  # fmt: skip
    sent = spy(monkeypatch, bq_warehouse)
    rows = costs.summary(bq_warehouse, ["team"], DAY, DAY, TZ, CostFilter(teams=PAYLOADS)).to_pylist()
    assert [(r["team"], r["billed_cost"]) for r in rows] == [(TEAM, 7.0)]
    sql, config = sent[-1]
    assert "IN UNNEST(@f_teams)" in sql
    assert not [p for p in PAYLOADS if len(p) > 3 and p in sql and not p.startswith("@")]  # no value in the text
    params = {p["name"]: p for p in config["query"]["queryParameters"]}
    teams = params["f_teams"]
    assert teams["parameterType"] == {"type": "ARRAY", "arrayType": {"type": "STRING"}}
    assert [v["value"] for v in teams["parameterValue"]["arrayValues"]] == list(PAYLOADS)
    since = params["since"]
    assert (since["parameterType"], since["parameterValue"]) == ({"type": "DATE"}, {"value": str(DAY)})
    total = costs.summary(bq_warehouse, [], DAY, DAY, TZ).to_pylist()
    assert [r["billed_cost"] for r in total] == [107.0]  # cost_daily is still there, whole


def test_the_raw_sql_door_is_read_only_on_bigquery(bq_warehouse: BigQueryWarehouse) -> None:
    assert bq_warehouse.read_only_query("SELECT 1 AS x").to_pylist() == [{"x": 1}]
    for sql in ("DROP TABLE cost_daily", "SELECT 1; DELETE FROM cost_daily WHERE TRUE",
                "EXPORT DATA OPTIONS (uri = 'gs://b/*.csv', format = 'CSV') AS SELECT 1"):  # fmt: skip
        with pytest.raises(QueryError, match=r"read-only|one SELECT"):
            bq_warehouse.read_only_query(sql)
    assert bq_warehouse.query("SELECT COUNT(*) AS n FROM cost_daily").to_pylist() == [{"n": 0}]
