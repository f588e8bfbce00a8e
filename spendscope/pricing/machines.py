"""What a VM of each machine type our fleet uses bills for: vCPUs, memory (GiB), GPUs, bundled Local SSD.

Sources (Google Cloud docs): "Accelerator-optimized machine family" — the A3 High / A3 Mega and A2 Standard /
A2 Ultra tables (https://cloud.google.com/compute/docs/accelerator-optimized-machines), and "General-purpose
machine family: C4A" (https://cloud.google.com/compute/docs/general-purpose-machines#c4a_series). Memory is
the tables' "GB", which the machine-type API reports as MiB (a3-highgpu-8g: memoryMb 1916928 = 1872 GiB), and
Compute Engine bills RAM per GiB-hour. A3 and A2 Ultra VMs come with Local SSD (375 GiB disks), billed at the
Local SSD rate. Core/RAM SKU family per series: A3 High bills "A3 Instance Core/Ram"; A3 Mega is taken to bill
"A3Plus" (UNVERIFIED, formats.md §1.7); A2 both variants "A2"; C4A "C4A".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MachineShape:
    """One machine type: the quantities its VM bills per hour, and which SKU family prices its cores and RAM."""

    vcpus: int
    memory_gib: float
    family: str  # core/RAM SKU family: A3, A3PLUS, A2, C4A
    gpu_model: str | None = None  # prices.item of the GPU SKU: H100, H100-MEGA, A100-40GB, A100-80GB
    gpus: int = 0
    local_ssd_gib: int = 0


def _gpu_series(
    prefix: str, family: str, model: str, per_gpu: tuple[int, int, int], counts: tuple[int, ...]
) -> dict[str, MachineShape]:
    """Shapes that scale linearly with the GPU count: (vCPUs, GiB, Local SSD GiB) per GPU."""
    cpu, mem, ssd = per_gpu
    return {f"{prefix}{n}g": MachineShape(cpu * n, mem * n, family, model, n, ssd * n) for n in counts}


def _c4a(kind: str, gib_per_vcpu: int) -> dict[str, MachineShape]:
    return {f"c4a-{kind}-{n}": MachineShape(n, n * gib_per_vcpu, "C4A") for n in (1, 2, 4, 8, 16, 32, 48, 64, 72)}


MACHINES: dict[str, MachineShape] = {
    # A3 High: 26 vCPU, 234 GB and 2 × 375 GiB Local SSD per H100 (a3-highgpu-8g: 208 vCPU, 1872 GB, 6000 GiB).
    **_gpu_series("a3-highgpu-", "A3", "H100", (26, 234, 750), (1, 2, 4, 8)),
    # A3 Mega: one shape, 8 H100 Mega.
    "a3-megagpu-8g": MachineShape(208, 1872, "A3PLUS", "H100-MEGA", 8, 6000),
    # A2 Standard: 12 vCPU and 85 GB per A100 40GB, no bundled Local SSD; a2-megagpu-16g is 96 vCPU, 1360 GB.
    **_gpu_series("a2-highgpu-", "A2", "A100-40GB", (12, 85, 0), (1, 2, 4, 8)),
    "a2-megagpu-16g": MachineShape(96, 1360, "A2", "A100-40GB", 16),
    # A2 Ultra: 12 vCPU, 170 GB and 375 GiB Local SSD per A100 80GB.
    **_gpu_series("a2-ultragpu-", "A2", "A100-80GB", (12, 170, 375), (1, 2, 4, 8)),
    # C4A (Axion Arm): standard 4, highmem 8, highcpu 2 GB per vCPU.
    **_c4a("standard", 4),
    **_c4a("highmem", 8),
    **_c4a("highcpu", 2),
}


def shape(machine_type: str | None) -> MachineShape | None:
    """The shape of a machine type (a name or a resource URL ending in it), None when not in the table."""
    if not machine_type:
        return None
    return MACHINES.get(machine_type.rstrip("/").rsplit("/", 1)[-1].lower())
