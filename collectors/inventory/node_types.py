"""GPUs per machine shape: GCE machine types (also Databricks-on-GCP node types), AWS and Azure instance types.

The GPU model is stored as its family ("H100", "A100", "L4", …), the same form as focus_costs.x_GpuModel, so
inventory and billing group by the same value. Counts are per VM. Sources: Google's GPU machine-type pages
(A4/A3/A2/G2 tables), AWS's accelerated-computing instance table, Azure's NC/ND size pages. Databricks'
`clusters.list_node_types()` `num_gpus` overrides the count where available (it is the workspace's own answer).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class GpuShape:
    """GPU model family and GPUs per VM of one machine shape."""

    model: str
    count: int


def _series(prefix: str, model: str, counts: dict[str, int]) -> dict[str, GpuShape]:
    return {f"{prefix}{suffix}": GpuShape(model, n) for suffix, n in counts.items()}


_GPU_COUNTS_1248 = {"1g": 1, "2g": 2, "4g": 4, "8g": 8}

# machine type (lower case) → shape
SHAPES: dict[str, GpuShape] = {
    # Google Compute Engine (Databricks on GCP uses these names as node_type_id)
    **_series("a4-highgpu-", "B200", {"8g": 8}),
    **_series("a4x-highgpu-", "GB200", {"4g": 4}),
    **_series("a3-ultragpu-", "H200", {"8g": 8}),
    **_series("a3-megagpu-", "H100", {"8g": 8}),
    **_series("a3-edgegpu-", "H100", {"8g": 8}),
    **_series("a3-highgpu-", "H100", _GPU_COUNTS_1248),
    **_series("a2-highgpu-", "A100", _GPU_COUNTS_1248),
    **_series("a2-megagpu-", "A100", {"16g": 16}),
    **_series("a2-ultragpu-", "A100", _GPU_COUNTS_1248),
    **_series("g2-standard-", "L4", {"4": 1, "8": 1, "12": 1, "16": 1, "32": 1, "24": 2, "48": 4, "96": 8}),
    # AWS (Databricks on AWS node types)
    "p5.48xlarge": GpuShape("H100", 8),
    "p5e.48xlarge": GpuShape("H200", 8),
    "p5en.48xlarge": GpuShape("H200", 8),
    "p4d.24xlarge": GpuShape("A100", 8),
    "p4de.24xlarge": GpuShape("A100", 8),
    **_series("p3.", "V100", {"2xlarge": 1, "8xlarge": 4, "16xlarge": 8}),
    "p3dn.24xlarge": GpuShape("V100", 8),
    **_series("g5.", "A10G", {"xlarge": 1, "2xlarge": 1, "4xlarge": 1, "8xlarge": 1, "16xlarge": 1}),
    **_series("g5.", "A10G", {"12xlarge": 4, "24xlarge": 4, "48xlarge": 8}),
    **_series("g6.", "L4", {"xlarge": 1, "2xlarge": 1, "4xlarge": 1, "8xlarge": 1, "16xlarge": 1}),
    **_series("g6.", "L4", {"12xlarge": 4, "24xlarge": 4, "48xlarge": 8}),
    **_series("g4dn.", "T4", {"xlarge": 1, "2xlarge": 1, "4xlarge": 1, "8xlarge": 1, "16xlarge": 1}),
    **_series("g4dn.", "T4", {"12xlarge": 4, "metal": 8}),
    # Azure (Databricks on Azure node types)
    **_series("standard_nc", "A100", {"24ads_a100_v4": 1, "48ads_a100_v4": 2, "96ads_a100_v4": 4}),
    "standard_nd96asr_v4": GpuShape("A100", 8),
    "standard_nd96amsr_a100_v4": GpuShape("A100", 8),
    "standard_nd96isr_h100_v5": GpuShape("H100", 8),
    "standard_nd96isr_h200_v5": GpuShape("H200", 8),
    "standard_nc40ads_h100_v5": GpuShape("H100", 1),
    "standard_nc80adis_h100_v5": GpuShape("H100", 2),
    **_series("standard_nc", "T4", {"4as_t4_v3": 1, "8as_t4_v3": 1, "16as_t4_v3": 1, "64as_t4_v3": 4}),
}

# GCE accelerator type (the last part of acceleratorType) → model family
ACCELERATORS: dict[str, str] = {
    "nvidia-b200": "B200",
    "nvidia-gb200": "GB200",
    "nvidia-h200-141gb": "H200",
    "nvidia-h100-80gb": "H100",
    "nvidia-h100-mega-80gb": "H100",
    "nvidia-a100-80gb": "A100",
    "nvidia-tesla-a100": "A100",
    "nvidia-l4": "L4",
    "nvidia-l4-vws": "L4",
    "nvidia-tesla-t4": "T4",
    "nvidia-tesla-t4-vws": "T4",
    "nvidia-tesla-v100": "V100",
    "nvidia-tesla-p100": "P100",
    "nvidia-tesla-p4": "P4",
}

_FAMILY = re.compile(r"(?i)\b(GB200|B200|H200|H100|A100|A10G|L40S|L4|T4|V100|P100|P4)\b")


def short_name(url_or_name: str | None) -> str | None:
    """The last path segment of a GCP resource URL (machine type, zone, accelerator type); names pass through."""
    if not url_or_name:
        return None
    return url_or_name.rstrip("/").rsplit("/", 1)[-1]


def shape_of(machine_type: str | None) -> GpuShape | None:
    """The GPU shape of a machine / node type, None for a CPU-only or unknown type."""
    if not machine_type:
        return None
    return SHAPES.get((short_name(machine_type) or "").lower())


def accelerator_model(accelerator_type: str | None) -> str | None:
    """Model family of a GCE accelerator type (URL or name), e.g. nvidia-h100-80gb → H100."""
    name = (short_name(accelerator_type) or "").lower()
    if not name:
        return None
    if name in ACCELERATORS:
        return ACCELERATORS[name]
    found = _FAMILY.search(name.replace("-", " "))
    return found.group(1).upper() if found else name


def model_from_text(text: str | None) -> str | None:
    """A GPU family named in free text (a Databricks node type description), else None."""
    found = _FAMILY.search(text or "")
    return found.group(1).upper() if found else None
