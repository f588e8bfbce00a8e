"""The demo's Databricks workspace as data: clusters (with their GCE VMs), a SQL warehouse, serving endpoints.

SKU names are as `system.billing.list_prices` has them on GCP (region-suffixed for serverless); DBU
rates per node-hour and USD/DBU list prices are illustrative. Cluster VMs carry `databricks-*` labels
(plus the cluster's custom tags) in the GCP export, so focus_gcp.sql counts them as Databricks spend.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from spendscope.demo.fleet import A2, A3, CUD_DOLLAR, DBX_PROJECT, N2_HIGHMEM, Machine, Node, tags

DBX_ACCOUNT = "7f3c1a52-9e0b-4d8e-a1f6-2b5c8d9e0a14"
DBX_WORKSPACE = "1482936051728364"


def _dbx(cluster_id: str, name: str) -> tuple[tuple[str, str], ...]:
    # Databricks-owned VMs: label keys start with `databricks` → x_Platform='databricks' in focus_gcp.sql.
    return (
        ("databricks-cluster-id", cluster_id),
        ("databricks-cluster-name", name),
        ("databricks-workspace-id", DBX_WORKSPACE),
    )


@dataclass(frozen=True)
class DbxCompute:
    """A Databricks compute resource: a classic cluster (with `node` VMs in our project) or serverless."""

    key: str
    sku: str
    product: str  # billing_origin_product
    dbu_per_node_hour: float
    tags: tuple[tuple[str, str], ...]
    metadata: tuple[tuple[str, str], ...]
    node: Node | None = None
    features: dict[str, object] = field(default_factory=dict)
    run_as: str = "svc-ml@acme.example"


def _cluster(
    key: str,
    cid: str,
    sku: str,
    product: str,
    dbu: float,
    machine: Machine,
    t: tuple[tuple[str, str], ...],
    extra: tuple[tuple[str, str], ...] = (),
    **features: object,
) -> DbxCompute:
    node = Node(key, f"{cid}-node", machine, DBX_PROJECT, (*_dbx(cid, key), *t), CUD_DOLLAR if machine is A3 else None)
    meta = (("cluster_id", cid), ("node_type", machine.name), *extra)
    return DbxCompute(key, sku, product, dbu, t, meta, node, {"is_serverless": False, "is_photon": False, **features})


AP, JOBS = "PREMIUM_ALL_PURPOSE_COMPUTE", "PREMIUM_JOBS_COMPUTE"
SQL_SL = "PREMIUM_SERVERLESS_SQL_COMPUTE_US_CENTRAL"
SERVING = "PREMIUM_SERVERLESS_REAL_TIME_INFERENCE_US_CENTRAL"

DBX: dict[str, DbxCompute] = {
    c.key: c
    for c in (
        _cluster(
            "gpu-research-h100",
            "0915-101532-h100rsch",
            AP,
            "ALL_PURPOSE",
            38.0,
            A3,
            tags("ml-research", "dev", "notebook"),
        ),
        _cluster(
            "llm-finetune",
            "0921-040211-llmft7a2",
            JOBS,
            "JOBS",
            38.0,
            A3,
            tags("ml-research", "prod", "training"),
            (("job_id", "702841533917260"), ("job_name", "llm-finetune")),
            jobs_tier="CLASSIC",
        ),
        _cluster(
            "nightly-embeddings",
            "0923-020005-emb4a100",
            JOBS,
            "JOBS",
            4.3,
            A2,
            tags("ml-platform", "prod", "batch"),
            (("job_id", "118305627744912"), ("job_name", "nightly-embeddings")),
            jobs_tier="CLASSIC",
        ),
        _cluster(
            "etl-daily",
            "0925-050010-etl16hm",
            JOBS,
            "JOBS",
            4.0,
            N2_HIGHMEM,
            tags("data-eng", "prod", "batch"),
            (("job_id", "934417205588031"), ("job_name", "etl-daily")),
            jobs_tier="CLASSIC",
        ),
        DbxCompute(
            "analytics-wh",
            SQL_SL,
            "SQL",
            12.0,
            tags("data-eng", "prod", "analytics"),
            (("warehouse_id", "4f9a2c81d0e37b65"),),
            features={"is_serverless": True, "is_photon": True, "sql_tier": "PRO"},
            run_as="analyst@acme.example",
        ),
        DbxCompute(
            "llm-chat",
            SERVING,
            "MODEL_SERVING",
            40.0,
            tags("inference", "prod", "inference"),
            (("endpoint_name", "llm-chat"), ("endpoint_id", "8d21c6f0a4b94e7fa3c5d0e1b2a39f47")),
            features={"is_serverless": True, "serving_type": "GPU_MODEL"},
        ),
        DbxCompute(
            "embeddings-api",
            SERVING,
            "MODEL_SERVING",
            6.0,
            tags("inference", "prod", "inference"),
            (("endpoint_name", "embeddings-api"), ("endpoint_id", "2b7e90d3c1f84a6b9e05d7c2a8f1b364")),
            features={"is_serverless": True, "serving_type": "MODEL"},
        ),
    )
}

# USD per DBU. JOBS changes price mid-window (the change time is set by the plan) to exercise price periods.
DBU_PRICES: dict[str, float] = {AP: 0.55, JOBS: 0.15, SQL_SL: 0.70, SERVING: 0.082}
JOBS_PRICE_AFTER = 0.17
