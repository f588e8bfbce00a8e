"""The demo's GCP fleet and its prices, as data: SKUs, machine shapes, credits, projects, GCE/GKE nodes.

Synthetic but shaped like the real thing (formats.md §1.7): an A3 VM bills separate GPU, core and
RAM SKUs under Compute Engine, Spot SKUs say so in their description, GKE nodes carry the
goog-k8s-* labels. SKU ids, account ids and prices are illustrative (near us-central1 list prices).
The Databricks side is in workspace.py.
"""

from __future__ import annotations

from dataclasses import dataclass

BILLING_ACCOUNT = "01A2B3-C4D5E6-F7A8B9"
REGION, ZONE = "us-central1", "us-central1-a"
GKE_CLUSTER = "ml-gke-prod"


@dataclass(frozen=True)
class Service:
    id: str
    description: str


COMPUTE = Service("6F81-5844-456A", "Compute Engine")
GKE = Service("CCD8-9BF1-090E", "Kubernetes Engine")


@dataclass(frozen=True)
class Sku:
    """One billable SKU: `price` is USD per pricing unit; `per_unit` converts usage units to pricing units."""

    id: str
    description: str
    price: float
    usage_unit: str = "seconds"
    pricing_unit: str = "hour"
    per_unit: float = 1 / 3600
    service: Service = COMPUTE
    scale: float = 1.0  # usage units per (quantity × second): RAM is GiB → byte-seconds


def _sku(sid: str, desc: str, price: float) -> Sku:
    return Sku(sid, desc, price)


def _ram(sid: str, desc: str, price: float) -> Sku:
    # Memory is metered in byte-seconds and priced per gibibyte hour.
    return Sku(sid, desc, price, "byte-seconds", "gibibyte hour", 1 / (GIB * 3600), scale=GIB)


GIB = 2**30


H100 = _sku("9A2C-41E7-8B3D", "Nvidia H100 80GB GPU running in Americas", 9.20)
A3_CORE = _sku("5C1E-77A0-2F49", "A3 Instance Core running in Americas", 0.0335)
A3_RAM = _ram("E84B-03D6-91C2", "A3 Instance Ram running in Americas", 0.0045)
H100_SPOT = _sku("3F60-B9C4-7D15", "Nvidia H100 80GB GPU attached to Spot Preemptible VMs running in Americas", 2.25)
A3_CORE_SPOT = _sku("71D8-2A5E-C603", "Spot Preemptible A3 Instance Core running in Americas", 0.0123)
A3_RAM_SPOT = _ram("B0E2-6C91-4A7F", "Spot Preemptible A3 Instance Ram running in Americas", 0.00165)
A100 = _sku("039C-61F4-E2B8", "Nvidia Tesla A100 GPU running in Americas", 2.934)
A2_CORE = _sku("8E4D-5B17-0C3A", "A2 Instance Core running in Americas", 0.031611)
A2_RAM = _ram("D6A9-E0F2-17B4", "A2 Instance Ram running in Americas", 0.004237)
C4A_CORE = _sku("4B7F-9D20-6E81", "C4A Instance Core running in Americas", 0.03465)
C4A_RAM = _ram("2C95-A1E3-B74D", "C4A Instance Ram running in Americas", 0.003938)
N2_CORE = _sku("BB77-5FD5-8E93", "N2 Instance Core running in Americas", 0.031611)
N2_RAM = _ram("EE0F-9C2B-6D41", "N2 Instance Ram running in Americas", 0.004237)
GKE_FEE = Sku("F4A1-80C2-3B9E", "Regional Kubernetes Clusters", 0.10, service=GKE)
# Storage and egress are billed in daily rows; byte-seconds → gibibyte month uses a 730-hour month.
HYPERDISK = Sku(
    "6D2E-4F8A-C1B7", "Hyperdisk Balanced Capacity", 0.08, "byte-seconds", "gibibyte month", 1 / (GIB * 730 * 3600)
)
LOCAL_SSD = Sku(
    "A3C0-7E15-94D2", "SSD backed Local Storage", 0.08, "byte-seconds", "gibibyte month", 1 / (GIB * 730 * 3600)
)
EGRESS = Sku("9DE9-8A13-F4C6", "Network Internet Egress from Americas to Americas", 0.12, "bytes", "gibibyte", 1 / GIB)


@dataclass(frozen=True)
class Machine:
    """A machine shape and the SKUs one VM of it bills per second: (sku, quantity)."""

    name: str
    cores: int
    memory_gib: int
    skus: tuple[tuple[Sku, float], ...]
    gpus: int = 0
    local_ssd_gib: int = 0

    @property
    def hourly(self) -> float:
        return sum(s.price * q for s, q in self.skus)


def _vm(name: str, cores: int, mem: int, gpu: tuple[Sku, int] | None, core: Sku, ram: Sku, ssd: int = 0) -> Machine:
    skus = ((gpu[0], float(gpu[1])),) if gpu else ()
    return Machine(name, cores, mem, (*skus, (core, float(cores)), (ram, float(mem))), gpu[1] if gpu else 0, ssd)


A3 = _vm("a3-highgpu-8g", 208, 1872, (H100, 8), A3_CORE, A3_RAM, ssd=6000)
A3_SPOT = _vm("a3-highgpu-8g", 208, 1872, (H100_SPOT, 8), A3_CORE_SPOT, A3_RAM_SPOT, ssd=6000)
A2 = _vm("a2-highgpu-1g", 12, 85, (A100, 1), A2_CORE, A2_RAM)
C4A = _vm("c4a-highmem-16", 16, 128, None, C4A_CORE, C4A_RAM)
N2_STD = _vm("n2-standard-8", 8, 32, None, N2_CORE, N2_RAM)
N2_HIGHMEM = _vm("n2-highmem-16", 16, 128, None, N2_CORE, N2_RAM)


@dataclass(frozen=True)
class Credit:
    """A credit applied to every row of a node: `rate` × cost, negative (formats.md §1.3)."""

    type: str
    name: str
    full_name: str
    id: str
    rate: float


CUD_DOLLAR = Credit(
    "COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE",
    "Committed use discount - dollar based",
    "Committed use discount - dollar based: GCE Commitments",
    "8f1c-0b2-a44-d71",
    0.25,
)
CUD_CPU = Credit("COMMITTED_USAGE_DISCOUNT", "Committed Usage Discount: CPU", "", "Committed Usage Discount: CPU", 0.37)
SUD = Credit("SUSTAINED_USAGE_DISCOUNT", "Sustained Usage Discount", "", "Sustained Usage Discount", 0.20)


@dataclass(frozen=True)
class Project:
    id: str
    number: str
    name: str
    labels: tuple[tuple[str, str], ...]


ML = Project("acme-ml-prod", "418273645091", "acme-ml-prod", (("cost-center", "ml"),))
DATA = Project("acme-data-prod", "552019384756", "acme-data-prod", (("cost-center", "data"),))
DBX_PROJECT = Project("acme-databricks-ws", "630184527391", "acme-databricks-ws", (("cost-center", "ml"),))
ANCESTRY = "/204981736512/771203948561/"


@dataclass(frozen=True)
class Node:
    """A GCE VM, a GKE node-pool's VMs (`name` is the prefix), or a Databricks cluster's VMs."""

    key: str
    name: str
    machine: Machine
    project: Project
    labels: tuple[tuple[str, str], ...]
    credit: Credit | None = None
    disk_gib: int = 0  # Hyperdisk attached (billed daily, while the VM exists)

    @property
    def net_hourly(self) -> float:
        return self.machine.hourly * (1 - (self.credit.rate if self.credit else 0.0))


def tags(team: str, env: str, workload: str | None = None) -> tuple[tuple[str, str], ...]:
    out = (("team", team), ("env", env))
    return (*out, ("workload", workload)) if workload else out


def _gke(pool: str, ns: str) -> tuple[tuple[str, str], ...]:
    return (("goog-k8s-cluster-name", GKE_CLUSTER), ("goog-k8s-node-pool-name", pool), ("k8s-namespace", ns))


NODES: dict[str, Node] = {
    n.key: n
    for n in (
        Node("a3-train-01", "a3-train-01", A3, ML, tags("ml-research", "prod", "training"), CUD_DOLLAR, 2048),
        Node("a3-train-02", "a3-train-02", A3, ML, tags("ml-research", "dev", "notebook"), CUD_DOLLAR, 2048),
        *(
            Node(
                f"c4a-etl-{i}",
                f"c4a-etl-{i}",
                C4A,
                DATA,
                tags("data-eng", "prod", "batch" if i < 3 else "analytics"),
                CUD_CPU if i < 3 else None,
                512,
            )
            for i in range(1, 5)
        ),
        Node(
            "gke-system",
            "gke-ml-gke-prod-system-2b7d41c9",
            N2_STD,
            ML,
            (*_gke("system", "kube-system"), *tags("ml-platform", "prod")),
            SUD,
        ),
        Node(
            "gke-h100-ondemand",
            "gke-ml-gke-prod-h100-ondemand-5e0a93f2",
            A3,
            ML,
            (*_gke("h100-ondemand", "training"), *tags("ml-platform", "prod", "training")),
            CUD_DOLLAR,
        ),
        Node(
            "gke-h100-spot",
            "gke-ml-gke-prod-h100-spot-8c14d6ab",
            A3_SPOT,
            ML,
            (*_gke("h100-spot", "batch"), *tags("ml-platform", "prod", "batch")),
        ),
        Node(
            "gke-a100",
            "gke-ml-gke-prod-a100-inference-31f7c0e5",
            A2,
            ML,
            (*_gke("a100-inference", "inference"), *tags("inference", "prod", "inference")),
        ),
    )
}
