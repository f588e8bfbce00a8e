"""Workload metrics from MLflow runs (`mlflow-skinny`'s MlflowClient): one row per metric history point.

Which runs. The first pull of an experiment reads every active run. Later pulls re-read only runs that
may have changed since the experiment's watermark (the time of the last pull, minus SLACK for clock
skew between us and the tracking server): runs still RUNNING, and runs whose end_time is at or after
it. MLflow's search has no OR, so that is two searches, merged by run id. A FINISHED run that gets
metrics logged later, or a deleted run, is not revisited (a full re-read: delete its ingest_state row).

Replace key. A run's rows are keyed {_source = "mlflow:<run_id>"} with no `_day`: its points may span
days, and re-reading the run replaces all of them wherever they lie.

Row fields. workload = tag `workload`, else the run name (tag `mlflow.runName` / run_name), else the
experiment name — set a `workload` tag for a name that stays the same across runs, which the
degradation baselines need. team = tag `team`. platform = tag `platform`, else `databricks` when the
run carries Databricks' own `mlflow.databricks.*` tags (it ran on a Databricks cluster or job), else
null. labels = experiment, run_name, step, the run's params as `param.<name>` and its user tags (not
`mlflow.*`) as `tag.<name>`. NaN / ±Inf values are skipped and counted.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from collectors.base import Batch, Item, RunContext
from collectors.common.state import last_watermark
from collectors.workload.rows import TABLE, PullStats, from_millis, row, to_table, unit_for
from spendscope.errors import SourceError

if TYPE_CHECKING:
    from mlflow.entities import Metric, Run
    from mlflow.tracking import MlflowClient

log = logging.getLogger(__name__)

SLACK_MS = 10 * 60 * 1000
PAGE_SIZE = 1000
RUNS_PER_BATCH = 200  # bounds the replace predicate (one OR term per run)
_OWN_TAGS = {"workload", "team", "platform"}


def state_source(tracking_uri: str) -> str:
    """The ingest_state source of this tracking server; the partition is the experiment id."""
    return f"workload:mlflow:{tracking_uri}"


def run_source(run_id: str) -> str:
    """The `_source` of a run's rows, and its replace key."""
    return f"mlflow:{run_id}"


def run_identity(run: Run, experiment: str) -> tuple[str, str | None, str | None, dict[str, str]]:
    """(workload, platform, team, labels) of a run, by the precedence in the module docstring."""
    tags: dict[str, str] = dict(run.data.tags)
    name = tags.get("mlflow.runName") or run.info.run_name or ""
    workload = tags.get("workload") or name or experiment
    platform = tags.get("platform") or ("databricks" if any(k.startswith("mlflow.databricks.") for k in tags) else None)
    labels = {"experiment": experiment, "run_name": name}
    labels |= {f"param.{k}": str(v) for k, v in run.data.params.items()}
    labels |= {f"tag.{k}": v for k, v in tags.items() if not k.startswith("mlflow.") and k not in _OWN_TAGS}
    return workload, platform, tags.get("team") or None, labels


def history_rows(
    run: Run, experiment: str, metric: str, history: list[Metric], stats: PullStats
) -> list[dict[str, Any]]:
    """Rows of one metric's history of one run; pure."""
    workload, platform, team, labels = run_identity(run, experiment)
    unit = unit_for(metric)
    out = []
    for point in history:
        value = float(point.value)
        if not math.isfinite(value):
            stats.skipped_points += 1
            continue
        out.append(
            row(
                from_millis(point.timestamp),
                workload,
                metric,
                value,
                unit=unit,
                platform=platform,
                team=team,
                run_id=run.info.run_id,
                source="mlflow",
                labels={**labels, "step": str(point.step)},
                provenance=run_source(run.info.run_id),
            )
        )
    return out


class MlflowSource:
    """Reads the configured experiments' runs through an MlflowClient."""

    def __init__(
        self, tracking_uri: str, experiments: list[str], metrics: Mapping[str, str], client: MlflowClient
    ) -> None:
        self.tracking_uri = tracking_uri
        self.experiments = experiments
        self.metrics = dict(metrics)
        self.client = client

    def pull(self, ctx: RunContext, stats: PullStats) -> Iterator[Item]:
        """One or more batches per experiment with changed runs; an unknown experiment is reported and skipped."""
        from mlflow.exceptions import MlflowException

        for name in self.experiments:
            try:
                yield from self._experiment(ctx, name, stats)
            except MlflowException as exc:
                raise SourceError(f"mlflow {self.tracking_uri} experiment {name!r}: {exc.message}") from None

    def _experiment(self, ctx: RunContext, name: str, stats: PullStats) -> Iterator[Item]:
        started = ctx.now()
        exp = self.client.get_experiment_by_name(name)
        if exp is None:
            stats.missing_experiments.append(name)
            log.warning("workload mlflow experiment-not-found:%s uri:%s", name, self.tracking_uri)
            return
        mark = last_watermark(ctx.warehouse, state_source(self.tracking_uri), exp.experiment_id)
        runs = self._changed_runs(exp.experiment_id, None if mark is None else int(mark.timestamp() * 1000))
        log.info("workload mlflow experiment:%s since:%s runs:%s", name, mark, len(runs))
        for i in range(0, len(runs), RUNS_PER_BATCH):
            chunk = runs[i : i + RUNS_PER_BATCH]
            rows = [r for run in chunk for r in self._run_rows(run, name, stats)]
            stats.rows += len(rows)
            stats.runs += len(chunk)
            last = i + RUNS_PER_BATCH >= len(runs)
            state = (
                [
                    {
                        "source": state_source(self.tracking_uri),
                        "partition": exp.experiment_id,
                        "watermark": started,
                        "rows": len(rows),
                        "_source": name,
                    }
                ]
                if last
                else []
            )
            keys = [{"_source": run_source(run.info.run_id)} for run in chunk]
            yield Batch(table=TABLE, data=to_table(rows), keys=keys, state=state)

    def _changed_runs(self, experiment_id: str, since_ms: int | None) -> list[Run]:
        if since_ms is None:
            return self._search(experiment_id, "")
        found = {r.info.run_id: r for r in self._search(experiment_id, "attributes.status = 'RUNNING'")}
        for r in self._search(experiment_id, f"attributes.end_time >= {since_ms - SLACK_MS}"):
            found.setdefault(r.info.run_id, r)
        return sorted(found.values(), key=lambda r: (r.info.start_time or 0, r.info.run_id))

    def _search(self, experiment_id: str, filter_string: str) -> list[Run]:
        out: list[Run] = []
        token: str | None = None
        while True:
            page = self.client.search_runs(
                [experiment_id], filter_string=filter_string, max_results=PAGE_SIZE, page_token=token
            )
            out.extend(page)
            token = page.token
            if not token:
                return out

    def _run_rows(self, run: Run, experiment: str, stats: PullStats) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for key, metric in self.metrics.items():
            if key in run.data.metrics:  # the run's latest values: skip history calls for keys it never logged
                history = self.client.get_metric_history(run.info.run_id, key)
                rows += history_rows(run, experiment, metric, history, stats)
        return rows
