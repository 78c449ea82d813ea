"""Drift or realised-IC decay -> one ``retrain_job`` run, with a cooldown.

``drift_ic_sensor`` reads the monitors' materializations recorded since its cursor and requests
``retrain_job`` when a drift report flags dataset or prediction drift, or the realised IC has
decayed. After a request, no other is made until ``cooldown_days`` business days of data later,
nor while a retrain run is queued or running: a drifted week starts one retrain, not five.
Signals suppressed that way are consumed (the cursor moves on), not queued.
"""

import json

import dagster as dg
import numpy as np

from dagster_project.jobs import retrain_job
from dagster_project.resources import RetrainPolicy

DRIFT_KEY = dg.AssetKey("drift_report")
IC_KEY = dg.AssetKey("realized_ic")
IN_FLIGHT = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
             dg.DagsterRunStatus.STARTED]


def _value(metadata, key, default=None):
    entry = metadata.get(key)
    return default if entry is None else entry.value


def _triggers(key: dg.AssetKey, metadata, policy: RetrainPolicy) -> tuple[list[str], dict[str, str]]:
    """Which thresholds one monitor materialization crossed, and the numbers for the run tags."""
    kinds, details = [], {}
    if key == DRIFT_KEY:
        if policy.on_data_drift and _value(metadata, "dataset_drift", False):
            kinds.append("data_drift")
        if policy.on_prediction_drift and _value(metadata, "prediction_drift", False):
            kinds.append("prediction_drift")
        if kinds:
            details = {"quantflow/share_drifted": f"{_value(metadata, 'share_drifted', 0.0):.3f}",
                       "quantflow/drifted_features": str(_value(metadata, "drifted_features", ""))[:500]}
    elif policy.on_ic_decay and _value(metadata, "ic_decayed", False):
        kinds.append("ic_decay")
        details = {"quantflow/live_rank_ic": f"{_value(metadata, 'live_rank_ic_mean', float('nan')):+.4f}",
                   "quantflow/validation_rank_ic": f"{_value(metadata, 'validation_rank_ic', float('nan')):+.4f}",
                   "quantflow/ic_p_value": f"{_value(metadata, 'p_value', float('nan')):.4f}"}
    return kinds, details


@dg.sensor(job=retrain_job, minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.STOPPED)
def drift_ic_sensor(context: dg.SensorEvaluationContext, retrain_policy: RetrainPolicy):
    """Requests retrain_job when drift or realised-IC decay crosses its threshold, at most once per cooldown."""
    cursor = json.loads(context.cursor) if context.cursor else {"after": None, "last_fired": None}
    after, last_fired = cursor["after"], cursor["last_fired"]
    newest = after
    fired: dict[str, tuple[list[str], dict[str, str]]] = {}
    n_seen = 0
    for key in (DRIFT_KEY, IC_KEY):
        records = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, after_storage_id=after), limit=1000, ascending=True).records
        for record in records:
            n_seen += 1
            newest = max(newest or 0, record.storage_id)
            materialization = record.asset_materialization
            kinds, details = _triggers(key, materialization.metadata, retrain_policy)
            if kinds and materialization.partition:
                previous = fired.setdefault(materialization.partition, ([], {}))
                previous[0].extend(kinds)
                previous[1].update(details)

    def done(skip: str) -> dg.SkipReason:
        context.update_cursor(json.dumps({"after": newest, "last_fired": last_fired}))
        return dg.SkipReason(skip)

    if not fired:
        return done(f"no monitor crossed a threshold in {n_seen} new materialization(s)")
    partition = max(fired)
    kinds, details = fired[partition]
    if last_fired is not None:
        elapsed = int(np.busday_count(last_fired, partition))
        if elapsed < retrain_policy.cooldown_days:
            return done(f"cooldown: {'+'.join(kinds)} on {partition}, but a retrain was requested for "
                        f"{last_fired}, {elapsed} business day(s) earlier (< {retrain_policy.cooldown_days})")
    running = context.instance.get_runs(dg.RunsFilter(job_name=retrain_job.name, statuses=IN_FLIGHT), limit=1)
    if running:
        return done(f"{'+'.join(kinds)} on {partition}, but retrain run {running[0].run_id} is in flight")
    last_fired = partition
    context.update_cursor(json.dumps({"after": newest, "last_fired": last_fired}))
    return dg.RunRequest(run_key=f"monitor-{partition}", tags={
        "quantflow/trigger": "+".join(dict.fromkeys(kinds)), "quantflow/partition": partition, **details})
