"""The research graph (group ``research``): snapshots -> targets -> folds -> models -> validation,
explanations and ensembles."""

from dagster_project.assets.research.deep_models import deep_models
from dagster_project.assets.research.ensemble import (
    ensemble_model,
    ensemble_weights,
    regime_routing,
)
from dagster_project.assets.research.explain import deep_shap, permutation_importance, shap_values
from dagster_project.assets.research.folds import folds
from dagster_project.assets.research.models import lightgbm_model, ridge_model
from dagster_project.assets.research.snapshots import feature_snapshots
from dagster_project.assets.research.targets import targets
from dagster_project.assets.research.trading import pnl_attribution, portfolio_backtest
from dagster_project.assets.research.validation import validation_report

RESEARCH_ASSETS = [
    feature_snapshots, targets, folds, lightgbm_model, ridge_model, deep_models,
    validation_report, shap_values, deep_shap, permutation_importance, ensemble_weights, regime_routing,
    ensemble_model, portfolio_backtest, pnl_attribution,
]
