"""GPU shapes per machine / node type and accelerator model names."""

from __future__ import annotations

import pytest

from collectors.inventory.node_types import GpuShape, accelerator_model, model_from_text, shape_of, short_name


@pytest.mark.parametrize(
    ("machine_type", "shape"),
    [
        ("a3-highgpu-1g", GpuShape("H100", 1)),
        ("a3-highgpu-8g", GpuShape("H100", 8)),
        ("a3-megagpu-8g", GpuShape("H100", 8)),
        ("a3-ultragpu-8g", GpuShape("H200", 8)),
        ("a2-highgpu-4g", GpuShape("A100", 4)),
        ("a2-megagpu-16g", GpuShape("A100", 16)),
        ("a2-ultragpu-2g", GpuShape("A100", 2)),
        ("g2-standard-8", GpuShape("L4", 1)),
        ("g2-standard-48", GpuShape("L4", 4)),
        ("g2-standard-96", GpuShape("L4", 8)),
        ("p4d.24xlarge", GpuShape("A100", 8)),
        ("p5.48xlarge", GpuShape("H100", 8)),
        ("Standard_NC24ads_A100_v4", GpuShape("A100", 1)),
        ("Standard_ND96isr_H100_v5", GpuShape("H100", 8)),
        ("https://www.googleapis.com/compute/v1/projects/p/zones/z/machineTypes/a3-highgpu-2g", GpuShape("H100", 2)),
    ],
)
def test_known_gpu_shapes(machine_type: str, shape: GpuShape) -> None:
    assert shape_of(machine_type) == shape


@pytest.mark.parametrize("machine_type", ["n2-standard-16", "e2-medium", "i3.xlarge", "", None])
def test_cpu_or_unknown_types_have_no_shape(machine_type: str | None) -> None:
    assert shape_of(machine_type) is None


@pytest.mark.parametrize(
    ("accelerator", "model"),
    [
        ("projects/p/zones/us-central1-a/acceleratorTypes/nvidia-h100-80gb", "H100"),
        ("nvidia-h100-mega-80gb", "H100"),
        ("nvidia-h200-141gb", "H200"),
        ("nvidia-tesla-a100", "A100"),
        ("nvidia-a100-80gb", "A100"),
        ("nvidia-l4", "L4"),
        ("nvidia-h100-future-96gb", "H100"),  # not in the table: the family in the name
        ("nvidia-rtx-pro-6000", "nvidia-rtx-pro-6000"),  # no known family: the name itself
    ],
)
def test_accelerator_models(accelerator: str, model: str) -> None:
    assert accelerator_model(accelerator) == model


def test_short_name_and_free_text_model() -> None:
    assert short_name("https://www.googleapis.com/compute/v1/projects/p/zones/us-central1-a") == "us-central1-a"
    assert short_name("g2-standard-8") == "g2-standard-8"
    assert short_name(None) is None
    assert model_from_text("8x NVIDIA A100 80GB") == "A100"
    assert model_from_text("General Purpose") is None
