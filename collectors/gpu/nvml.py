"""NVML collector: this host's GPUs through `nvidia-ml-py` (`pynvml`), one gpu_samples row per GPU and MIG device.

The `pynvml` module is injected through the constructor (tests pass a stand-in module); `from_settings`
imports the real one lazily. `nvmlInit` runs once per collector instance (the daemon keeps one), and
`close()` calls `nvmlShutdown`.

No driver, no GPU. When `pynvml` cannot be imported, `nvmlInit` fails (LibraryNotFound, DriverNotLoaded,
…) or the driver reports no device, the collector is down for the life of the instance: `available` is
False and `reason` says why. Every `collect()` then raises `SourceError(reason)` ("no NVIDIA driver: …",
"no NVIDIA GPU: …" or "no NVML: …") without retrying `nvmlInit`: `spendscope collect nvml` prints it and
exits non-zero, and the daemon keeps the collector marked down (`spendscope_collector_up` 0) while logging
a repeated identical failure only once (scheduler.Daemon.run_job), so a GPU-less host running the daemon
with nvml enabled gets one error line, not one per 30 s.

XID errors: an NVML event set registered for `nvmlEventTypeXidCriticalError` on every device that
supports it is drained (`nvmlEventSetWait` with a 0 ms timeout) each cycle; `xid_errors_total` counts the
events this instance has seen and `xid_last` holds the last XID number (0 = none yet), matching
dcgm-exporter's `DCGM_FI_DEV_XID_ERRORS`. Devices where events are unsupported get null for both.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pyarrow as pa

from collectors import registry
from collectors.base import Batch, Collector, Item, RunContext
from collectors.gpu import nvml_read
from exporters.warehouse.schema.telemetry import GPU_SAMPLES
from spendscope.config import Settings
from spendscope.config_telemetry import NvmlConfig
from spendscope.errors import SourceError

log = logging.getLogger(__name__)

TABLE = "gpu_samples"
# Bounds one cycle's event drain: a storm of XIDs must not stall the sample.
MAX_EVENTS_PER_CYCLE = 1000


@registry.register("nvml")
class NvmlCollector(Collector):
    """Local GPUs read through NVML, into gpu_samples (appended: one row per device per cycle)."""

    name = "nvml"
    section = "nvml"

    def __init__(self, config: NvmlConfig | None = None, nvml: ModuleType | None = None, reason: str | None = None):
        self.config = config or NvmlConfig()
        self.nvml = nvml
        # None until the first collect() has tried nvmlInit; then True (up) or False (down for good).
        self.available: bool | None = None if nvml is not None else False
        self.reason: str | None = reason if nvml is None else None
        if nvml is None and self.reason is None:
            self.reason = "no NVML: no pynvml module given"
        self._handles: list[Any] = []
        self._driver: str | None = None
        self._events: Any = None
        self._xid: dict[str, list[int]] = {}  # gpu uuid → [events counted, last XID]

    @classmethod
    def from_settings(cls, settings: Settings) -> NvmlCollector:
        try:
            import pynvml
        except ImportError as exc:
            return cls(settings.collectors.nvml, None, f"no NVML: nvidia-ml-py (pynvml) cannot be imported: {exc}")
        return cls(settings.collectors.nvml, pynvml)

    def collect(self, ctx: RunContext) -> Iterator[Item]:
        """One sample of every GPU and MIG device; raises SourceError while NVML is unusable."""
        if self.available is None:
            self._start()
        if not self.available:
            raise SourceError(f"{self.reason}; the nvml collector stays down")
        now = ctx.now()
        rows = self._sample(now)
        log.info("nvml devices:%s rows:%s", len(self._handles), len(rows))
        yield Batch(TABLE, pa.Table.from_pylist(rows, schema=GPU_SAMPLES), keys=[])

    def close(self) -> None:
        """Free the event set and shut NVML down; afterwards collect() yields nothing. Safe to call twice."""
        nvml = self.nvml
        if nvml is None or not self.available:
            return
        if self._events is not None:
            nvml_read.call(nvml, "nvmlEventSetFree", self._events)
            self._events = None
        nvml_read.call(nvml, "nvmlShutdown")
        self._handles = []
        self.available, self.reason = False, "closed"

    def _start(self) -> None:
        nvml = self.nvml
        assert nvml is not None
        try:
            nvml.nvmlInit()
        except nvml.NVMLError as exc:
            self._down(f"no NVIDIA driver: nvmlInit failed: {exc} ({type(exc).__name__})")
            return
        try:
            count = nvml.nvmlDeviceGetCount()
            self._handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        except nvml.NVMLError as exc:
            nvml_read.call(nvml, "nvmlShutdown")
            self._down(f"no NVIDIA driver: listing devices failed: {exc} ({type(exc).__name__})")
            return
        if not self._handles:
            nvml_read.call(nvml, "nvmlShutdown")
            self._down("no NVIDIA GPU: the driver is loaded but reports none (nvmlDeviceGetCount() = 0)")
            return
        self._driver = nvml_read.text(nvml_read.call(nvml, "nvmlSystemGetDriverVersion"))
        self._watch_xid()
        self.available = True
        log.info("nvml:up devices:%s driver:%s xid-watched:%s", len(self._handles), self._driver, len(self._xid))

    def _down(self, reason: str) -> None:
        self.available, self.reason = False, reason

    def _watch_xid(self) -> None:
        nvml = self.nvml
        assert nvml is not None
        xid_type = getattr(nvml, "nvmlEventTypeXidCriticalError", None)
        events = nvml_read.call(nvml, "nvmlEventSetCreate") if xid_type is not None else None
        if events is None:
            return
        for handle in self._handles:
            uuid = nvml_read.text(nvml_read.call(nvml, "nvmlDeviceGetUUID", handle))
            supported = nvml_read.call(nvml, "nvmlDeviceGetSupportedEventTypes", handle)
            if uuid is None or not supported or not supported & xid_type:
                continue
            try:
                nvml.nvmlDeviceRegisterEvents(handle, xid_type, events)
            except nvml.NVMLError as exc:  # NoPermission in some containers: that GPU's XID columns stay null
                log.debug("nvml:xid-unwatched gpu:%s error:%s", uuid, exc)
                continue
            self._xid[uuid] = [0, 0]
        if self._xid:
            self._events = events
        else:
            nvml_read.call(nvml, "nvmlEventSetFree", events)

    def _drain_xid(self) -> None:
        nvml = self.nvml
        if self._events is None or nvml is None:
            return
        for _ in range(MAX_EVENTS_PER_CYCLE):
            try:
                data = nvml.nvmlEventSetWait(self._events, 0)
            except nvml.NVMLError:  # NVMLError_Timeout: nothing pending
                return
            if not data.eventType & nvml.nvmlEventTypeXidCriticalError:
                continue
            uuid = nvml_read.text(nvml_read.call(nvml, "nvmlDeviceGetUUID", data.device))
            if uuid in self._xid:
                self._xid[uuid][0] += 1
                self._xid[uuid][1] = int(data.eventData)
                log.warning("nvml:xid gpu:%s xid:%s", uuid, data.eventData)

    def _sample(self, now: dt.datetime) -> list[dict[str, Any]]:
        nvml = self.nvml
        assert nvml is not None
        self._drain_xid()
        host = self.config.host or socket.gethostname()
        base = {"ts": now, "host": host, "driver_version": self._driver, "source": "nvml",
                "_day": now.astimezone(dt.UTC).date(), "_source": f"nvml:{host}"}  # fmt: skip
        rows: list[dict[str, Any]] = []
        for index, handle in enumerate(self._handles):
            gpu = {**base, "gpu_index": index, **nvml_read.whole_gpu(nvml, handle)}
            xid = self._xid.get(gpu["gpu_uuid"] or "")
            gpu["xid_errors_total"], gpu["xid_last"] = (float(xid[0]), float(xid[1])) if xid else (None, None)
            rows.append(gpu)
            if nvml_read.mig_enabled(nvml, handle):
                parent = {k: gpu[k] for k in ("gpu_index", "gpu_model", "pci_bus_id")}
                rows.extend({**base, **parent, **mig} for mig in nvml_read.mig_devices(nvml, handle, gpu["gpu_uuid"]))
        return rows
