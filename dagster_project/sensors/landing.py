"""Daily files landed for scoring -> one ``daily_scoring_job`` run per new (or rewritten) file.

The landing folder (``<state_dir>/landing``) holds one ``YYYY-MM-DD.parquet`` per trading date
(format in ``quant_core.data.landing``); the cursor remembers each file's size and modification
time. Whole panels for research go to the inbox instead (``sensors/ingest.py``).
"""

import json

import dagster as dg

from dagster_project.assets.lifecycle.live import LIVE_PARTITIONS
from dagster_project.jobs import daily_scoring_job
from dagster_project.resources import ProjectState
from quant_core.data.landing import landed_files

MAX_REMEMBERED_FILES = 400


def _fingerprint(path) -> str:
    stat = path.stat()
    return f"{stat.st_size}-{stat.st_mtime_ns}"


@dg.sensor(job=daily_scoring_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED)
def landing_sensor(context: dg.SensorEvaluationContext, state: ProjectState) -> dg.SensorResult:
    """Scores each new or rewritten YYYY-MM-DD.parquet in the landing folder (one run per date)."""
    cursor = json.loads(context.cursor) if context.cursor else {"seen": {}, "floor": ""}
    seen: dict[str, str] = cursor["seen"]
    requests, ignored = [], []
    for day, path in landed_files(state.landing_dir).items():
        fingerprint = _fingerprint(path)
        if day < cursor["floor"] or seen.get(day) == fingerprint:
            continue
        seen[day] = fingerprint
        if not LIVE_PARTITIONS.has_partition_key(day):
            ignored.append(day)
            continue
        requests.append(dg.RunRequest(partition_key=day, run_key=f"{day}:{fingerprint}", tags={
            "quantflow/trigger": "data_arrival", "quantflow/landing_file": path.name}))
    if len(seen) > MAX_REMEMBERED_FILES:
        kept = sorted(seen)[-MAX_REMEMBERED_FILES:]
        cursor["floor"] = kept[0]
        seen = {d: seen[d] for d in kept}
    if ignored:
        context.log.warning(f"landing files outside the live partitions (weekend or before start): {ignored}")
    context.update_cursor(json.dumps({"seen": seen, "floor": cursor["floor"]}))
    if not requests:
        return dg.SensorResult(skip_reason=f"no new landing file in {state.landing_dir}")
    return dg.SensorResult(run_requests=requests)
