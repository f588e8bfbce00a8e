"""Synthetic GCP billing export rows at scale (nested, labels, credits), as Parquet and NDJSON.

Synthetic but shaped like the detailed export (formats.md §1.2): hourly rows over `days` days, a fleet of
SKUs and resources, 0–4 labels, 1–3 system labels, project labels, 0–2 credits. Written in chunks with
vectorized Arrow so generating 5M rows stays within a few hundred MB.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SKUS = [
    ("6F81-5844-456A", "Compute Engine", "E0B7-D3E7-C5F3", "Nvidia H100 80GB GPU running in Americas", 11.06),
    ("6F81-5844-456A", "Compute Engine", "2A35-2A4B-1A0D", "Nvidia H100 80GB GPU attached to Spot Preemptible VMs running in Americas", 3.32),
    ("6F81-5844-456A", "Compute Engine", "C5E4-2F1C-9B11", "A3 Instance Core running in Americas", 0.031),
    ("6F81-5844-456A", "Compute Engine", "D17E-8A3B-4F20", "A3 Instance Ram running in Americas", 0.0042),
    ("6F81-5844-456A", "Compute Engine", "A1E9-77B2-10C4", "Nvidia Tesla A100 GPU running in Americas", 2.93),
    ("6F81-5844-456A", "Compute Engine", "B44C-1D0E-7A93", "C4A Instance Core running in Americas", 0.034),
    ("6F81-5844-456A", "Compute Engine", "B44C-1D0E-7A94", "C4A Instance Ram running in Americas", 0.0038),
    ("6F81-5844-456A", "Compute Engine", "9E3D-0C1B-2A77", "Hyperdisk Balanced Capacity", 0.00011),
    ("6F81-5844-456A", "Compute Engine", "7F2E-5B9A-3C01", "Network Internet Egress from Americas to Americas", 0.12),
    ("CCD8-9BF1-090E", "Kubernetes Engine", "B561-BFBD-1264", "Autopilot Pod mCPU Requests (us-central1)", 0.0445),
    ("95FF-2EF5-5EA1", "Cloud Storage", "E5F0-6A5D-7BAD", "Standard Storage US Multi-region", 0.026),
    ("24E6-581D-38E5", "BigQuery", "3362-E469-6BEF", "Analysis", 6.25),
]  # fmt: skip
TEAMS = ["ml-research", "ml-platform", "inference", "data-eng"]
ENVS = ["prod", "dev"]
WORKLOADS = ["training", "inference", "batch", "analytics", "notebook"]
N_RESOURCES = 2000
PROJECTS = [(f"ml-prj-{i}", f"ML project {i}", str(100000000000 + i)) for i in range(12)]
S = pa.string()


def _str(values: np.ndarray) -> pa.Array:
    """A string array (pa.array on big numpy unicode arrays can come back chunked)."""
    arr = pa.array(values, S)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _kv(keys: np.ndarray, values: np.ndarray, counts: np.ndarray) -> pa.Array:
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    inner = pa.StructArray.from_arrays([pa.array(keys, S), pa.array(values, S)], names=["key", "value"])
    return pa.ListArray.from_arrays(pa.array(offsets), inner)


def chunk(rng: np.random.Generator, n: int, start: dt.datetime, days: int) -> pa.Table:
    hours = rng.integers(0, days * 24, n)
    t0 = np.datetime64(start.replace(tzinfo=None), "us") + hours.astype("timedelta64[h]")
    # Rows belong to a fixed fleet of resources: each has one SKU, project and label set, like a real
    # export where every (hour, resource, SKU) is a row. That keeps label cardinality realistic.
    res_i = rng.integers(0, N_RESOURCES, n)
    sku_i = res_i % len(SKUS)
    prj_i = (res_i // len(SKUS)) % len(PROJECTS)
    base = np.array([s[4] for s in SKUS])[sku_i]
    amount = rng.uniform(600, 3600 * 8, n)
    cost = np.round(base * amount / 3600 * rng.uniform(0.8, 1.2, n), 6)
    # labels: the first 0-4 of team / env / workload / GKE cluster, values fixed per resource
    lab_n = res_i % 5
    tot = int(lab_n.sum())
    lab_pos = np.concatenate([np.arange(c) for c in lab_n]) if tot else np.array([], int)
    lab_owner = np.repeat(res_i, lab_n)
    lab_keys = np.array(["team", "env", "workload", "goog-k8s-cluster-name"])[lab_pos]
    choices = [np.array(TEAMS), np.array(ENVS), np.array(WORKLOADS), np.array(["gke-h100-a", "gke-a100-b"])]
    lab_vals = np.empty(tot, dtype=object)
    for k, pool in enumerate(choices):
        sel = lab_pos == k
        lab_vals[sel] = pool[(lab_owner[sel] // 7) % len(pool)]
    sys_n = rng.integers(1, 4, n)
    sys_keys = np.array(
        ["compute.googleapis.com/machine_spec", "compute.googleapis.com/cores", "compute.googleapis.com/memory"]
    )[np.concatenate([np.arange(c) for c in sys_n])]
    sys_vals = np.array(["a3-highgpu-8g", "208", "1916928"])[np.concatenate([np.arange(c) for c in sys_n])]
    cr_n = rng.choice([0, 0, 1, 1, 2], n)
    ctot = int(cr_n.sum())
    owner = np.repeat(np.arange(n), cr_n)
    cr_amount = -np.round(cost[owner] * rng.uniform(0.05, 0.3, ctot), 6)
    cr_type = np.array(["SUSTAINED_USAGE_DISCOUNT", "COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE"])[rng.integers(0, 2, ctot)]
    credits = pa.ListArray.from_arrays(
        pa.array(np.concatenate([[0], np.cumsum(cr_n)]).astype(np.int32)),
        pa.StructArray.from_arrays(
            [
                pa.array(cr_type, S),
                pa.array(cr_amount),
                pa.array(cr_type, S),
                pa.array(cr_type, S),
                pa.array(cr_type, S),
            ],
            names=["name", "amount", "full_name", "id", "type"],
        ),
    )
    usage_start = pa.array(t0, pa.timestamp("us", tz="UTC"))
    usage_end = pa.array(t0 + np.timedelta64(1, "h"), pa.timestamp("us", tz="UTC"))
    export = pa.array(
        t0 + np.timedelta64(1, "h") + rng.integers(2, 30, n).astype("timedelta64[h]"), pa.timestamp("us", tz="UTC")
    )
    months = np.datetime_as_string(t0, unit="M")
    skus = np.array(SKUS, dtype=object)
    prj = np.array(PROJECTS, dtype=object)
    cols = {
        "billing_account_id": pa.array(np.full(n, "01338E-BE3FD6-363B4C"), S),
        "service": pa.StructArray.from_arrays(
            [pa.array(skus[sku_i, 0], S), pa.array(skus[sku_i, 1], S)], ["id", "description"]
        ),
        "sku": pa.StructArray.from_arrays(
            [pa.array(skus[sku_i, 2], S), pa.array(skus[sku_i, 3], S)], ["id", "description"]
        ),
        "usage_start_time": usage_start,
        "usage_end_time": usage_end,
        "project": pa.StructArray.from_arrays(
            [
                pa.array(prj[prj_i, 0], S),
                pa.array(prj[prj_i, 2], S),
                pa.array(prj[prj_i, 1], S),
                _kv(np.full(n, "team"), np.array(TEAMS)[prj_i % 4], np.ones(n, int)),
                pa.array(np.full(n, "/1234567890/"), S),
                pa.nulls(n, pa.list_(pa.struct([("resource_name", S), ("display_name", S)]))),
            ],
            ["id", "number", "name", "labels", "ancestry_numbers", "ancestors"],
        ),
        "labels": _kv(lab_keys, lab_vals, lab_n),
        "system_labels": _kv(sys_keys, sys_vals, sys_n),
        "location": pa.StructArray.from_arrays(
            [
                pa.array(np.full(n, "us-central1"), S),
                pa.array(np.full(n, "US"), S),
                pa.array(np.full(n, "us-central1"), S),
                pa.array(np.full(n, "us-central1-a"), S),
            ],
            ["location", "country", "region", "zone"],
        ),
        "resource": pa.StructArray.from_arrays(
            [
                _str(np.char.add("vm-", res_i.astype(str))),
                _str(
                    np.char.add(
                        "//compute.googleapis.com/projects/p/zones/us-central1-a/instances/",
                        res_i.astype(str),
                    )
                ),
            ],
            ["name", "global_name"],
        ),
        "export_time": export,
        "cost": pa.array(cost),
        "currency": pa.array(np.full(n, "USD"), S),
        "currency_conversion_rate": pa.array(np.ones(n)),
        "usage": pa.StructArray.from_arrays(
            [
                pa.array(amount),
                pa.array(np.full(n, "seconds"), S),
                pa.array(amount / 3600),
                pa.array(np.full(n, "hour"), S),
            ],
            ["amount", "unit", "amount_in_pricing_units", "pricing_unit"],
        ),
        "credits": credits,
        "invoice": pa.StructArray.from_arrays(
            [pa.array(np.char.replace(months, "-", ""), S), pa.nulls(n, S)], ["month", "publisher_type"]
        ),
        "cost_type": pa.array(np.full(n, "regular"), S),
        "cost_at_list": pa.array(np.round(cost * 1.1, 6)),
        "transaction_type": pa.array(np.full(n, "GOOGLE"), S),
    }
    return pa.table(cols)


def generate(out_dir: Path, rows: int, days: int = 90, seed: int = 1, chunk_rows: int = 250_000) -> tuple[Path, Path]:
    """Write `rows` export rows to out_dir/gcp.parquet and out_dir/gcp.jsonl (NDJSON via DuckDB)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pq_path, js_path = out_dir / "gcp.parquet", out_dir / "gcp.jsonl"
    rng = np.random.default_rng(seed)
    start = dt.datetime(2026, 8, 1, tzinfo=dt.UTC)
    schema = None
    writer = None
    done = 0
    while done < rows:
        n = min(chunk_rows, rows - done)
        t = chunk(rng, n, start, days)
        if writer is None:
            schema = t.schema
            writer = pq.ParquetWriter(pq_path, schema, compression="snappy")
        writer.write_table(t, row_group_size=n)
        done += n
    assert writer is not None
    writer.close()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    # bq extract writes timestamps as "YYYY-MM-DD HH:MM:SS UTC"; DuckDB's JSON writer gives ISO-like text.
    con.execute(f"COPY (SELECT * FROM read_parquet('{pq_path}')) TO '{js_path}' (FORMAT JSON)")
    return pq_path, js_path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--out", type=Path, default=Path("bench/data"))
    args = ap.parse_args()
    print(generate(args.out, args.rows))


if __name__ == "__main__":
    main()
