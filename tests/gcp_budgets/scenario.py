"""The rules the GCP budget tests plan from, against the fixture account (tests/fixtures/gcp_budgets/budgets.json).

Against the fixture, a sync must: update spendscope:team-monthly/ml-research (amount 15,000 → 20,000; the forecast
threshold rules added), leave spendscope:project-monthly/acme-ml-prod unchanged, create
spendscope:team-monthly/ml-platform (GCP's "ML platform (finance)" has its scope but is not ours) and
spendscope:gce-monthly, report spendscope:retired-rule as mapped by no rule, and skip fleet-daily (a day budget)
and dbx-monthly (Databricks). The other three GCP budgets are not ours and are never written.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from alerts.loader import parse_rules
from alerts.rules.budget import BudgetRule
from tests.gcp_budgets.budget_api import ACCOUNT

RULES = [
    {"name": "team-monthly", "type": "budget", "period": "month", "group_by": ["team"],
     "amounts": {"ml-research": 20000, "ml-platform": 15000}, "forecast": True},
    {"name": "project-monthly", "type": "budget", "period": "month", "group_by": ["project"],
     "amounts": {"acme-ml-prod": 30000}, "thresholds": {"warning": 0.8}},
    {"name": "gce-monthly", "type": "budget", "period": "month", "scope": {"platform": "gce"}, "amount_usd": 20000,
     "thresholds": {"critical": 0.9}},
    {"name": "fleet-daily", "type": "budget", "period": "day", "amount_usd": 2000},
    {"name": "dbx-monthly", "type": "budget", "period": "month", "scope": {"platform": "databricks"},
     "amount_usd": 25000},
]  # fmt: skip
ID = f"billingAccounts/{ACCOUNT}/budgets/"
RESEARCH = ID + "8b1f0a52-6c1e-4f0e-9a33-0c1d2e3f4a5b"  # spendscope:team-monthly/ml-research
PROJECT = ID + "2c7e9d14-0b5a-4c3e-8f21-9a8b7c6d5e4f"  # spendscope:project-monthly/acme-ml-prod
RETIRED = ID + "9d8c7b6a-5f4e-4d3c-b2a1-0f9e8d7c6b5a"  # spendscope:retired-rule
NOT_OURS = {ID + "f3a4b5c6-d7e8-4f90-a1b2-c3d4e5f6a7b8", ID + "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
            ID + "4b3a2918-1706-4f5e-8d9c-ab0c1d2e3f40"}  # fmt: skip


def budget_rules() -> list[BudgetRule]:
    return [r for r in parse_rules(yaml.safe_dump({"rules": RULES})) if isinstance(r, BudgetRule)]


def write_config(root: Path, endpoint: str, extra: str = "") -> Path:
    """root/spendscope.toml: a lake under root, the rules in root/rules.yaml, [gcp_budgets] at `endpoint`."""
    (root / "rules.yaml").write_text(yaml.safe_dump({"rules": RULES}))
    cfg = root / "spendscope.toml"
    cfg.write_text(
        f'home = "{root}/home"\n[warehouse]\npath = "{root}/lake"\n[alerts]\nrule_files = ["rules.yaml"]\n'
        f'[gcp_budgets]\nbilling_account = "{ACCOUNT}"\napi_endpoint = "{endpoint}"\n{extra}'
    )
    return cfg
