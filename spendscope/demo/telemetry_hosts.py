"""The demo's GPU hosts and what each did when: segments of the plan's billed runs, with an activity profile.

A segment is one host (VM) running for one billed run, so telemetry covers exactly the seconds the billing
charges. Host names are the instance names in the billing export (`export_row.vm_name`): GCE instance
names, GKE node names `gke-<cluster>-<pool>-<8 hex>-<4 hex>`, and Databricks cluster VMs
`<cluster_id>-node-<i>` — the same names the inventory rows list in `hosts`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from spendscope.demo.export_row import crc, vm_name
from spendscope.demo.fleet import A2, NODES, Node
from spendscope.demo.plan import Plan, Run
from spendscope.demo.workspace import DBX

H100_MODEL, A100_MODEL = "NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-40GB"
# Framebuffer totals as nvidia-smi / DCGM report them (MiB).
FB_TOTAL_MIB = {H100_MODEL: 81559, A100_MODEL: 40960}


@dataclass(frozen=True)
class Degradation:
    """A stretch where a workload ran markedly worse than its baseline (for the degradation rule)."""

    workload: str
    platform: str
    key: str
    start: dt.datetime
    end: dt.datetime
    factor: float  # throughput multiplier during the episode


@dataclass(frozen=True)
class Segment:
    """One host running for one billed run, and how its GPUs behave meanwhile."""

    host: str
    key: str  # NODES or DBX key
    index: int  # VM index within its pool / cluster
    platform: str  # gce | gke | databricks
    node: Node
    start: dt.datetime
    end: dt.datetime
    profile: str  # train | batch | notebook | inference | idle
    source: str  # dcgm (GCE, GKE) | nvidia-smi (Databricks nodes, via an init script)
    namespace: str | None
    pod: str | None

    @property
    def gpus(self) -> int:
        """GPUs per VM."""
        return self.node.machine.gpus

    @property
    def model(self) -> str:
        """The GPU model name as NVML / DCGM report it."""
        return A100_MODEL if self.node.machine.name == A2.name else H100_MODEL


def node_of(key: str) -> Node | None:
    """The VMs behind a plan key (None for serverless Databricks and the GKE fee)."""
    if key in NODES:
        return NODES[key]
    c = DBX.get(key)
    return c.node if c else None


def platform_of(node: Node) -> str:
    """gce | gke | databricks, as focus_gcp.sql tells them apart (labels)."""
    keys = {k for k, _ in node.labels}
    if any(k.startswith("databricks") for k in keys):
        return "databricks"
    return "gke" if "goog-k8s-cluster-name" in keys else "gce"


def label(node: Node, key: str) -> str | None:
    """The node's label `key` (team, workload, k8s-namespace, …), None when absent."""
    return dict(node.labels).get(key)


def _profile(plan: Plan, run: Run, node: Node) -> str:
    for stretch in plan.idle:
        if run.key == stretch.key and stretch.start <= run.start < stretch.end:
            return "idle"
    workload = label(node, "workload")
    if workload in ("training", "batch", "inference", "notebook"):
        return "train" if workload == "training" else workload
    return "batch"


def _pod(node: Node, run: Run, index: int) -> tuple[str | None, str | None]:
    """Kubernetes attribution dcgm-exporter adds on GKE nodes (the pod holding the GPUs)."""
    ns = label(node, "k8s-namespace")
    if ns is None:
        return None, None
    stem = {"training": "llm-train", "batch": "embed-batch", "inference": "triton-a100"}.get(ns, ns)
    tag = f"{crc(f'{run.start.isoformat()}/{index}') % 16**5:05x}"
    return ns, f"{stem}-{tag}"


def segments(plan: Plan, days: set[dt.date]) -> list[Segment]:
    """Every GPU host's running stretch on `days`, in a stable order (start, host)."""
    out: list[Segment] = []
    for run in plan.runs:
        if run.start.date() not in days:
            continue
        node = node_of(run.key)
        if node is None or node.machine.gpus == 0:
            continue
        platform = platform_of(node)
        profile = _profile(plan, run, node)
        for index in range(run.first_node, run.first_node + run.nodes):
            ns, pod = _pod(node, run, index) if profile != "idle" else (None, None)
            out.append(
                Segment(
                    vm_name(node, index),
                    run.key,
                    index,
                    platform,
                    node,
                    run.start,
                    run.end,
                    profile,
                    "nvidia-smi" if platform == "databricks" else "dcgm",
                    ns,
                    pod,
                )
            )
    out.sort(key=lambda s: (s.start, s.host))
    return out


def telemetry_days(plan: Plan, recent: int) -> list[dt.date]:
    """The last `recent` days plus the story's landmark days (spike, idle stretches); none when recent = 0."""
    if recent <= 0:
        return []
    days = set(plan.days[-recent:])
    if plan.spike:
        days.add(plan.spike.day)
    for stretch in plan.idle:
        d = stretch.start.date()
        while d < stretch.end.date() or (d == stretch.end.date() and stretch.end.time() != dt.time()):
            days.add(d)
            d += dt.timedelta(days=1)
    return sorted(d for d in days if d in set(plan.days))


def degradation(plan: Plan, days: set[dt.date]) -> Degradation | None:
    """The episode: Databricks `llm-finetune` at 78% throughput for up to 3 hours of its longest run on `days`."""
    runs = [r for r in plan.runs if r.key == "llm-finetune" and r.start.date() in days and r.seconds >= 5400]
    if not runs:
        return None
    run = max(runs, key=lambda r: (r.seconds, r.start))
    start = run.start + dt.timedelta(minutes=30)
    end = min(start + dt.timedelta(hours=3), run.end)
    return Degradation("training", "databricks", run.key, start, end, 0.78)
