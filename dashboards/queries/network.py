"""Network page queries: throughput and saturation by host and interface, from `net_samples`.

Rates are the collector's per-second rates over `interval_seconds` (null after a counter reset or for a first
reading, and then left out); bytes moved are rate × interval, means are time-weighted. One source per host and
interface (node_exporter, else psutil, else any), so a host sampled both ways is not counted twice. Hosts map
to clusters and teams as on the GPU page (dashboards.queries.fleet). SQL aggregates per interface, or per
interface and local time bucket (through UTC quarter hours); only the top series are returned, the rest counted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from dashboards.queries.fleet import BUCKET_SQL, QUARTER_SQL, host_rows, series_query
from exporters.warehouse.engine import Warehouse
from spendscope.config import Settings
from spendscope.costs import NO_FILTER, CostFilter

MAX_SERIES = 10  # throughput chart: interfaces by bytes moved; the rest are one `other` series
MAX_ROWS = 40  # saturation heatmap rows
HOT = 0.8  # an interface at ≥ 80% of its link speed is saturated
GBIT = 8 / 1e9  # bytes/s → Gbit/s
OTHER = "other"

_SAMPLES = """
WITH raw AS (
  SELECT host, interface, source, ts, interval_seconds AS secs, rx_bytes_per_second AS rx, tx_bytes_per_second AS tx,
         saturation_ratio AS sat, speed_bytes_per_second AS speed,
         IFNULL(rx_errors_per_second, 0) + IFNULL(tx_errors_per_second, 0) AS errors,
         IFNULL(rx_drops_per_second, 0) + IFNULL(tx_drops_per_second, 0) AS drops
  FROM net_samples
  WHERE _day BETWEEN @dmin AND @dmax AND ts >= @start AND ts < @end
),
pick AS (
  SELECT host, interface, source
  FROM raw
  GROUP BY host, interface, source
  QUALIFY ROW_NUMBER() OVER (PARTITION BY host, interface
    ORDER BY CASE source WHEN 'node_exporter' THEN 1 WHEN 'psutil' THEN 2 ELSE 3 END, source) = 1
)
SELECT raw.*, CONCAT(raw.host, ' / ', raw.interface) AS series
FROM raw JOIN pick USING (host, interface, source)
"""
_INTERFACES_SQL = f"""
SELECT host, interface, ANY_VALUE(source) AS source, COUNT(*) AS samples, MAX(ts) AS last_seen,
       SUM(IF(rx IS NULL, 0, secs)) AS measured_seconds, SUM(rx * secs) AS rx_bytes, SUM(tx * secs) AS tx_bytes,
       SUM(rx * secs) / NULLIF(SUM(IF(rx IS NULL, 0, secs)), 0) * {GBIT} AS rx_mean_gbps,
       SUM(tx * secs) / NULLIF(SUM(IF(tx IS NULL, 0, secs)), 0) * {GBIT} AS tx_mean_gbps,
       MAX(GREATEST(IFNULL(rx, 0), IFNULL(tx, 0))) * {GBIT} AS peak_gbps, MAX(speed) * {GBIT} AS speed_gbps,
       SUM(sat * secs) / NULLIF(SUM(IF(sat IS NULL, 0, secs)), 0) AS mean_saturation, MAX(sat) AS peak_saturation,
       SUM(IF(sat >= @hot, secs, 0)) / NULLIF(SUM(IF(sat IS NULL, 0, secs)), 0) AS saturated_share,
       SUM(errors * secs) AS errors, SUM(drops * secs) AS drops
FROM ({_SAMPLES})
GROUP BY host, interface
"""
# Mean rate over the whole bucket (bytes ÷ bucket seconds), so stacked series add up to the fleet's traffic.
_THROUGHPUT_SQL = f"""
WITH q AS (
  SELECT IF(series IN UNNEST(@top), series, '{OTHER}') AS series, {QUARTER_SQL.format(ts="ts")} AS q,
         SUM(rx * secs) AS rx_bytes, SUM(tx * secs) AS tx_bytes
  FROM ({_SAMPLES})
  WHERE host IN UNNEST(@hosts)
  GROUP BY series, q
)
SELECT series, {BUCKET_SQL.format(ts="q")} AS bucket, SUM(rx_bytes) / (@bucket_hours * 3600) * {GBIT} AS rx_gbps,
       SUM(tx_bytes) / (@bucket_hours * 3600) * {GBIT} AS tx_gbps
FROM q
GROUP BY series, bucket
ORDER BY bucket, series
"""
_SATURATION_SQL = f"""
WITH q AS (
  SELECT series, {QUARTER_SQL.format(ts="ts")} AS q, MAX(sat) AS peak, SUM(sat * secs) AS sat_s,
         SUM(IF(sat IS NULL, 0, secs)) AS secs
  FROM ({_SAMPLES})
  WHERE series IN UNNEST(@series)
  GROUP BY series, q
)
SELECT series, {BUCKET_SQL.format(ts="q")} AS bucket, MAX(peak) AS peak_saturation,
       SUM(sat_s) / NULLIF(SUM(secs), 0) AS mean_saturation
FROM q
GROUP BY series, bucket
ORDER BY series, bucket
"""
F, S, I64 = pa.float64(), pa.string(), pa.int64()
INTERFACES = pa.schema([("host", S), ("interface", S), ("cluster", S), ("platform", S), ("team", S), ("source", S),
                        ("speed_gbps", F), ("rx_mean_gbps", F), ("tx_mean_gbps", F), ("peak_gbps", F),
                        ("mean_saturation", F), ("peak_saturation", F), ("saturated_share", F), ("rx_bytes", F),
                        ("tx_bytes", F), ("errors", F), ("drops", F), ("samples", I64),
                        ("last_seen", pa.timestamp("us", tz="UTC"))])  # fmt: skip


@dataclass(frozen=True)
class Traffic:
    """The page's window figures, from one per-interface read of net_samples."""

    totals: dict[str, Any]  # hosts, interfaces, rx/tx bytes, peak saturation, saturated interfaces
    interfaces: pa.Table  # INTERFACES, most bytes moved first
    top_volume: tuple[str, ...]  # the MAX_SERIES `host / interface` series with the most bytes
    top_saturated: tuple[str, ...]  # the MAX_ROWS series with the highest peak saturation
    kept_hosts: tuple[str, ...]  # every host the filters keep
    bucket_hours: int


def _series(r: dict[str, Any]) -> str:
    return f"{r['host']} / {r['interface']}"


def traffic(
    wh: Warehouse,
    s: Settings,
    since: dt.date,
    until: dt.date,
    flt: CostFilter = NO_FILTER,
    max_series: int = MAX_SERIES,
    max_rows: int = MAX_ROWS,
) -> Traffic:
    """Per host and interface over reporting days `since`..`until`: throughput, link speed, saturation, errors."""
    got = host_rows(wh, s, _INTERFACES_SQL, since, until, flt, hot=HOT)
    out = []
    for r in got.rows:
        o = got.owners[r["host"]]
        out.append({**r, "cluster": o.name, "platform": o.platform, "team": o.team})
    volume = sorted(out, key=lambda r: (-((r["rx_bytes"] or 0.0) + (r["tx_bytes"] or 0.0)), _series(r)))
    hot = sorted(out, key=lambda r: (-(r["peak_saturation"] or 0.0), -(r["mean_saturation"] or 0.0), _series(r)))
    peaks = [r["peak_saturation"] for r in out if r["peak_saturation"] is not None]
    totals = {"hosts": len({r["host"] for r in out}), "interfaces": len(out),
              "rx_bytes": sum(r["rx_bytes"] or 0.0 for r in out), "tx_bytes": sum(r["tx_bytes"] or 0.0 for r in out),
              "peak_saturation": max(peaks) if peaks else None,
              "saturated_interfaces": sum(1 for p in peaks if p >= HOT)}  # fmt: skip
    return Traffic(
        totals=totals,
        interfaces=pa.Table.from_pylist(volume, schema=INTERFACES),
        top_volume=tuple(_series(r) for r in volume[:max_series]),
        top_saturated=tuple(_series(r) for r in hot[:max_rows] if r["peak_saturation"] is not None),
        kept_hosts=tuple(sorted({r["host"] for r in out})),
        bucket_hours=got.bucket_hours,
    )


def throughput(
    wh: Warehouse, s: Settings, since: dt.date, until: dt.date, hosts: tuple[str, ...], top: tuple[str, ...]
) -> pa.Table:
    """Receive and transmit Gbit/s per local time bucket for the `top` series, the rest of `hosts` as `other`."""
    if not hosts:
        return pa.table({"series": pa.array([], S)})
    return series_query(wh, s, _THROUGHPUT_SQL, since, until, hosts=hosts, top=top)


def saturation(wh: Warehouse, s: Settings, since: dt.date, until: dt.date, series: tuple[str, ...]) -> pa.Table:
    """Peak and time-weighted mean saturation per `host / interface` series and local time bucket."""
    if not series:
        return pa.table({"series": pa.array([], S)})
    return series_query(wh, s, _SATURATION_SQL, since, until, series=series)
