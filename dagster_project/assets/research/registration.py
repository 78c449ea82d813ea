"""A trained family into MLflow from an asset: lineage from the Dagster run, then quant_registry."""

from typing import Any

import dagster as dg

from dagster_project.metadata import markdown_table
from dagster_project.resources import MlflowTracker
from dagster_project.types import FoldPlan, ModellingFrame, TrainedFamily
from quant_core.stages import FamilyFit
from quant_registry.families import log_family
from quant_registry.lineage import lineage_tags


def register_family(context: dg.AssetExecutionContext, mlflow: MlflowTracker, fit: FamilyFit,
                    targets: ModellingFrame, folds: FoldPlan) -> TrainedFamily:
    """Nested MLflow runs of the family and its folds, and a new registered version (``challenger``)."""
    lineage = lineage_tags(fit, targets, folds, orchestration_run_id=context.run.run_id,
                           job_name=context.run.job_name)
    with mlflow.asset_run(context, targets.data_version, {"quantflow.family": fit.family}) as run:
        model_uri, version = log_family(run, fit, targets, folds, mlflow.registered_name(fit.family), lineage)
        run_id = run.run_id
    return TrainedFamily.from_fit(fit, model_uri=model_uri, model_version=version, mlflow_run_id=run_id)


def family_metadata(trained: TrainedFamily) -> dict[str, Any]:
    """The numbers and the fold table a family's materialization shows."""
    table = trained.fold_table
    overall = table.filter(table["fold"] == "overall").row(0, named=True)
    return {
        "oos_rank_ic_mean": float(overall["rank_ic_mean"]),
        "oos_ic_mean": float(overall["ic_mean"]),
        "oos_rank_icir": float(overall["rank_icir"]),
        "folds": markdown_table(table),
        "model_uri": trained.model_uri,
        "mlflow_run_id": trained.mlflow_run_id,
    }
