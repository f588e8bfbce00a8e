"""docker/grafana/: the dashboard JSON parses, every PromQL expression is valid for the real promtool and selects
only metrics of our catalog (exporters/metrics.csv) or recording rules of spendscope-rules.yml, with label
matchers the catalog gives those metrics; the provisioning files point at the compose Prometheus and the
mounted dashboards folder. Grafana itself is not run here."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from exporters.prometheus.catalog import catalog
from tests.deploy.files import (
    DASHBOARD_JSON,
    DOCKER,
    PROMTOOL,
    SPENDSCOPE_RULES,
    host_path,
    load_yaml,
    run_tool,
    service,
)
from tests.deploy.promql import metric_names, selectors

PROVISIONING = DOCKER / "grafana" / "provisioning"
# Grafana's built-in variables, replaced by values of their kind for promtool.
GRAFANA_VARS = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1d"}
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD_JSON.read_text(encoding="utf-8"))
    return data


def panels() -> list[dict[str, Any]]:
    return [p for p in dashboard()["panels"] if p["type"] != "row"]


def exprs() -> list[tuple[str, str]]:
    """(panel title, expr) of every query of every panel."""
    return [(p["title"], t["expr"]) for p in panels() for t in p["targets"]]


def recorded() -> set[str]:
    groups = load_yaml(SPENDSCOPE_RULES)["groups"]
    return {r["record"] for g in groups for r in g["rules"] if "record" in r}


def variable_queries() -> dict[str, str]:
    return {v["name"]: v["query"]["query"] for v in dashboard()["templating"]["list"] if v["type"] == "query"}


def label_values_metric(query: str) -> str:
    """The series selector of Grafana's `label_values(selector, label)`."""
    m = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", query.strip())
    assert m, f"not a label_values(selector, label) query: {query}"
    return m.group(1)


def test_dashboard_has_the_panels_an_operator_needs() -> None:
    titles = {p["title"] for p in panels()}
    assert len(titles) == len(panels()), "panel titles are unique"
    used = set().union(*(metric_names(e) for _, e in exprs()))
    # spend, GPU utilization and idle cost, and collector health, at least
    assert {"spendscope_cost_usd", "spendscope_gpu_utilization_ratio", "spendscope_gpu_idle_cost_usd_per_hour",
            "spendscope_collector_up", "spendscope_collector_last_success_timestamp_seconds"} <= used  # fmt: skip
    rows = [p["title"] for p in dashboard()["panels"] if p["type"] == "row"]
    assert rows == ["Spend", "GPU utilization and idle cost", "Network", "Collector and pipeline health"]


def test_every_panel_is_well_formed() -> None:
    ids = [p["id"] for p in dashboard()["panels"]]
    assert len(ids) == len(set(ids))
    for p in panels():
        assert p["targets"], p["title"]
        assert p["datasource"] == DATASOURCE, p["title"]
        assert all(t["datasource"] == DATASOURCE for t in p["targets"]), p["title"]
        assert len({t["refId"] for t in p["targets"]}) == len(p["targets"]), p["title"]
        assert {"h", "w", "x", "y"} <= set(p["gridPos"]) and p["gridPos"]["x"] + p["gridPos"]["w"] <= 24
        assert p["description"].strip(), p["title"]


def test_every_expression_selects_only_catalog_metrics_or_our_recording_rules() -> None:
    known = set(catalog()) | recorded()
    unknown = {title: sorted(metric_names(e) - known) for title, e in exprs()}
    assert {t: u for t, u in unknown.items() if u} == {}
    assert all(metric_names(e) for _, e in exprs())


def test_label_matchers_use_labels_the_catalog_gives_the_metric() -> None:
    cat = catalog()
    wrong = [
        (title, s.metric, sorted(s.labels - set(cat[s.metric].labels)))
        for title, e in exprs()
        for s in selectors(e)
        if s.metric in cat and not s.labels <= set(cat[s.metric].labels)
    ]
    assert wrong == []


def test_units_follow_the_metric_names() -> None:
    """A panel over _usd series shows dollars, over _ratio series percent."""
    for p in panels():
        names = set().union(*(metric_names(t["expr"]) for t in p["targets"]))
        unit = p["fieldConfig"]["defaults"]["unit"]
        if names and all("_usd" in n for n in names):
            assert unit == "currencyUSD", p["title"]
        if names and all(n.endswith("_ratio") for n in names):
            assert unit == "percentunit", p["title"]


def test_template_variables_query_catalog_metrics() -> None:
    queries = variable_queries()
    assert set(queries) == {"platform", "cluster"}
    for name, query in queries.items():
        (sel,) = selectors(label_values_metric(query))
        assert sel.metric in catalog(), name
        assert name in catalog()[sel.metric].labels
    ds = [v for v in dashboard()["templating"]["list"] if v["type"] == "datasource"]
    assert ds[0]["name"] == "datasource" and ds[0]["query"] == "prometheus"
    assert ds[0]["current"]["value"] == provisioned_datasources()["Prometheus"]["uid"]


def test_tokenizer_skips_syntax_and_catches_unknown_functions() -> None:
    expr = (
        'sum by (platform, cluster) (rate(spendscope_a_total{x="y z", platform=~"$platform"}[$__rate_interval])) '
        "> on (cluster) group_left (team) 1.5e3 * min(spendscope:recorded) unless ignoring (gpu) spendscope_b "
        "offset 1h30m and bool spendscope_c or vector(0)"
    )
    assert metric_names(expr) == {"spendscope_a_total", "spendscope:recorded", "spendscope_b", "spendscope_c"}
    assert selectors(expr)[0].labels == {"x", "platform"}
    with pytest.raises(ValueError, match="sumx"):
        metric_names("sumx(spendscope_cost_usd)")


@pytest.mark.integration
def test_promtool_parses_every_expression(tmp_path: Path) -> None:
    """Each expression (Grafana variables replaced) as a recording rule: promtool check rules parses its PromQL."""
    assert shutil.which(PROMTOOL)
    rules = []
    for i, (_, expr) in enumerate(exprs() + [(n, label_values_metric(q)) for n, q in variable_queries().items()]):
        text = expr
        for var, value in GRAFANA_VARS.items():
            text = text.replace(var, value)
        text = re.sub(r"\$\{?\w+\}?", ".*", text)  # dashboard variables: regex matchers
        rules.append({"record": f"grafana:expr_{i}", "expr": text})
    path = tmp_path / "grafana-exprs.yml"
    path.write_text(json.dumps({"groups": [{"name": "grafana", "rules": rules}]}), encoding="utf-8")
    result = run_tool(PROMTOOL, "check", "rules", path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


def provisioned_datasources() -> dict[str, dict[str, Any]]:
    data = load_yaml(PROVISIONING / "datasources" / "prometheus.yaml")
    assert data["apiVersion"] == 1
    return {d["name"]: d for d in data["datasources"]}


def test_datasource_provisioning_points_at_the_compose_prometheus_and_alertmanager() -> None:
    ds = provisioned_datasources()
    prom, am = ds["Prometheus"], ds["Alertmanager"]
    assert (prom["type"], prom["url"], prom["access"], prom["isDefault"]) == (
        "prometheus", "http://prometheus:9090", "proxy", True,
    )  # fmt: skip
    assert (am["type"], am["url"]) == ("alertmanager", "http://alertmanager:9093")
    assert am["jsonData"]["implementation"] == "prometheus"
    assert sum(d.get("isDefault", False) for d in ds.values()) == 1
    assert len({d["uid"] for d in ds.values()}) == len(ds)


def test_dashboard_provisioning_reads_the_mounted_dashboards_folder() -> None:
    data = load_yaml(PROVISIONING / "dashboards" / "spendscope.yaml")
    assert data["apiVersion"] == 1
    (provider,) = data["providers"]
    assert provider["type"] == "file"
    assert provider["allowUiUpdates"] is False
    path = provider["options"]["path"]
    assert host_path("grafana", path) == DASHBOARD_JSON.parent
    assert host_path("grafana", "/etc/grafana/provisioning") == PROVISIONING
    assert service("grafana")["environment"]["GF_PATHS_PROVISIONING"] == "/etc/grafana/provisioning"
