"""Collectors: one package per source, each registered by name. Import this package to fill the registry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spendscope.registry import Registry

if TYPE_CHECKING:
    from collectors.base import Collector

# name (as on the CLI: `spendscope collect NAME`) → factory taking the Settings.
registry: Registry[type[Collector]] = Registry("collector")


def load_all() -> Registry[type[Collector]]:
    """Import every collector module once, so each registers itself (explicit imports, no entry points)."""
    import collectors.databricks.collector
    import collectors.focus.collector
    import collectors.gcp_billing.collector
    import collectors.gcp_budgets.collector
    import collectors.gpu.dcgm
    import collectors.gpu.nvidia_smi
    import collectors.gpu.nvml
    import collectors.gpu.prometheus
    import collectors.inventory.collector
    import collectors.network.collector
    import collectors.workload.collector  # noqa: F401

    return registry
