"""Research-graph assets, one module per stage."""

from dagster_project.assets.deep_models import deep_models
from dagster_project.assets.ensemble import ensemble_model, ensemble_weights, regime_routing
from dagster_project.assets.explain import deep_shap, permutation_importance, shap_values
from dagster_project.assets.folds import folds
from dagster_project.assets.models import lightgbm_model, ridge_model
from dagster_project.assets.orderbook import deeplob_model, orderbook_snapshots
from dagster_project.assets.snapshots import feature_snapshots
from dagster_project.assets.targets import targets
from dagster_project.assets.validation import validation_report

RESEARCH_ASSETS = [
    feature_snapshots, targets, folds, lightgbm_model, ridge_model, deep_models,
    validation_report, shap_values, deep_shap, permutation_importance, ensemble_weights, regime_routing,
    ensemble_model,
]

ORDERBOOK_ASSETS = [orderbook_snapshots, deeplob_model]
