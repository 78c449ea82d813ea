"""Drift sensor: compare the newest landed snapshot with the training reference; retrain on drift.

The newest ``*.parquet`` in the landing folder (by name, e.g. ``2024-06-03.parquet``) is compared
feature by feature with the drift reference written by the ``drift_reference`` asset, using the
population stability index (PSI) and the two-sample KS test. The cursor holds the name and
content hash of the last file evaluated, so the same data never fires twice.
"""

import hashlib
import json

import dagster as dg
import polars as pl

from dagster_project.jobs import research_job
from dagster_project.resources import ProjectState
from quant_core.monitoring import feature_drift

PSI_THRESHOLD = 0.25  # the conventional "significant shift" level for PSI


def _file_hash(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


@dg.sensor(job=research_job, minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.STOPPED)
def drift_sensor(context: dg.SensorEvaluationContext, state: ProjectState):
    """Requests a retrain when a feature's PSI against the training reference exceeds 0.25."""
    reference_path = state.drift_reference_path
    if not reference_path.exists():
        return dg.SkipReason(f"no drift reference at {reference_path}: materialize drift_reference first")
    files = sorted(state.landing_dir.glob("*.parquet"))
    if not files:
        return dg.SkipReason(f"no snapshot in {state.landing_dir}")
    newest = files[-1]
    cursor_value = f"{newest.name}:{_file_hash(newest)}"
    if context.cursor == cursor_value:
        return dg.SkipReason(f"{newest.name} already evaluated")
    reference = pl.read_parquet(reference_path)
    current = pl.read_parquet(newest)
    features = [c for c in reference.columns if c not in ("date", "asset") and c in current.columns]
    drift = feature_drift(reference, current, features)
    worst = drift.sort("psi", descending=True).row(0, named=True)
    context.update_cursor(cursor_value)
    if worst["psi"] <= PSI_THRESHOLD:
        return dg.SkipReason(f"{newest.name}: max PSI {worst['psi']:.3f} ({worst['feature']}) <= {PSI_THRESHOLD}")
    drifted = drift.filter(pl.col("psi") > PSI_THRESHOLD)["feature"].to_list()
    return dg.RunRequest(
        run_key=cursor_value,
        tags={
            "quantflow/trigger": "drift",
            "quantflow/snapshot": newest.name,
            "quantflow/max_psi": f"{worst['psi']:.4f}",
            "quantflow/drifted_features": json.dumps(drifted)[:1000],
        },
    )
