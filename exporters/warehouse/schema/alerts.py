"""Alert engine state: every alert transition and notification, silences, and the auto-shutdown log.

`alert_events` is append-only: the engine's state is rebuilt from the latest row per fingerprint, so a
restart loses nothing. `action_log` holds every planned, skipped and executed step, dry-run or not, with
the evidence and the estimated $/hour saved (the savings dashboard sums it). `_day` is the UTC day of `at`.
"""

from __future__ import annotations

import pyarrow as pa

from exporters.warehouse.schema.types import KV_LIST, PROVENANCE, TS

S, F, B = pa.string(), pa.float64(), pa.bool_()

ALERT_EVENTS = pa.schema(
    [
        pa.field("at", TS, nullable=False),
        pa.field("seq", pa.int64()),  # order of events written in the same evaluation
        pa.field("fingerprint", S),
        pa.field("rule", S),
        pa.field("alertname", S),
        pa.field("severity", S),
        # pending | firing | resolved | notified | acked | silenced | unsilenced | inactive (pending that cleared)
        pa.field("event", S),
        pa.field("state", S),  # the alert's state after the event: pending | firing | resolved
        pa.field("labels", KV_LIST),
        pa.field("annotations", KV_LIST),
        pa.field("value", F),
        pa.field("active_since", TS),
        pa.field("fired_at", TS),
        pa.field("resolved_at", TS),
        pa.field("notifier", S),  # notified: which notifier; its kind in `detail`
        pa.field("author", S),  # acked: who
        pa.field("comment", S),
        pa.field("silence_id", S),
        pa.field("evidence", S),  # JSON
        pa.field("resource", S),  # JSON of records.Resource, when the alert names one
        *PROVENANCE,
    ]
)

SILENCES = pa.schema(
    [
        pa.field("id", S, nullable=False),
        pa.field("matchers", S),  # JSON list of {name, value, isRegex, isEqual} (Alertmanager's shape)
        pa.field("starts_at", TS),
        pa.field("ends_at", TS),
        pa.field("created_by", S),
        pa.field("comment", S),
        pa.field("created_at", TS),
        pa.field("expired_at", TS),  # set when expired early
        *PROVENANCE,
    ]
)

ACTION_LOG = pa.schema(
    [
        pa.field("at", TS, nullable=False),
        pa.field("run_id", S),
        pa.field("fingerprint", S),  # the idle alert that led to it
        pa.field("action", S),  # databricks-terminate | gce-stop | gke-resize-zero
        pa.field("platform", S),
        pa.field("resource_id", S),
        pa.field("resource_name", S),
        pa.field("project", S),
        pa.field("location", S),
        # marked | warned | skipped | planned (dry-run: would act) | executed | failed | cancelled
        pa.field("step", S),
        pa.field("dry_run", B),
        pa.field("reason", S),  # why skipped / cancelled / failed, or what was done
        pa.field("act_after", TS),  # when the grace period ends
        pa.field("evidence", S),  # JSON: idle minutes, busy ratio, last sample, hosts
        pa.field("saving_usd_per_hour", F),
        pa.field("request", S),  # the API call made (or that would be made)
        *PROVENANCE,
    ]
)
