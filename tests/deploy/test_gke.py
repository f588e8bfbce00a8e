"""docker/gke/*.yaml, the example manifests for GKE, checked for structure (no cluster here): a CronJob per
billing collector against BigQuery running a real CLI command, the dashboard as a Deployment behind IAP, one
daemon (inventory, telemetry, alerts, auto-shutdown), Workload Identity service accounts, hardened pods, no
secret in any manifest."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from click.testing import CliRunner

from collectors import load_all
from spendscope.cli import cli
from tests.deploy.files import DOCKER, load_yaml_docs

GKE = DOCKER / "gke"
SECRETISH = re.compile(r"(?i)(pass(word)?|secret|token|api_?key|credential|private)")


def objects() -> list[dict[str, Any]]:
    docs = [d for path in sorted(GKE.glob("*.yaml")) for d in load_yaml_docs(path)]
    assert docs
    return docs


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects() if o["kind"] == kind}


def pod_specs() -> dict[str, dict[str, Any]]:
    out = {n: o["spec"]["jobTemplate"]["spec"]["template"]["spec"] for n, o in of_kind("CronJob").items()}
    out |= {n: o["spec"]["template"]["spec"] for n, o in of_kind("Deployment").items()}
    return out


def test_every_object_is_namespaced_and_typed() -> None:
    for o in objects():
        assert {"apiVersion", "kind", "metadata"} <= set(o)
        if o["kind"] != "Namespace":
            assert o["metadata"]["namespace"] == "spendscope", o["metadata"]["name"]


def test_a_cronjob_per_billing_collector_running_a_real_command() -> None:
    jobs = of_kind("CronJob")
    commands = {n: spec["containers"][0]["args"] for n, spec in pod_specs().items() if n in jobs}
    assert commands["spendscope-gcp-billing"] == ["spendscope", "collect", "gcp-billing"]
    assert commands["spendscope-databricks"] == ["spendscope", "collect", "databricks"]
    registry = load_all()
    for name, args in commands.items():
        assert args[0] == "spendscope", name
        res = CliRunner().invoke(cli, [*args[1:], "--help"])
        assert res.exit_code == 0, f"{name}: {' '.join(args)} is not a spendscope command: {res.output}"
        if args[1] == "collect":
            registry.get(args[2])  # KeyError naming the valid collectors when it is not one


@pytest.mark.parametrize("name", ["spendscope-gcp-billing", "spendscope-databricks", "spendscope-report-daily"])
def test_cronjobs_never_overlap_and_stop_retrying_on_config_errors(name: str) -> None:
    spec = of_kind("CronJob")[name]["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] <= 3 and job["activeDeadlineSeconds"] > 0
    (rule,) = job["podFailurePolicy"]["rules"]
    assert rule["action"] == "FailJob" and set(rule["onExitCodes"]["values"]) == {2, 3}  # config error, bad input
    assert job["template"]["spec"]["restartPolicy"] == "Never"  # podFailurePolicy requires it


def test_one_daemon_never_two() -> None:
    daemon = of_kind("Deployment")["spendscope-daemon"]["spec"]
    assert daemon["replicas"] == 1 and daemon["strategy"] == {"type": "Recreate"}
    assert daemon["template"]["spec"]["containers"][0]["args"] == ["spendscope", "run"]


def test_dashboard_deployment_behind_iap() -> None:
    dash = of_kind("Deployment")["spendscope-dashboard"]["spec"]["template"]["spec"]["containers"][0]
    assert dash["args"][:5] == ["python", "-m", "streamlit", "run", "/opt/spendscope/app.py"]
    assert dash["readinessProbe"]["httpGet"]["path"] == "/_stcore/health"
    env = {e["name"]: e.get("value") for e in dash["env"]}
    assert env["SPENDSCOPE_DASHBOARD_READONLY"] == "1" and env["SPENDSCOPE_HEALTHCHECK_TARGET"] == "dashboard"
    assert "envFrom" not in dash  # the dashboard gets no secret
    svc = of_kind("Service")["spendscope-dashboard"]
    backend_name = json.loads(svc["metadata"]["annotations"]["cloud.google.com/backend-config"])["default"]
    backend = of_kind("BackendConfig")[backend_name]
    assert backend["spec"]["iap"]["enabled"] is True
    assert backend["spec"]["healthCheck"]["requestPath"] == "/_stcore/health"
    ingress = of_kind("Ingress")["spendscope-dashboard"]["spec"]
    assert ingress["defaultBackend"]["service"]["name"] == svc["metadata"]["name"]


def test_workload_identity_service_accounts_for_every_pod() -> None:
    sas = of_kind("ServiceAccount")
    for name, sa in sas.items():
        gsa = sa["metadata"]["annotations"]["iam.gke.io/gcp-service-account"]
        assert re.fullmatch(r"[\w-]+@[\w-]+\.iam\.gserviceaccount\.com", gsa), name
    used = {spec["serviceAccountName"] for spec in pod_specs().values()}
    assert used == set(sas) == {"spendscope-collector", "spendscope-daemon", "spendscope-dashboard"}
    # only the daemon (alerts and auto-shutdown) runs with the service account that may stop things
    acting = [n for n, spec in pod_specs().items() if spec["serviceAccountName"] == "spendscope-daemon"]
    assert acting == ["spendscope-daemon"]


def test_pods_are_hardened_and_read_the_configmap() -> None:
    config_maps = of_kind("ConfigMap")
    for name, spec in pod_specs().items():
        sc = spec["securityContext"]
        assert sc["runAsNonRoot"] is True and sc["runAsUser"] >= 1000, name
        assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for c in spec["containers"]:
            csc = c["securityContext"]
            assert csc["readOnlyRootFilesystem"] is True and csc["allowPrivilegeEscalation"] is False, name
            assert csc["capabilities"] == {"drop": ["ALL"]}, name
            assert ":" in c["image"] and not c["image"].endswith(":latest"), name
            assert c["resources"]["limits"]["memory"], name
            mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
            assert "/tmp" in mounts, name  # the only writable path
            env = {e["name"]: e.get("value") for e in c["env"]}
            assert env["SPENDSCOPE_CONFIG"].startswith("/etc/spendscope/"), name
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert volumes["config"]["configMap"]["name"] in config_maps, name
    ns = of_kind("Namespace")["spendscope"]
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_no_secret_value_in_any_manifest() -> None:
    for spec in pod_specs().values():
        for c in spec["containers"]:
            for e in c["env"]:
                assert not (SECRETISH.search(e["name"]) and e.get("value")), e["name"]
            for src in c.get("envFrom", []):
                assert set(src) == {"secretRef"}
    assert of_kind("Secret") == {}, "Secrets are created by hand or from Secret Manager, never committed"
