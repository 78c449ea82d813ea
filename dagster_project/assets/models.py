"""Fold-wise models per family: out-of-fold predictions, MLflow runs per fold, a registered model."""

from collections.abc import Callable
from typing import Any

import dagster as dg
import numpy as np
import polars as pl
from pydantic import Field

from dagster_project.assets.metadata import markdown_table
from dagster_project.assets.types import TrainedFamily
from dagster_project.resources import MlflowTracker
from dagster_project.resources.mlflow_tracker import (
    CURVES_ARTIFACT,
    MODEL_CARD_ARTIFACT,
    OOF_ARTIFACT,
    REFERENCE_ARTIFACT,
    code_version,
    config_hash,
)
from quant_core.data.dataset import FoldPlan, ModellingFrame
from quant_core.models import LightGBMRegressor, RidgeRegressor, train_foldwise
from quant_core.models.model_card import ModelCard, known_limitations
from quant_core.monitoring.evidently_drift import training_reference
from quant_core.validation import fold_ic_table

REFERENCE_DAYS = 126  # newest training dates kept as the drift reference of a registered model


class LightGBMConfig(dg.Config):
    num_boost_round: int = Field(default=300, description="Maximum boosting rounds per fold")
    early_stopping_rounds: int = Field(default=30, description="Stop when the inner validation slice stops improving")
    learning_rate: float = Field(default=0.05, description="Shrinkage per round")
    num_leaves: int = Field(default=15, description="Leaves per tree")
    min_data_in_leaf: int = Field(default=500, description="Minimum rows per leaf (noisy targets need many)")
    feature_fraction: float = Field(default=0.8, description="Share of features sampled per tree")
    inner_valid_days: int = Field(default=63, description="Last training dates held out for early stopping")
    seed: int = Field(default=0, description="Random seed")


class RidgeConfig(dg.Config):
    alpha: float = Field(default=10.0, description="L2 penalty on standardised features")


def train_and_register(
    context: dg.AssetExecutionContext,
    family: str,
    make_model: Callable[[], Any],
    make_final: Callable[[Any], Any],
    params: dict[str, Any],
    targets: ModellingFrame,
    folds: FoldPlan,
    mlflow: MlflowTracker,
    inner_valid_days: int = 0,
) -> tuple[TrainedFamily, pl.DataFrame]:
    """Fold-wise training, a final refit on every row, MLflow runs per fold, a registered challenger.

    Returns the trained family and its per-fold IC table (last row ``overall``).
    """
    purge_days = targets.horizon_days + targets.lag_days if inner_valid_days else 0
    result = train_foldwise(targets.frame, list(folds.splits), make_model,
                            inner_valid_days=inner_valid_days, purge_days=purge_days)
    fold_table = fold_ic_table(result.oof, horizon_days=targets.horizon_days)
    overall = fold_table.filter(fold_table["fold"] == "overall").row(0, named=True)
    final_model = make_final(result).fit(targets.frame)
    features = list(targets.features)
    reference = training_reference(targets.frame, features, REFERENCE_DAYS)
    reference = reference.with_columns(pl.Series("score", final_model.predict(reference), dtype=pl.Float64))
    lineage = _lineage_tags(context, family, params, targets, folds, overall)
    curves = {str(i): {f"{dataset}_{metric}": [float(v) for v in values]
                       for dataset, by_metric in (getattr(model, "evals_result_", None) or {}).items()
                       for metric, values in by_metric.items()}
              for i, model in enumerate(result.models)}
    with mlflow.asset_run(context, targets.data_version, {"quantflow.family": family}) as run:
        for i in range(len(result.models)):
            fold_row = fold_table.filter(fold_table["fold"] == str(i)).row(0, named=True)
            with run.child(f"fold {i}", {"quantflow.fold": str(i)}) as fold_run:
                fold_run.log(params=result.folds.filter(result.folds["fold"] == i).row(0, named=True),
                             metrics={k: v for k, v in fold_row.items() if k != "fold"}, curves=curves[str(i)])
        if any(curves.values()):
            run.log_json(curves, CURVES_ARTIFACT)
        run.log(params={**params, "family": family, "n_folds": folds.n_splits, "scheme": folds.scheme,
                        "embargo_days": folds.embargo_days, "horizon_days": targets.horizon_days,
                        "lag_days": targets.lag_days, "n_features": len(features)},
                metrics={f"oos_{k}": v for k, v in overall.items() if k != "fold"},
                tags={k: v for k, v in lineage.items() if not k.startswith("validation.")})
        run.log_parquet(result.oof, OOF_ARTIFACT)
        run.log_parquet(reference, REFERENCE_ARTIFACT)
        name = mlflow.registered_name(family)
        model_uri, version = run.log_signal_model(final_model, features, name, tags=lineage)
        card = _model_card(name, version, family, params, lineage, targets, folds, fold_table, overall)
        run.log_text(card.to_markdown(), MODEL_CARD_ARTIFACT)
        run_id = run.run_id
    trained = TrainedFamily(family=family, result=result, final_model=final_model,
                            features=tuple(features), model_uri=model_uri, model_version=version,
                            mlflow_run_id=run_id)
    return trained, fold_table


def family_metadata(trained: TrainedFamily, fold_table: pl.DataFrame) -> dict[str, Any]:
    overall = fold_table.filter(fold_table["fold"] == "overall").row(0, named=True)
    return {
        "oos_rank_ic_mean": float(overall["rank_ic_mean"]),
        "oos_ic_mean": float(overall["ic_mean"]),
        "oos_rank_icir": float(overall["rank_icir"]),
        "folds": markdown_table(fold_table),
        "model_uri": trained.model_uri,
        "mlflow_run_id": trained.mlflow_run_id,
    }


def _train_family(context: dg.AssetExecutionContext, family: str, make_model: Callable[[], Any],
                  make_final: Callable[[Any], Any], params: dict[str, Any], targets: ModellingFrame,
                  folds: FoldPlan, mlflow: MlflowTracker, inner_valid_days: int = 0) -> dg.Output:
    trained, fold_table = train_and_register(context, family, make_model, make_final, params, targets, folds,
                                             mlflow, inner_valid_days)
    return dg.Output(trained, metadata=family_metadata(trained, fold_table))


def _lineage_tags(context: dg.AssetExecutionContext, family: str, params: dict[str, Any],
                  targets: ModellingFrame, folds: FoldPlan, overall: dict[str, Any]) -> dict[str, str]:
    """Model-version tags: where the data, code and config came from, and the validation numbers."""
    recipe = {"family": family, "params": params, "features": list(targets.features),
              "scheme": folds.scheme, "n_splits": folds.n_splits, "embargo_days": folds.embargo_days,
              "horizon_days": targets.horizon_days, "lag_days": targets.lag_days,
              "target_kind": targets.target_kind}
    dates = targets.frame["date"]
    tags = {
        "data_version": targets.data_version,
        "code_version": code_version(),
        "config_hash": config_hash(recipe),
        "dagster.run_id": context.run.run_id,
        "dagster.job": context.run.job_name,
        "quantflow.family": family,
        "quantflow.horizon_days": targets.horizon_days,
        "quantflow.lag_days": targets.lag_days,
        "quantflow.target_kind": targets.target_kind,
        "quantflow.train_start": dates.min(),
        "quantflow.train_end": dates.max(),
        "quantflow.n_features": len(targets.features),
        **{f"validation.{k}": v for k, v in overall.items() if k != "fold"},
    }
    return {k: str(v) for k, v in tags.items()}


def _model_card(name: str, version: str, family: str, params: dict[str, Any], lineage: dict[str, str],
                targets: ModellingFrame, folds: FoldPlan, fold_table: pl.DataFrame,
                overall: dict[str, Any]) -> ModelCard:
    frame = targets.frame
    metrics = {k: v for k, v in overall.items() if k not in ("fold", "start", "end")}
    n_assets = frame["asset"].n_unique()
    return ModelCard(
        name=name, version=version, family=family, data_version=targets.data_version,
        code_version=lineage["code_version"], config_hash=lineage["config_hash"],
        dagster_run_id=lineage["dagster.run_id"], train_start=frame["date"].min(),
        train_end=frame["date"].max(), n_rows=frame.height, n_dates=frame["date"].n_unique(),
        n_assets=n_assets, horizon_days=targets.horizon_days, lag_days=targets.lag_days,
        target_kind=targets.target_kind, features=list(targets.features), params=params,
        fold_scheme=folds.scheme, embargo_days=folds.embargo_days, folds=fold_table, metrics=metrics,
        limitations=known_limitations(metrics, horizon_days=targets.horizon_days,
                                      n_oos_dates=int(overall["n_dates"]), n_assets=n_assets,
                                      fold_scheme=folds.scheme),
    )


@dg.asset(group_name="research")
def lightgbm_model(context: dg.AssetExecutionContext, config: LightGBMConfig, targets: ModellingFrame,
                   folds: FoldPlan, mlflow: MlflowTracker) -> dg.Output:
    """LightGBM regression per fold (early stopping on a purged inner slice) with OOF predictions."""
    params = {"learning_rate": config.learning_rate, "num_leaves": config.num_leaves,
              "min_data_in_leaf": config.min_data_in_leaf, "feature_fraction": config.feature_fraction}
    features = list(targets.features)

    def make_model():
        return LightGBMRegressor(features, params=params, num_boost_round=config.num_boost_round,
                                 early_stopping_rounds=config.early_stopping_rounds, seed=config.seed)

    def make_final(result):
        rounds = int(np.median([m.best_iteration_ for m in result.models])) or config.num_boost_round
        return LightGBMRegressor(features, params=params, num_boost_round=max(rounds, 1),
                                 early_stopping_rounds=0, seed=config.seed)

    return _train_family(context, "lightgbm", make_model, make_final,
                         {**params, "num_boost_round": config.num_boost_round, "seed": config.seed},
                         targets, folds, mlflow, inner_valid_days=config.inner_valid_days)


@dg.asset(group_name="research")
def ridge_model(context: dg.AssetExecutionContext, config: RidgeConfig, targets: ModellingFrame,
                folds: FoldPlan, mlflow: MlflowTracker) -> dg.Output:
    """Ridge regression on standardised features per fold: the linear baseline."""
    features = list(targets.features)

    def make_model():
        return RidgeRegressor(features, alpha=config.alpha)

    return _train_family(context, "ridge", make_model, lambda _result: make_model(),
                         {"alpha": config.alpha}, targets, folds, mlflow)
