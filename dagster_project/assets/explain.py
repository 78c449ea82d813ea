"""Exact TreeSHAP values of the LightGBM fold models on their own test rows."""

import dagster as dg
import numpy as np
import polars as pl
from pydantic import Field

from dagster_project.assets.metadata import image, markdown_table
from dagster_project.assets.types import TrainedFamily
from dagster_project.resources import MlflowTracker, ProjectState
from quant_core.data.dataset import FoldPlan, ModellingFrame
from quant_core.explain import mean_abs_shap, shap_summary_plot, tree_shap


class ShapConfig(dg.Config):
    max_rows_per_fold: int = Field(default=2000, description="Test rows sampled per fold for SHAP")
    seed: int = Field(default=0, description="Sampling seed")


@dg.asset(group_name="research")
def shap_values(context: dg.AssetExecutionContext, config: ShapConfig, targets: ModellingFrame,
                folds: FoldPlan, lightgbm_model: TrainedFamily, mlflow: MlflowTracker,
                state: ProjectState) -> dg.Output:
    """Mean |SHAP| per feature from each fold model on its own out-of-sample rows."""
    rng = np.random.default_rng(config.seed)
    features = list(lightgbm_model.features)
    values, samples = [], []
    for model, (_, test_idx) in zip(lightgbm_model.result.models, folds.splits):
        take = min(config.max_rows_per_fold, len(test_idx))
        rows = np.sort(rng.choice(test_idx, size=take, replace=False))
        X = targets.frame[rows].select(features)
        values.append(tree_shap(model.booster_, X.to_numpy()))
        samples.append(X)
    shap_matrix = np.vstack(values)
    X_all = pl.concat(samples)
    importance = mean_abs_shap(shap_matrix, features)
    png = shap_summary_plot(shap_matrix, X_all, features, state.reports_dir / "shap_lightgbm.png")
    table_path = state.reports_dir / "shap_lightgbm_mean_abs.parquet"
    importance.write_parquet(table_path)
    with mlflow.asset_run(context, targets.data_version, {"quantflow.family": "lightgbm"}) as run:
        run.log_artifact(png, "explain")
        run.log_artifact(table_path, "explain")
        run.log_metrics({f"mean_abs_shap_{r['feature']}": r["mean_abs_shap"] for r in importance.iter_rows(named=True)})
    return dg.Output(importance, metadata={
        "mean_abs_shap": markdown_table(importance),
        "summary_plot": image(png),
        "n_rows_explained": int(shap_matrix.shape[0]),
    })
