"""NVML collector on a stand-in `pynvml` module injected through the constructor.

The stand-in is a real module object: its constants and NVMLError classes are copied from the installed
nvidia-ml-py 13.x (so `NVMLError(NVML_ERROR_NOT_SUPPORTED)` becomes `NVMLError_NotSupported` exactly as
there), and its functions carry the same names and parameters as pynvml's (checked by a test below). The
device values are synthetic but H100-shaped (80 GB HBM3, ~700 W board, 1980 MHz SM boost).
"""

from __future__ import annotations

import datetime as dt
import inspect
import logging
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pynvml as real
import pytest
from click.testing import CliRunner

from collectors import registry
from collectors.base import Batch, RunContext
from collectors.gpu.nvml import NvmlCollector
from spendscope.clock import fixed_clock
from spendscope.config import Settings
from spendscope.config_telemetry import NvmlConfig
from spendscope.errors import SourceError
from spendscope.scheduler import Daemon

MIB = 1024 * 1024
NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)


def nvml_error(code: int) -> real.NVMLError:
    return real.NVMLError(code)  # pynvml maps the code to its subclass, e.g. NVMLError_NotSupported


@dataclass
class FakeMig:
    """One MIG device (a GPU instance with its compute instance)."""

    uuid: str
    gi: int
    profile: str
    used: int
    total: int
    parent: FakeGpu | None = None


@dataclass
class FakeGpu:
    """One H100 as NVML would report it; `fails` maps a function name to the NVML error code it raises."""

    index: int
    name: str = "NVIDIA H100 80GB HBM3"
    util: tuple[int, int] = (87, 41)
    total: int = 81559 * MIB
    reserved: int = 328 * MIB
    used: int = 60000 * MIB
    power_mw: int = 612_345
    energy_mj: int = 123_456_789_012
    temp: int = 61
    mem_temp: int = 71
    clocks: tuple[int, int] = (1980, 2619)  # SM, memory MHz
    reasons: int = 0x4  # SW power cap
    ecc: tuple[int, int] = (2, 0)  # volatile corrected, uncorrected
    remapped: tuple[int, int, int, int] = (1, 0, 0, 0)
    pcie_kb: tuple[int, int] = (1234, 5678)  # TX, RX KB/s
    replay: int = 3
    fails: dict[str, int] = field(default_factory=dict)
    mig: list[FakeMig | None] | None = None  # None: MIG off; None entries are empty slots
    xid_supported: bool = True

    @property
    def uuid(self) -> str:
        return f"GPU-5ae1b1c4-63b2-d0a5-2d9e-{self.index:012x}"

    @property
    def bus_id(self) -> bytes:
        return f"00000000:{0x18 + 0x10 * self.index:02X}:00.0".encode()


class FakeNvml:
    """Holds the stand-in's state; `module()` exposes its functions under pynvml's names."""

    def __init__(self, gpus: list[FakeGpu], init_error: int | None = None, driver: str = "550.90.07") -> None:
        self.gpus, self.init_error, self.driver = gpus, init_error, driver
        self.calls: dict[str, int] = {}
        self.pending: list[tuple[FakeGpu, int]] = []
        self.registered: set[int] = set()
        for g in gpus:
            for m in g.mig or []:
                if m is not None:
                    m.parent = g

    def module(self) -> types.ModuleType:
        mod = types.ModuleType("pynvml")
        for name, value in vars(real).items():
            if name.startswith(("NVML_", "NVMLError", "nvmlEventType", "nvmlMemory_v")):
                setattr(mod, name, value)
        for name in dir(self):
            if name.startswith("nvml"):
                setattr(mod, name, getattr(self, name))
        return mod

    def fire_xid(self, index: int, xid: int) -> None:
        self.pending.append((self.gpus[index], xid))

    def _check(self, handle: Any, fn: str) -> FakeGpu | FakeMig:
        self.calls[fn] = self.calls.get(fn, 0) + 1
        if isinstance(handle, FakeGpu) and fn in handle.fails:
            raise nvml_error(handle.fails[fn])
        return handle

    def _gpu(self, handle: Any, fn: str) -> FakeGpu:
        h = self._check(handle, fn)
        if isinstance(h, FakeMig):  # NVML gives MIG devices only identity and memory
            raise nvml_error(real.NVML_ERROR_NOT_SUPPORTED)
        return h

    # --- library and system
    def nvmlInit(self) -> None:
        self.calls["nvmlInit"] = self.calls.get("nvmlInit", 0) + 1
        if self.init_error is not None:
            raise nvml_error(self.init_error)

    def nvmlShutdown(self) -> None:
        self.calls["nvmlShutdown"] = self.calls.get("nvmlShutdown", 0) + 1

    def nvmlSystemGetDriverVersion(self) -> str:
        return self.driver

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> FakeGpu:
        return self.gpus[index]

    # --- identity
    def nvmlDeviceGetUUID(self, handle: Any) -> str:
        return self._check(handle, "nvmlDeviceGetUUID").uuid

    def nvmlDeviceGetName(self, handle: Any) -> str:
        h = self._check(handle, "nvmlDeviceGetName")
        if isinstance(h, FakeMig):
            assert h.parent is not None
            return f"{h.parent.name} MIG {h.profile}"
        return h.name

    def nvmlDeviceGetPciInfo(self, handle: Any) -> Any:
        return types.SimpleNamespace(busId=self._gpu(handle, "nvmlDeviceGetPciInfo").bus_id)

    # --- metrics
    def nvmlDeviceGetUtilizationRates(self, handle: Any) -> Any:
        g = self._gpu(handle, "nvmlDeviceGetUtilizationRates")
        if g.mig is not None:  # whole-GPU utilization is not reported in MIG mode
            raise nvml_error(real.NVML_ERROR_NOT_SUPPORTED)
        return types.SimpleNamespace(gpu=g.util[0], memory=g.util[1])

    def nvmlDeviceGetEncoderUtilization(self, handle: Any) -> list[int]:
        self._gpu(handle, "nvmlDeviceGetEncoderUtilization")
        return [0, 167_000]

    def nvmlDeviceGetDecoderUtilization(self, handle: Any) -> list[int]:
        self._gpu(handle, "nvmlDeviceGetDecoderUtilization")
        return [5, 167_000]

    def nvmlDeviceGetMemoryInfo(self, handle: Any, version: Any = None) -> Any:
        h = self._check(handle, "nvmlDeviceGetMemoryInfo_v2" if version else "nvmlDeviceGetMemoryInfo")
        reserved = h.reserved if isinstance(h, FakeGpu) else 0
        free = h.total - h.used - reserved
        if version:
            return types.SimpleNamespace(version=version, total=h.total, reserved=reserved, free=free, used=h.used)
        return types.SimpleNamespace(total=h.total, free=free, used=h.used + reserved)  # v1 used includes reserved

    def nvmlDeviceGetPowerUsage(self, handle: Any) -> int:
        return self._gpu(handle, "nvmlDeviceGetPowerUsage").power_mw

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: Any) -> int:
        return self._gpu(handle, "nvmlDeviceGetTotalEnergyConsumption").energy_mj

    def nvmlDeviceGetTemperature(self, handle: Any, sensor: int) -> int:
        assert sensor == real.NVML_TEMPERATURE_GPU
        return self._gpu(handle, "nvmlDeviceGetTemperature").temp

    def nvmlDeviceGetFieldValues(self, handle: Any, fieldIds: list[int]) -> list[Any]:
        g = self._gpu(handle, "nvmlDeviceGetFieldValues")
        known = {
            real.NVML_FI_DEV_MEMORY_TEMP: ("uiVal", real.NVML_VALUE_TYPE_UNSIGNED_INT, g.mem_temp),
            real.NVML_FI_DEV_PCIE_REPLAY_COUNTER: ("ullVal", real.NVML_VALUE_TYPE_UNSIGNED_LONG_LONG, g.replay),
        }
        out = []
        for fid in fieldIds:
            if fid not in known or f"field:{fid}" in g.fails:  # per-field failure, the call itself succeeds
                out.append(
                    types.SimpleNamespace(
                        fieldId=fid,
                        nvmlReturn=real.NVML_ERROR_NOT_SUPPORTED,
                        valueType=0,
                        value=types.SimpleNamespace(),
                    )
                )
                continue
            member, vtype, v = known[fid]
            out.append(
                types.SimpleNamespace(
                    fieldId=fid,
                    nvmlReturn=real.NVML_SUCCESS,
                    valueType=vtype,
                    value=types.SimpleNamespace(**{member: v}),
                )
            )
        return out  # fmt: skip

    def nvmlDeviceGetClockInfo(self, handle: Any, type: int) -> int:
        g = self._gpu(handle, "nvmlDeviceGetClockInfo")
        return {real.NVML_CLOCK_SM: g.clocks[0], real.NVML_CLOCK_MEM: g.clocks[1]}[type]

    def nvmlDeviceGetCurrentClocksEventReasons(self, handle: Any) -> int:
        return self._gpu(handle, "nvmlDeviceGetCurrentClocksEventReasons").reasons

    def nvmlDeviceGetCurrentClocksThrottleReasons(self, handle: Any) -> int:
        return self._gpu(handle, "nvmlDeviceGetCurrentClocksThrottleReasons").reasons

    def nvmlDeviceGetTotalEccErrors(self, handle: Any, errorType: int, counterType: int) -> int:
        g = self._gpu(handle, "nvmlDeviceGetTotalEccErrors")
        if counterType == real.NVML_AGGREGATE_ECC:
            return 100 + g.ecc[errorType]
        return g.ecc[errorType]

    def nvmlDeviceGetRetiredPages(self, device: Any, sourceFilter: int) -> list[int]:
        self._gpu(device, "nvmlDeviceGetRetiredPages")
        return [0x1000, 0x2000] if sourceFilter == real.NVML_PAGE_RETIREMENT_CAUSE_DOUBLE_BIT_ECC_ERROR else []

    def nvmlDeviceGetRemappedRows(self, device: Any) -> tuple[int, int, int, int]:
        return self._gpu(device, "nvmlDeviceGetRemappedRows").remapped

    def nvmlDeviceGetPcieThroughput(self, device: Any, counter: int) -> int:
        return self._gpu(device, "nvmlDeviceGetPcieThroughput").pcie_kb[counter]

    # --- MIG
    def nvmlDeviceGetMigMode(self, device: Any) -> list[int]:
        g = self._gpu(device, "nvmlDeviceGetMigMode")
        on = real.NVML_DEVICE_MIG_ENABLE if g.mig is not None else real.NVML_DEVICE_MIG_DISABLE
        return [on, on]

    def nvmlDeviceGetMaxMigDeviceCount(self, device: Any) -> int:
        return len(self._gpu(device, "nvmlDeviceGetMaxMigDeviceCount").mig or [])

    def nvmlDeviceGetMigDeviceHandleByIndex(self, device: Any, index: int) -> FakeMig:
        mig = (self._gpu(device, "nvmlDeviceGetMigDeviceHandleByIndex").mig or [])[index]
        if mig is None:
            raise nvml_error(real.NVML_ERROR_NOT_FOUND)
        return mig

    def nvmlDeviceGetGpuInstanceId(self, device: Any) -> int:
        h = self._check(device, "nvmlDeviceGetGpuInstanceId")
        if not isinstance(h, FakeMig):
            raise nvml_error(real.NVML_ERROR_INVALID_ARGUMENT)
        return h.gi

    # --- events
    def nvmlEventSetCreate(self) -> object:
        return object()

    def nvmlDeviceGetSupportedEventTypes(self, handle: Any) -> int:
        g = self._gpu(handle, "nvmlDeviceGetSupportedEventTypes")
        return real.nvmlEventTypeXidCriticalError | real.nvmlEventTypeSingleBitEccError if g.xid_supported else 0

    def nvmlDeviceRegisterEvents(self, handle: Any, eventTypes: int, eventSet: object) -> None:
        self.registered.add(self._gpu(handle, "nvmlDeviceRegisterEvents").index)

    def nvmlEventSetWait(self, eventSet: object, timeoutms: int) -> Any:
        assert timeoutms == 0, "the collector must never block on events"
        if not self.pending:
            raise nvml_error(real.NVML_ERROR_TIMEOUT)
        gpu, xid = self.pending.pop(0)
        return types.SimpleNamespace(device=gpu, eventType=real.nvmlEventTypeXidCriticalError, eventData=xid,
                                     gpuInstanceId=0xFFFFFFFF, computeInstanceId=0xFFFFFFFF)  # fmt: skip

    def nvmlEventSetFree(self, eventSet: object) -> None:
        self.calls["nvmlEventSetFree"] = self.calls.get("nvmlEventSetFree", 0) + 1


def h100s(n: int = 8, **per_index: dict[str, Any]) -> list[FakeGpu]:
    return [FakeGpu(index=i, **per_index.get(f"gpu{i}", {})) for i in range(n)]


def collect(collector: NvmlCollector, ctx: RunContext) -> list[dict[str, Any]]:
    batches = list(collector.collect(ctx))
    assert len(batches) == 1 and isinstance(batches[0], Batch)
    assert batches[0].table == "gpu_samples" and list(batches[0].keys) == []  # appended
    data = batches[0].data
    assert not isinstance(data, list) and hasattr(data, "to_pylist")
    rows: list[dict[str, Any]] = data.to_pylist()
    return rows


@pytest.fixture
def cfg() -> NvmlConfig:
    return NvmlConfig(host="a3-node-07")


def test_stand_in_functions_have_pynvml_names_and_parameters() -> None:
    for name in dir(FakeNvml):
        if name.startswith("nvml"):
            assert hasattr(real, name), name
            fake = list(inspect.signature(getattr(FakeNvml(h100s(1)), name)).parameters)
            assert fake == list(inspect.signature(getattr(real, name)).parameters), name


def test_eight_h100s_are_read_in_base_units(cfg: NvmlConfig, ctx: RunContext) -> None:
    fake = FakeNvml(h100s())
    rows = collect(NvmlCollector(cfg, nvml=fake.module()), ctx)
    assert [r["gpu_index"] for r in rows] == list(range(8))
    assert len({r["gpu_uuid"] for r in rows}) == 8
    r = rows[0]
    assert r["ts"] == NOW and r["_day"] == dt.date(2026, 11, 20)
    assert (r["host"], r["source"], r["_source"]) == ("a3-node-07", "nvml", "nvml:a3-node-07")
    assert (r["gpu_model"], r["driver_version"], r["pci_bus_id"]) == (
        "NVIDIA H100 80GB HBM3",
        "550.90.07",
        "00000000:18:00.0",
    )
    assert r["mig_instance"] is None and r["mig_profile"] is None
    assert r["gpu_util_ratio"] == pytest.approx(0.87) and r["mem_copy_util_ratio"] == pytest.approx(0.41)
    assert r["enc_util_ratio"] == 0.0 and r["dec_util_ratio"] == pytest.approx(0.05)
    assert r["fb_used_bytes"] == 60000 * MIB and r["fb_reserved_bytes"] == 328 * MIB
    assert r["fb_free_bytes"] == (81559 - 60000 - 328) * MIB
    assert r["power_watts"] == pytest.approx(612.345)  # NVML's milliwatts
    assert r["energy_joules_total"] == pytest.approx(123_456_789.012)  # NVML's millijoules
    assert (r["gpu_temp_celsius"], r["memory_temp_celsius"]) == (61, 71)
    assert (r["sm_clock_hz"], r["mem_clock_hz"]) == (1.98e9, 2.619e9)
    assert r["throttle_reasons"] == 4
    assert (r["ecc_sbe_total"], r["ecc_dbe_total"]) == (102, 100)  # aggregate (lifetime), as dcgm and nvidia-smi
    assert r["retired_pages_total"] == 2
    assert (r["remapped_rows_correctable_total"], r["remapped_rows_uncorrectable_total"]) == (1, 0)
    assert r["row_remap_failure"] == 0
    assert (r["pcie_tx_bytes_per_second"], r["pcie_rx_bytes_per_second"]) == (1234 * 1024, 5678 * 1024)
    assert r["pcie_replay_total"] == 3
    assert (r["xid_errors_total"], r["xid_last"]) == (0, 0)  # watched, none seen
    assert r["gr_engine_active_ratio"] is None and r["nvlink_bandwidth_total"] is None  # not read from NVML
    assert fake.calls["nvmlInit"] == 1


def test_unsupported_or_forbidden_calls_leave_only_their_columns_null(cfg: NvmlConfig, ctx: RunContext) -> None:
    fails = {
        "nvmlDeviceGetPowerUsage": real.NVML_ERROR_NOT_SUPPORTED,
        "nvmlDeviceGetTotalEccErrors": real.NVML_ERROR_NO_PERMISSION,
        "nvmlDeviceGetRetiredPages": real.NVML_ERROR_NOT_SUPPORTED,
        "nvmlDeviceGetMemoryInfo_v2": real.NVML_ERROR_FUNCTION_NOT_FOUND,
        "nvmlDeviceGetPcieThroughput": real.NVML_ERROR_GPU_IS_LOST,
        "field:82": 0,
    }
    rows = collect(NvmlCollector(cfg, nvml=FakeNvml(h100s(2, gpu1={"fails": fails})).module()), ctx)
    ok, bad = rows
    for col in ("power_watts", "ecc_sbe_total", "ecc_dbe_total", "retired_pages_total", "fb_reserved_bytes",
                "pcie_tx_bytes_per_second", "pcie_rx_bytes_per_second", "memory_temp_celsius"):  # fmt: skip
        assert bad[col] is None, col
        assert ok[col] is not None, col
    # v1 memory info is the fallback: its `used` includes the reserved part.
    assert bad["fb_used_bytes"] == (60000 + 328) * MIB and bad["fb_free_bytes"] == ok["fb_free_bytes"]
    assert bad["pcie_replay_total"] == 3 and bad["gpu_util_ratio"] == pytest.approx(0.87)
    assert bad["energy_joules_total"] == ok["energy_joules_total"]


def test_ecc_falls_back_to_volatile_where_aggregate_is_not_given(cfg: NvmlConfig, ctx: RunContext) -> None:
    fake = FakeNvml(h100s(1))
    mod = fake.module()
    counts = fake.nvmlDeviceGetTotalEccErrors

    def ecc(handle: Any, errorType: int, counterType: int) -> int:
        if counterType == real.NVML_AGGREGATE_ECC:
            raise nvml_error(real.NVML_ERROR_NOT_SUPPORTED)
        return counts(handle, errorType, counterType)

    setattr(mod, "nvmlDeviceGetTotalEccErrors", ecc)  # noqa: B010 (a module attribute mypy cannot see)
    (r,) = collect(NvmlCollector(cfg, nvml=mod), ctx)
    assert (r["ecc_sbe_total"], r["ecc_dbe_total"]) == (2, 0)


def test_throttle_reasons_fall_back_to_the_older_call(cfg: NvmlConfig, ctx: RunContext) -> None:
    mod = FakeNvml(h100s(1, gpu0={"reasons": 0x24})).module()
    del mod.nvmlDeviceGetCurrentClocksEventReasons  # pynvml before the R535 rename
    (r,) = collect(NvmlCollector(cfg, nvml=mod), ctx)
    assert r["throttle_reasons"] == 0x24


def test_mig_devices_are_separate_rows_with_null_utilization(cfg: NvmlConfig, ctx: RunContext) -> None:
    migs: list[FakeMig | None] = [
        FakeMig("MIG-1f0a3c52-8c55-5d43-9d8e-3a0b9f1d2c01", 1, "3g.40gb", 12000 * MIB, 40192 * MIB),
        None,  # an empty slot: NVML answers NotFound
        FakeMig("MIG-1f0a3c52-8c55-5d43-9d8e-3a0b9f1d2c02", 2, "3g.40gb", 0, 40192 * MIB),
    ]
    rows = collect(NvmlCollector(cfg, nvml=FakeNvml(h100s(2, gpu1={"mig": migs})).module()), ctx)
    assert [(r["gpu_index"], r["mig_instance"]) for r in rows] == [(0, None), (1, None), (1, "1"), (1, "2")]
    whole, mig1, mig2 = rows[1], rows[2], rows[3]
    assert whole["gpu_util_ratio"] is None  # NotSupported in MIG mode: unknown, not idle
    assert whole["power_watts"] == pytest.approx(612.345)
    for m in (mig1, mig2):
        assert m["mig_profile"] == "3g.40gb" and m["gpu_model"] == "NVIDIA H100 80GB HBM3"
        assert m["gpu_util_ratio"] is None and m["mem_copy_util_ratio"] is None
        assert m["pci_bus_id"] == whole["pci_bus_id"] and m["host"] == "a3-node-07"
        assert m["power_watts"] is None  # a MIG device has no power reading of its own
    assert mig1["fb_used_bytes"] == 12000 * MIB
    assert mig2["fb_used_bytes"] == 0 and mig2["fb_free_bytes"] == 40192 * MIB


def test_mig_rows_carry_the_parent_gpu_uuid_and_instance_id_as_dcgm_exporter_does(
    cfg: NvmlConfig, ctx: RunContext
) -> None:
    migs: list[FakeMig | None] = [
        FakeMig("MIG-1f0a3c52-8c55-5d43-9d8e-3a0b9f1d2c01", 7, "1g.10gb", 0, 9856 * MIB),
        FakeMig("MIG-1f0a3c52-8c55-5d43-9d8e-3a0b9f1d2c02", 8, "1g.10gb", 0, 9856 * MIB),
    ]
    fake = FakeNvml(h100s(1, gpu0={"mig": migs}))
    whole, mig7, mig8 = collect(NvmlCollector(cfg, nvml=fake.module()), ctx)
    parent = fake.gpus[0].uuid
    assert whole["gpu_uuid"] == parent and whole["mig_instance"] is None
    # dcgm-exporter labels the same instances UUID="GPU-…" (the parent), GPU_I_ID="7", GPU_I_PROFILE="1g.10gb".
    assert [(m["gpu_uuid"], m["mig_instance"], m["mig_profile"]) for m in (mig7, mig8)] == [
        (parent, "7", "1g.10gb"),
        (parent, "8", "1g.10gb"),
    ]


def test_xid_events_are_counted_across_cycles(cfg: NvmlConfig, ctx: RunContext) -> None:
    fake = FakeNvml(h100s(3, gpu2={"xid_supported": False}))
    collector = NvmlCollector(cfg, nvml=fake.module())
    first = collect(collector, ctx)
    assert fake.registered == {0, 1}
    assert [(r["xid_errors_total"], r["xid_last"]) for r in first] == [(0, 0), (0, 0), (None, None)]
    fake.fire_xid(1, 79)
    second = collect(collector, ctx)
    assert [(r["xid_errors_total"], r["xid_last"]) for r in second] == [(0, 0), (1, 79), (None, None)]
    fake.fire_xid(1, 13)
    fake.fire_xid(1, 48)
    fake.fire_xid(0, 94)
    third = collect(collector, ctx)
    assert [(r["xid_errors_total"], r["xid_last"]) for r in third] == [(1, 94), (3, 48), (None, None)]
    assert fake.calls["nvmlInit"] == 1  # once per collector instance
    collector.close()
    assert fake.calls["nvmlShutdown"] == 1 and fake.calls["nvmlEventSetFree"] == 1
    with pytest.raises(SourceError, match="closed"):  # a closed collector samples nothing
        list(collector.collect(ctx))


def nvml_settings(tmp_path: Path) -> Settings:
    return Settings.model_validate({"home": str(tmp_path / "home"), "warehouse": {"path": str(tmp_path / "lake")},
                                    "collectors": {"nvml": {"enabled": True}}})  # fmt: skip


def test_no_driver_is_reported_once_over_three_daemon_cycles(
    tmp_path: Path, ctx: RunContext, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeNvml([], init_error=real.NVML_ERROR_LIBRARY_NOT_FOUND)
    collector = NvmlCollector(NvmlConfig(enabled=True), nvml=fake.module())
    daemon = Daemon(nvml_settings(tmp_path), ctx.warehouse, fixed_clock(NOW), collectors=[collector])
    caplog.set_level(logging.DEBUG)
    results = [daemon.run_job("nvml") for _ in range(3)]
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(loud) == 1, [r.getMessage() for r in loud]
    assert "no NVIDIA driver: nvmlInit failed: NVML Shared Library Not Found" in loud[0].getMessage()
    assert results == [False, False, False]  # down every cycle (collector_up stays 0), logged once
    assert daemon.jobs["nvml"].health.consecutive_failures == 3
    assert collector.available is False and "Shared Library Not Found" in (collector.reason or "")
    assert fake.calls["nvmlInit"] == 1  # not retried every cycle


@pytest.mark.parametrize(
    ("fake", "message"),
    [
        (
            FakeNvml([], init_error=real.NVML_ERROR_DRIVER_NOT_LOADED),
            "no NVIDIA driver: nvmlInit failed: Driver Not Loaded",
        ),
        (FakeNvml([]), "no NVIDIA GPU: the driver is loaded but reports none"),
    ],
)
def test_driver_not_loaded_or_no_gpu_stays_down_without_retrying_init(
    cfg: NvmlConfig, ctx: RunContext, fake: FakeNvml, message: str
) -> None:
    collector = NvmlCollector(cfg, nvml=fake.module())
    for _ in range(3):
        with pytest.raises(SourceError, match=message):
            list(collector.collect(ctx))
    assert fake.calls["nvmlInit"] == 1


def test_missing_pynvml_is_a_clear_source_error(cfg: NvmlConfig, ctx: RunContext) -> None:
    collector = NvmlCollector(cfg, None, "no NVML: nvidia-ml-py (pynvml) cannot be imported: No module named pynvml")
    assert collector.available is False
    for _ in range(2):
        with pytest.raises(SourceError, match="cannot be imported"):
            list(collector.collect(ctx))


class DriverlessNvml(NvmlCollector):
    """The nvml collector as `from_settings` builds it on a host whose NVML library is missing."""

    @classmethod
    def from_settings(cls, settings: Settings) -> NvmlCollector:
        return cls(settings.collectors.nvml, FakeNvml([], init_error=real.NVML_ERROR_LIBRARY_NOT_FOUND).module())


def test_cli_collect_nvml_without_a_driver_prints_why_and_exits_nonzero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from spendscope.cli import cli

    monkeypatch.setitem(registry._items, "nvml", DriverlessNvml)  # as if on a GPU-less host
    cfg = tmp_path / "spendscope.toml"
    cfg.write_text(f'home = "{tmp_path}/home"\n[warehouse]\npath = "{tmp_path}/lake"\n')
    res = CliRunner().invoke(cli, ["--config", str(cfg), "collect", "nvml"])
    assert res.exit_code == SourceError.exit_code
    assert "error: no NVIDIA driver: nvmlInit failed: NVML Shared Library Not Found" in res.output
    assert "Traceback" not in res.output


def test_rows_land_in_the_lake(cfg: NvmlConfig, ctx: RunContext) -> None:
    from spendscope import ingest

    collector = NvmlCollector(cfg, nvml=FakeNvml(h100s()).module())
    ingest.run(collector, ctx)
    ingest.run(collector, ctx)  # every cycle appends a new sample
    got = ctx.warehouse.query("SELECT COUNT(*) AS n, MAX(power_watts) AS w FROM gpu_samples").to_pylist()[0]
    assert got["n"] == 16 and got["w"] == pytest.approx(612.345)
