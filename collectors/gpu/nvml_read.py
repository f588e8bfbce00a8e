"""Read one NVML device (or MIG device) into gpu_samples columns, in base units.

Every NVML call is made through `call`: an `NVMLError` of any kind (NotSupported, NoPermission,
GpuIsLost, …) or a function missing from an older `pynvml` leaves that column null, never fails the
device — "not measured" stays apart from zero. The module is passed in (the real `pynvml` or a test's
stand-in), so nothing here imports NVML.

Units: NVML gives % (→ ratio 0–1), bytes, milliwatts (→ W), millijoules (→ J), MHz (→ Hz) and PCIe
throughput in KB/s (→ bytes/s, taking KB as 1024 bytes as NVML's other sizes do; unverified on hardware).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from types import ModuleType
from typing import Any

MIB = 1024 * 1024
_MIG_PROFILE = re.compile(r"\bMIG\s+(\S+)")


def call(nvml: ModuleType, name: str, *args: Any, **kwargs: Any) -> Any:
    """`nvml.<name>(*args)`, or None where NVML (or this pynvml) does not give it."""
    fn: Callable[..., Any] | None = getattr(nvml, name, None)
    if fn is None:
        return None
    try:
        return fn(*args, **kwargs)
    except nvml.NVMLError:
        return None


def text(value: Any) -> str | None:
    """NVML strings arrive as str or bytes depending on the function and pynvml version."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").rstrip("\x00")
    return str(value)


def _scaled(value: Any, factor: float) -> float | None:
    return None if value is None else float(value) * factor


def identity(nvml: ModuleType, handle: Any) -> dict[str, Any]:
    """UUID, model name and PCI bus id of a device."""
    pci = call(nvml, "nvmlDeviceGetPciInfo", handle)
    return {
        "gpu_uuid": text(call(nvml, "nvmlDeviceGetUUID", handle)),
        "gpu_model": text(call(nvml, "nvmlDeviceGetName", handle)),
        "pci_bus_id": text(getattr(pci, "busId", None)) if pci is not None else None,
    }


def memory(nvml: ModuleType, handle: Any) -> dict[str, float | None]:
    """Framebuffer used/free/reserved in bytes; v2 splits out `reserved` (v1's `used` includes it)."""
    version = getattr(nvml, "nvmlMemory_v2", None)
    info = call(nvml, "nvmlDeviceGetMemoryInfo", handle, version=version) if version is not None else None
    if info is not None:
        return {"fb_used_bytes": float(info.used), "fb_free_bytes": float(info.free),
                "fb_reserved_bytes": float(info.reserved)}  # fmt: skip
    info = call(nvml, "nvmlDeviceGetMemoryInfo", handle)
    if info is None:
        return {"fb_used_bytes": None, "fb_free_bytes": None, "fb_reserved_bytes": None}
    return {"fb_used_bytes": float(info.used), "fb_free_bytes": float(info.free), "fb_reserved_bytes": None}


def utilization(nvml: ModuleType, handle: Any) -> dict[str, float | None]:
    """GPU / memory-copy / encoder / decoder busy ratios (NVML gives %); MIG devices give none."""
    util = call(nvml, "nvmlDeviceGetUtilizationRates", handle)
    enc = call(nvml, "nvmlDeviceGetEncoderUtilization", handle)
    dec = call(nvml, "nvmlDeviceGetDecoderUtilization", handle)
    return {
        "gpu_util_ratio": util.gpu / 100.0 if util is not None else None,
        "mem_copy_util_ratio": util.memory / 100.0 if util is not None else None,
        "enc_util_ratio": enc[0] / 100.0 if enc is not None else None,
        "dec_util_ratio": dec[0] / 100.0 if dec is not None else None,
    }


def field_value(nvml: ModuleType, fv: Any) -> float | None:
    """The number in one `c_nvmlFieldValue_t`, read by its valueType; None where its own return failed."""
    if fv.nvmlReturn != nvml.NVML_SUCCESS:
        return None
    member = {
        nvml.NVML_VALUE_TYPE_DOUBLE: "dVal",
        nvml.NVML_VALUE_TYPE_UNSIGNED_INT: "uiVal",
        nvml.NVML_VALUE_TYPE_UNSIGNED_LONG: "ulVal",
        nvml.NVML_VALUE_TYPE_UNSIGNED_LONG_LONG: "ullVal",
        nvml.NVML_VALUE_TYPE_SIGNED_LONG_LONG: "sllVal",
        nvml.NVML_VALUE_TYPE_SIGNED_INT: "siVal",
        getattr(nvml, "NVML_VALUE_TYPE_UNSIGNED_SHORT", 6): "usVal",
    }.get(fv.valueType)
    return float(getattr(fv.value, member)) if member else None


def field_values(nvml: ModuleType, handle: Any) -> dict[str, float | None]:
    """Memory temperature and the PCIe replay counter, read in one nvmlDeviceGetFieldValues call."""
    ids = {
        "memory_temp_celsius": nvml.NVML_FI_DEV_MEMORY_TEMP,
        "pcie_replay_total": nvml.NVML_FI_DEV_PCIE_REPLAY_COUNTER,
    }
    values = call(nvml, "nvmlDeviceGetFieldValues", handle, list(ids.values()))
    if values is None:
        return dict.fromkeys(ids)
    return {name: field_value(nvml, values[i]) for i, name in enumerate(ids)}


def throttle_reasons(nvml: ModuleType, handle: Any) -> float | None:
    """The clocks-event (formerly throttle) reasons bitmask; the old call is kept for older drivers."""
    reasons = call(nvml, "nvmlDeviceGetCurrentClocksEventReasons", handle)
    if reasons is None:
        reasons = call(nvml, "nvmlDeviceGetCurrentClocksThrottleReasons", handle)
    return None if reasons is None else float(reasons)


def ecc(nvml: ModuleType, handle: Any) -> dict[str, float | None]:
    """Single-/double-bit ECC totals: aggregate (lifetime) where given, else volatile (since driver load).

    Aggregate first, as the dcgm field map and the nvidia-smi parser do: one meaning for ecc_*_total whichever
    source reported it.
    """
    out: dict[str, float | None] = {}
    for column, kind in (("ecc_sbe_total", nvml.NVML_MEMORY_ERROR_TYPE_CORRECTED),
                         ("ecc_dbe_total", nvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED)):  # fmt: skip
        count = call(nvml, "nvmlDeviceGetTotalEccErrors", handle, kind, nvml.NVML_AGGREGATE_ECC)
        if count is None:
            count = call(nvml, "nvmlDeviceGetTotalEccErrors", handle, kind, nvml.NVML_VOLATILE_ECC)
        out[column] = _scaled(count, 1)
    return out


def retirement(nvml: ModuleType, handle: Any) -> dict[str, float | None]:
    """Retired pages (pre-Ampere) and remapped rows (Ampere and newer, H100 included)."""
    pages = [
        call(nvml, "nvmlDeviceGetRetiredPages", handle, cause)
        for cause in (nvml.NVML_PAGE_RETIREMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS,
                      nvml.NVML_PAGE_RETIREMENT_CAUSE_DOUBLE_BIT_ECC_ERROR)
    ]  # fmt: skip
    known = [len(p) for p in pages if p is not None]
    rows = call(nvml, "nvmlDeviceGetRemappedRows", handle)
    corr, unc, _pending, failure = rows if rows is not None else (None, None, None, None)
    return {
        "retired_pages_total": float(sum(known)) if known else None,
        "remapped_rows_correctable_total": _scaled(corr, 1),
        "remapped_rows_uncorrectable_total": _scaled(unc, 1),
        "row_remap_failure": None if failure is None else float(bool(failure)),
    }


def whole_gpu(nvml: ModuleType, handle: Any) -> dict[str, Any]:
    """Every gpu_samples metric NVML gives for a whole GPU."""
    return {
        **identity(nvml, handle),
        **utilization(nvml, handle),
        **memory(nvml, handle),
        **field_values(nvml, handle),
        **ecc(nvml, handle),
        **retirement(nvml, handle),
        "power_watts": _scaled(call(nvml, "nvmlDeviceGetPowerUsage", handle), 1e-3),
        "energy_joules_total": _scaled(call(nvml, "nvmlDeviceGetTotalEnergyConsumption", handle), 1e-3),
        "gpu_temp_celsius": _scaled(call(nvml, "nvmlDeviceGetTemperature", handle, nvml.NVML_TEMPERATURE_GPU), 1),
        "sm_clock_hz": _scaled(call(nvml, "nvmlDeviceGetClockInfo", handle, nvml.NVML_CLOCK_SM), 1e6),
        "mem_clock_hz": _scaled(call(nvml, "nvmlDeviceGetClockInfo", handle, nvml.NVML_CLOCK_MEM), 1e6),
        "throttle_reasons": throttle_reasons(nvml, handle),
        "pcie_tx_bytes_per_second": _scaled(
            call(nvml, "nvmlDeviceGetPcieThroughput", handle, nvml.NVML_PCIE_UTIL_TX_BYTES), 1024
        ),
        "pcie_rx_bytes_per_second": _scaled(
            call(nvml, "nvmlDeviceGetPcieThroughput", handle, nvml.NVML_PCIE_UTIL_RX_BYTES), 1024
        ),
    }


def mig_enabled(nvml: ModuleType, handle: Any) -> bool:
    """Whether MIG mode is currently on (NotSupported on GPUs without MIG: off)."""
    mode = call(nvml, "nvmlDeviceGetMigMode", handle)
    return bool(mode) and mode[0] == getattr(nvml, "NVML_DEVICE_MIG_ENABLE", 1)


def mig_devices(nvml: ModuleType, handle: Any, parent_uuid: str | None) -> list[dict[str, Any]]:
    """One row of columns per MIG device of `handle`; empty slots (NotFound) are skipped.

    A MIG row is named as dcgm-exporter names it: the PARENT GPU's `GPU-…` UUID plus the GPU instance id
    (its own `MIG-…` UUID is not used), so gpu_minutes' de-duplication by gpu_uuid + mig_instance sees one
    MIG instance, not two, when both collectors run on a host.
    """
    count = call(nvml, "nvmlDeviceGetMaxMigDeviceCount", handle) or 0
    out = []
    for i in range(count):
        mig = call(nvml, "nvmlDeviceGetMigDeviceHandleByIndex", handle, i)
        if mig is None:
            continue
        name = text(call(nvml, "nvmlDeviceGetName", mig))
        gi = call(nvml, "nvmlDeviceGetGpuInstanceId", mig)
        # A MIG device's name ends with its profile ("NVIDIA H100 80GB HBM3 MIG 1g.10gb").
        profile = m.group(1) if name and (m := _MIG_PROFILE.search(name)) else None
        out.append(
            {
                "gpu_uuid": parent_uuid,
                "mig_instance": None if gi is None else str(gi),
                "mig_profile": profile,
                # NVML does not report utilization for MIG devices: null, never 0.
                **utilization(nvml, mig),
                **memory(nvml, mig),
            }
        )
    return out
