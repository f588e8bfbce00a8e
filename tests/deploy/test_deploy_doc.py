"""docs/deploy.md names exactly the API calls our action and inventory code makes (read from the code, so a new
call shows up here), and its links to files of the repository resolve."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.deploy.files import ROOT

DOC = ROOT / "docs" / "deploy.md"
# file → how a call found in it is named in the doc (the client's method, qualified where the bare name is vague)
SOURCES = {
    "alerts/actions/gce.py": (r"client\(\)\.(\w+)\(", "InstancesClient.{}"),
    "alerts/actions/gke.py": (r"client\(\)\.(\w+)\(", "ClusterManagerClient.{}"),
    "alerts/actions/databricks.py": (r"client\(\)\.clusters\.(\w+)\(", "clusters.{}"),
    "collectors/inventory/gce.py": (r"client\.(\w+)\(", "InstancesClient.{}"),
    "collectors/inventory/gke.py": (r"client\.(\w+)\(", "ClusterManagerClient.{}"),
    "collectors/inventory/databricks.py": (r"client\.(\w+\.\w+)\(", "{}"),
    "collectors/inventory/databricks_serverless.py": (r"client\.(\w+\.\w+)\(", "{}"),
    "collectors/databricks/statement_api.py": (r"statement_execution\.(\w+)", "statement_execution.{}"),
}


def calls() -> list[tuple[str, str]]:
    out = []
    for rel, (pattern, shape) in SOURCES.items():
        found = set(re.findall(pattern, (ROOT / rel).read_text(encoding="utf-8")))
        assert found, f"no API call found in {rel}: the pattern is stale"
        out += [(rel, shape.format(name)) for name in sorted(found)]
    return out


@pytest.mark.parametrize(("source", "call"), calls())
def test_the_doc_names_every_call_the_code_makes(source: str, call: str) -> None:
    named = re.search(rf"(?<![\w.]){re.escape(call)}(?!\w)", DOC.read_text(encoding="utf-8"))
    assert named, f"{call} ({source}) is missing from docs/deploy.md"


def test_the_iam_table_covers_each_part() -> None:
    text = DOC.read_text(encoding="utf-8")
    for needle in ("roles/bigquery.dataViewer", "roles/bigquery.jobUser", "roles/bigquery.dataEditor",
                   "compute.instances.stop", "container.clusters.update", "CAN RESTART", "CAN MANAGE",
                   "system.billing.usage", "roles/billing.viewer", "roles/iam.workloadIdentityUser"):  # fmt: skip
        assert needle in text, needle


def test_relative_links_resolve() -> None:
    links = re.findall(r"\]\((\.\./[^)#]+|[\w-]+\.md)(?:#[\w-]+)?\)", DOC.read_text(encoding="utf-8"))
    assert links
    missing = [link for link in links if not (DOC.parent / link).resolve().exists()]
    assert missing == []
    assert all(Path(DOC.parent / link).resolve().is_relative_to(ROOT) for link in links)
