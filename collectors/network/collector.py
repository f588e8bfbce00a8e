"""Network collector: per-interface counters and rates from this host (psutil) and node_exporter scrapes.

Rates need the previous reading of each (host, interface, source). The daemon keeps one collector instance,
so those live in memory between cycles; a one-shot run (`spendscope collect network`, a CronJob) finds them
in the newest `net_samples` row of the last `rates.MAX_GAP` instead, so stateless runs get rates too. The
warehouse is asked once per key a process has not seen, never every cycle. Rows are appended (keys=[]).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import functools
import logging
import socket
import ssl
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pyarrow as pa

from collectors import registry
from collectors.base import Batch, Collector, Item, RunContext
from collectors.common.http import fetch_all
from collectors.network import rates
from collectors.network.local import SYSFS_NET, NetIo, psutil_net_io, read_local
from collectors.network.node_exporter_text import NodeScrape, parse_node_exporter
from exporters.warehouse.schema.telemetry import NET_SAMPLES
from spendscope.config import Settings
from spendscope.config_telemetry import NetworkConfig
from spendscope.errors import SourceError
from spendscope.tls import httpx_verify

log = logging.getLogger(__name__)

TABLE = "net_samples"
LOCAL, NODE_EXPORTER = "psutil", "node_exporter"
Key = tuple[str, str, str]  # host, interface, source

# The newest stored reading of each wanted key within the last MAX_GAP (BigQuery SQL; DuckDB via sqlglot).
_PREVIOUS_SQL = f"""
SELECT host, interface, source, ts, {", ".join(rates.COUNTERS)}
FROM net_samples
WHERE _day >= @since_day AND ts >= @since AND ts < @until
  AND host IN UNNEST(@hosts) AND source IN UNNEST(@sources)
QUALIFY ROW_NUMBER() OVER (PARTITION BY host, interface, source ORDER BY ts DESC) = 1
"""


@dataclass(frozen=True)
class Sample:
    """One interface's counters at one time, before rates."""

    host: str
    interface: str
    source: str
    target: str
    ts: dt.datetime
    counters: Mapping[str, float | None]
    speed_bytes_per_second: float | None

    @property
    def key(self) -> Key:
        return (self.host, self.interface, self.source)


def wanted(name: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    """An interface is kept when it matches an include glob and no exclude glob (case-sensitive, as Linux)."""
    return any(fnmatch.fnmatchcase(name, g) for g in include) and not any(fnmatch.fnmatchcase(name, g) for g in exclude)


def configured_speed(link_speed_gbps: Mapping[str, float], name: str) -> float | None:
    """Link speed in bytes/s from config: the exact name first, then the first glob that matches."""
    gbps = link_speed_gbps.get(name)
    if gbps is None:
        gbps = next((v for k, v in link_speed_gbps.items() if fnmatch.fnmatchcase(name, k)), None)
    return gbps * 1e9 / 8 if gbps and gbps > 0 else None


def target_host(url: str) -> str:
    """The host part of a target URL (no port, no brackets), or the URL itself when it has none."""
    return urlsplit(url).hostname or url


@registry.register("network")
class NetworkCollector(Collector):
    """Interface byte/packet/error/drop counters and rates, local and from node_exporter, into `net_samples`."""

    name = "network"
    section = "network"

    def __init__(
        self,
        config: NetworkConfig | None = None,
        *,
        net_io: NetIo = psutil_net_io,
        sysfs_root: str = SYSFS_NET,
        hostname: str | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        self.config = config or NetworkConfig()
        self.net_io = net_io
        self.sysfs_root = sysfs_root
        self.hostname = hostname
        self.http_client = http_client
        self._last: dict[Key, rates.Reading] = {}
        self._looked_up: set[Key] = set()
        self._skipped: dict[str, int] = {}
        self.last_errors: dict[str, str] = {}  # source (target URL or "psutil") → why it failed last cycle

    @classmethod
    def from_settings(cls, settings: Settings) -> NetworkCollector:
        return cls(settings.collectors.network)

    def collect(self, ctx: RunContext) -> Iterator[Item]:
        """Sample every source once, compute rates against the previous readings, append the rows."""
        cfg = self.config
        cli_targets = ctx.options.get("targets") or []
        targets = list(dict.fromkeys(cli_targets or cfg.targets))
        # `--target URL` means "try this source": only it, not this host's interfaces as well.
        local = cfg.local and not cli_targets
        if not local and not targets:
            raise SourceError("network: nothing to sample (local = false and no targets, nor --target)")
        errors: dict[str, str] = {}
        self._transient: set[str] = set()  # sources that failed in a way a retry may fix
        samples: list[Sample] = []
        if local:
            try:
                samples += self._local(ctx.now())
            except OSError as exc:  # psutil reads /proc; a container may not let it
                errors[LOCAL] = f"{type(exc).__name__}: {exc}"
        if targets:
            samples += self._scrape(targets, ctx.now(), errors)
        # Logged when a source goes down or comes back, not every 30 s while it stays down.
        for source in sorted(set(errors) - set(self.last_errors)):
            log.warning("network source:%s status:down error:%s", source, errors[source])
        for source in sorted(set(self.last_errors) - set(errors)):
            log.info("network source:%s status:recovered", source)
        self.last_errors = errors
        if set(errors) >= {*targets, *([LOCAL] if local else [])}:
            detail = "; ".join(f"{k}: {v}" for k, v in errors.items())
            raise SourceError(f"network: every source failed: {detail}", retryable=set(errors) <= self._transient)
        samples = [s for s in samples if wanted(s.interface, cfg.include, cfg.exclude)]
        if not samples:
            log.info("network interfaces:0 (all filtered out or none reported)")
            return
        rows = self._rows(ctx, samples)
        log.info("network rows:%s sources-down:%s", len(rows), len(errors))
        yield Batch(TABLE, pa.Table.from_pylist(rows, schema=NET_SAMPLES), keys=[])

    # -- sources --------------------------------------------------------------------------------

    def _local(self, ts: dt.datetime) -> list[Sample]:
        host = self.hostname or socket.gethostname()
        links = self.config.link_speed_gbps
        return [
            Sample(
                host,
                i.name,
                LOCAL,
                "local",
                ts,
                i.counters,
                i.speed_bytes_per_second or configured_speed(links, i.name),
            )
            for i in read_local(self.net_io, self.sysfs_root)
        ]

    def _scrape(self, targets: list[str], ts: dt.datetime, errors: dict[str, str]) -> list[Sample]:
        cfg = self.config
        out: list[Sample] = []
        for scrape in fetch_all(targets, cfg.timeout_seconds, cfg.concurrency, self.http_client, self._verify):
            if scrape.text is None:
                errors[scrape.target] = scrape.error or "no body"
                if scrape.retryable:
                    self._transient.add(scrape.target)
                continue
            parsed = parse_node_exporter(scrape.text)
            self._report_skipped(scrape.target, parsed)
            out += samples_from_scrape(parsed, scrape.target, ts, cfg.link_speed_gbps)
        return out

    @functools.cached_property
    def _verify(self) -> ssl.SSLContext | bool:
        # https node_exporters: ca_file or the public CAs; loaded once per collector, not every 30 s.
        return httpx_verify(self.config.ca_file, "collectors.network.ca_file")

    def _report_skipped(self, target: str, parsed: NodeScrape) -> None:
        # Warn when the count of bad lines changes, not every 30 s for the same broken exporter.
        before = self._skipped.get(target, 0)
        self._skipped[target] = parsed.skipped
        if parsed.skipped and parsed.skipped != before:
            first = parsed.problems[0]
            log.warning(
                "network target:%s skipped-lines:%s first-line:%s reason:%s",
                target,
                parsed.skipped,
                first.line,
                first.reason,
            )

    # -- rates ----------------------------------------------------------------------------------

    def _rows(self, ctx: RunContext, samples: list[Sample]) -> list[dict[str, Any]]:
        self._forget_stale(max(s.ts for s in samples))
        missing = [s.key for s in samples if s.key not in self._last and s.key not in self._looked_up]
        if missing:
            self._last.update(stored_readings(ctx, missing, min(s.ts for s in samples)))
            self._looked_up.update(missing)
        rows = []
        for s in samples:
            reading = rates.Reading(s.ts, s.counters)
            got = rates.compute(self._last.get(s.key), reading, s.speed_bytes_per_second)
            self._last[s.key] = reading
            rows.append(to_row(s, got))
        return rows

    def _forget_stale(self, now: dt.datetime) -> None:
        # Bounded memory under veth churn: a reading older than MAX_GAP can no longer give a rate.
        stale = [k for k, r in self._last.items() if now - r.ts > rates.MAX_GAP]
        for k in stale:
            del self._last[k]
            self._looked_up.discard(k)


def samples_from_scrape(
    parsed: NodeScrape, target: str, ts: dt.datetime, link_speed_gbps: Mapping[str, float]
) -> list[Sample]:
    """One Sample per device with counters; host = node_uname_info's nodename, else the target URL's host."""
    host = parsed.nodename or target_host(target)
    return [
        Sample(
            host,
            device,
            NODE_EXPORTER,
            target,
            ts,
            iface.counters,
            iface.speed_bytes_per_second or configured_speed(link_speed_gbps, device),
        )
        for device, iface in parsed.counted().items()
    ]


def stored_readings(ctx: RunContext, keys: Iterable[Key], until: dt.datetime) -> dict[Key, rates.Reading]:
    """The newest stored reading of each key within MAX_GAP before `until`; {} when none or unreadable."""
    wanted_keys = set(keys)
    since = until - rates.MAX_GAP
    params = {
        "since_day": since.date(),
        "since": since,
        "until": until,
        "hosts": sorted({k[0] for k in wanted_keys}),
        "sources": sorted({k[2] for k in wanted_keys}),
    }
    try:
        table = ctx.warehouse.query(_PREVIOUS_SQL, params)
    except Exception as exc:  # rates are a nicety: a failed lookup (no table yet, BigQuery down) must not lose samples
        log.warning("network previous-readings:unavailable error:%s", exc)
        return {}
    out: dict[Key, rates.Reading] = {}
    for row in table.to_pylist():
        key = (row["host"], row["interface"], row["source"])
        if key in wanted_keys:
            ts = row["ts"] if row["ts"].tzinfo else row["ts"].replace(tzinfo=dt.UTC)
            out[key] = rates.Reading(ts, {c: row[c] for c in rates.COUNTERS})
    return out


def to_row(s: Sample, got: rates.Rates) -> dict[str, Any]:
    """A net_samples row."""
    return {
        "ts": s.ts,
        "host": s.host,
        "interface": s.interface,
        "source": s.source,
        "target": s.target,
        **{c: s.counters.get(c) for c in rates.COUNTERS},
        **got.per_second,
        "interval_seconds": got.interval_seconds,
        "counter_reset": got.counter_reset,
        "speed_bytes_per_second": s.speed_bytes_per_second,
        "saturation_ratio": got.saturation_ratio,
        "_day": s.ts.astimezone(dt.UTC).date(),
        "_source": s.target if s.source == NODE_EXPORTER else f"{LOCAL}:{s.host}",
    }
