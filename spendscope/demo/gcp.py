"""GCP billing export rows (standard + detailed columns, nested) for the plan's GCE, GKE and Databricks VMs.

One row per VM, SKU and usage hour like the real hourly export (a partial hour bills the seconds used);
Hyperdisk, local SSD and egress in daily rows; a few late `adjustment` rows exported days after their
usage. Rows come out in a total order, so the written file is byte-identical for the same plan.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator

from spendscope.demo.export_row import HOUR, Exporter, Row, crc, global_name, vm_name
from spendscope.demo.fleet import EGRESS, GKE_CLUSTER, GKE_FEE, HYPERDISK, LOCAL_SSD, NODES, REGION, ZONE, Node
from spendscope.demo.plan import Plan, Run, disk_nodes
from spendscope.demo.workspace import DBX


def _hours(run: Run) -> Iterator[tuple[dt.datetime, int]]:
    """(hour window start, seconds used in it) for every usage hour a run touches."""
    hour = run.start.replace(minute=0, second=0, microsecond=0)
    while hour < run.end:
        used = (min(run.end, hour + HOUR) - max(run.start, hour)).total_seconds()
        if used > 0:
            yield hour, int(used)
        hour += HOUR


def _node_of(run: Run) -> Node | None:
    if run.key in NODES:
        return NODES[run.key]
    c = DBX.get(run.key)
    return c.node if c else None


def gcp_rows(plan: Plan) -> list[Row]:
    """Every export row of the plan, sorted by usage hour, resource and SKU (a stable, byte-identical order)."""
    ex = Exporter(plan)
    rows: list[Row] = []
    ssd_seconds: dict[tuple[dt.date, str, int], int] = defaultdict(int)
    for run in plan.runs:
        if run.key == "gke-fee":
            rid = f"//container.googleapis.com/projects/acme-ml-prod/locations/{REGION}/clusters/{GKE_CLUSTER}"
            for hour, used in _hours(run):
                rows.append(
                    ex.row(
                        None,
                        GKE_FEE,
                        hour,
                        hour + HOUR,
                        float(used),
                        (GKE_CLUSTER, rid),
                        (("goog-k8s-cluster-name", GKE_CLUSTER),),
                        (),
                        None,
                        zone=None,
                    )
                )
            continue
        node = _node_of(run)
        if node is None:
            continue  # serverless Databricks: no VMs in our project
        m = node.machine
        system = (
            ("compute.googleapis.com/machine_spec", m.name),
            ("compute.googleapis.com/cores", str(m.cores)),
            ("compute.googleapis.com/memory", str(m.memory_gib * 1024)),
        )
        for index in range(run.first_node, run.first_node + run.nodes):
            name = vm_name(node, index)
            resource = (name, global_name(node, name))
            for hour, used in _hours(run):
                for sku, qty in m.skus:
                    amount = round(qty * used * sku.scale, 3)
                    rows.append(
                        ex.row(node, sku, hour, hour + HOUR, amount, resource, node.labels, system, node.credit)
                    )
                if m.local_ssd_gib:
                    ssd_seconds[(hour.date(), node.key, index)] += used
    rows.extend(_daily_rows(plan, ex, ssd_seconds))
    rows.extend(_adjustments(plan, ex))
    rows.sort(key=_order)
    return rows


def _order(row: Row) -> tuple[dt.datetime, str, str, str]:
    """Usage hour, cost type, resource, SKU: a total order, so the file is byte-identical run to run."""
    resource = row.get("resource") or {"name": ""}
    return (row["usage_start_time"], row["cost_type"], resource["name"], row["sku"]["id"])


def _daily_rows(plan: Plan, ex: Exporter, ssd: dict[tuple[dt.date, str, int], int]) -> Iterator[Row]:
    """Hyperdisk, local SSD and egress: one row per resource and day."""
    for day in plan.days:
        start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        end = start + dt.timedelta(days=1)
        for key in disk_nodes(plan.phase[day]):
            node = NODES[key]
            disk = f"{node.name}-data"
            gid = f"//compute.googleapis.com/projects/{node.project.id}/zones/{ZONE}/disks/{disk}"
            yield ex.row(
                node,
                HYPERDISK,
                start,
                end,
                float(node.disk_gib * 2**30 * 86400),
                (disk, gid),
                node.labels,
                (),
                None,
            )
        gke = NODES["gke-a100"]
        yield ex.row(
            gke, EGRESS, start, end, round(plan.egress_gib[day] * 2**30), None, gke.labels, (), None, zone=None
        )
    for (day, key, index), seconds in sorted(ssd.items()):
        node = NODES.get(key) or _dbx_node(key)
        start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        name = vm_name(node, index)
        yield ex.row(
            node,
            LOCAL_SSD,
            start,
            start + dt.timedelta(days=1),
            float(node.machine.local_ssd_gib * 2**30 * seconds),
            (name, global_name(node, name)),
            node.labels,
            (),
            None,
        )


def _dbx_node(key: str) -> Node:
    node = DBX[key].node
    assert node is not None  # only classic clusters have local SSD rows
    return node


def _adjustments(plan: Plan, ex: Exporter) -> Iterator[Row]:
    """Late usage corrections: cost_type adjustment, exported days after the usage they correct."""
    node = NODES["gke-h100-ondemand"]
    sku = node.machine.skus[0][0]
    for day, amount in plan.adjustments:
        start = dt.datetime(day.year, day.month, day.day, 10, tzinfo=dt.UTC)
        name = vm_name(node, 0)
        row = ex.row(node, sku, start, start + HOUR, 0.0, (name, global_name(node, name)), node.labels, (), None)
        row.update(
            cost=amount,
            cost_at_list=amount,
            cost_at_effective_price_default=amount,
            cost_at_list_consumption_model=amount,
            cost_type="adjustment",
            export_time=start + dt.timedelta(days=4, hours=2, minutes=17),
        )
        row["adjustment_info"] = {
            "id": f"{crc(day.isoformat()):08x}-adj",
            "description": f"Usage correction: {sku.description}",
            "mode": "PARTIAL_CORRECTION",
            "type": "USAGE_CORRECTION",
        }
        yield row
