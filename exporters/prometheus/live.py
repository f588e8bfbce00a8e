"""Live-estimate metrics: what the fleet burns right now, per platform, hours before the bill shows it.

From the newest estimated hour in `cost_estimates` (spendscope.live.now, the Live estimate page's own figures):
- `spendscope_live_run_rate_usd_per_hour{platform}`: the corrected $/h of everything still running;
- `spendscope_live_unpriced_resources{platform}`: resources the estimate could not price (their spend is missing);
- `spendscope_live_estimate_until_timestamp_seconds`: how far the estimate reaches. A run-rate is only as fresh as
  this: alert on `time() - spendscope_live_estimate_until_timestamp_seconds > 1800` to catch a stopped live job.
Nothing is exported before the live job has written an estimate.
"""

from __future__ import annotations

from exporters.prometheus.snapshot import PartContext, Samples
from spendscope.live.now import live_now


def live_metrics(ctx: PartContext) -> Samples:
    now = live_now(ctx.warehouse, ctx.settings, ctx.now)
    if now.hour is None:
        return {}
    rows = now.by_platform.to_pylist()
    out: Samples = {
        "spendscope_live_run_rate_usd_per_hour": [((str(r["platform"]),), float(r["usd_per_hour"] or 0)) for r in rows],
        "spendscope_live_unpriced_resources": [((str(r["platform"]),), float(r["unpriced"] or 0)) for r in rows],
    }
    if now.until is not None:
        out["spendscope_live_estimate_until_timestamp_seconds"] = [((), now.until.timestamp())]
    return out
