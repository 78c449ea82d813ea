"""Fold-wise LightGBM and ridge: out-of-fold predictions, MLflow runs per fold, a registered model."""

import dagster as dg

from dagster_project.assets.research.registration import family_metadata, register_family
from dagster_project.config import core, to_core
from dagster_project.resources import MlflowTracker
from dagster_project.types import FoldPlan, ModellingFrame
from quant_core.models import LightGBMConfig as LightGBMSpec
from quant_core.models import RidgeConfig as RidgeSpec
from quant_core.stages import train_lightgbm, train_ridge


class LightGBMConfig(dg.Config):
    num_boost_round: int = core(LightGBMSpec, "num_boost_round")
    early_stopping_rounds: int = core(LightGBMSpec, "early_stopping_rounds")
    learning_rate: float = core(LightGBMSpec, "learning_rate")
    num_leaves: int = core(LightGBMSpec, "num_leaves")
    min_data_in_leaf: int = core(LightGBMSpec, "min_data_in_leaf")
    feature_fraction: float = core(LightGBMSpec, "feature_fraction")
    bagging_fraction: float = core(LightGBMSpec, "bagging_fraction")
    lambda_l2: float = core(LightGBMSpec, "lambda_l2")
    seed: int = core(LightGBMSpec, "seed")
    num_threads: int = core(LightGBMSpec, "num_threads")
    inner_valid_days: int = core(LightGBMSpec, "inner_valid_days")


class RidgeConfig(dg.Config):
    alpha: float = core(RidgeSpec, "alpha")


@dg.asset(group_name="research")
def lightgbm_model(context: dg.AssetExecutionContext, config: LightGBMConfig, targets: ModellingFrame,
                   folds: FoldPlan, mlflow: MlflowTracker) -> dg.Output:
    """LightGBM regression per fold (early stopping on a purged inner slice) with OOF predictions."""
    trained = register_family(context, mlflow, train_lightgbm(targets, folds, to_core(config, LightGBMSpec)),
                              targets, folds)
    return dg.Output(trained, metadata=family_metadata(trained))


@dg.asset(group_name="research")
def ridge_model(context: dg.AssetExecutionContext, config: RidgeConfig, targets: ModellingFrame,
                folds: FoldPlan, mlflow: MlflowTracker) -> dg.Output:
    """Ridge regression on standardised features per fold: the linear baseline."""
    trained = register_family(context, mlflow, train_ridge(targets, folds, to_core(config, RidgeSpec)),
                              targets, folds)
    return dg.Output(trained, metadata=family_metadata(trained))
