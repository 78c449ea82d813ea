"""Model explanations measured in what a signal is paid for: out-of-sample, per fold, by regime.

Exact TreeSHAP for LightGBM and gradient SHAP for torch networks, per fold and as polars
frames; SHAP by regime; tree interaction pairs; permutation importance as the drop in
out-of-sample Rank IC (shuffling within dates); feature-family contributions to score variance
and IC; rank stability of importances across folds and time; PNG plots.
"""

from quant_core.explain.frames import (
    KEY_COLUMNS,
    fold_shap,
    mean_abs_shap_by_fold,
    shap_to_frame,
)
from quant_core.explain.gradient_shap import GRADIENT_ENGINES, expected_gradients, gradient_shap
from quant_core.explain.groups import (
    DEFAULT_GROUP_PREFIXES,
    feature_groups,
    group_contributions,
    group_shap,
)
from quant_core.explain.interactions import top_interactions, tree_interactions
from quant_core.explain.permutation import (
    PermutationImportance,
    fold_permutation_importance,
    permutation_importance,
    permute_within_dates,
)
from quant_core.explain.plots import (
    group_bar_plot,
    permutation_importance_plot,
    regime_importance_plot,
    shap_dependence_plot,
)
from quant_core.explain.regimes import shap_by_regime
from quant_core.explain.stability import (
    StabilityResult,
    importance_stability,
    kendall_w,
    mean_pairwise_spearman,
    windowed_mean_abs_shap,
)
from quant_core.explain.torch_panel import ROW_WISE_FAMILIES, panel_gradient_shap
from quant_core.explain.tree_shap import mean_abs_shap, shap_summary_plot, tree_shap

__all__ = [
    "DEFAULT_GROUP_PREFIXES",
    "GRADIENT_ENGINES",
    "KEY_COLUMNS",
    "ROW_WISE_FAMILIES",
    "PermutationImportance",
    "StabilityResult",
    "expected_gradients",
    "feature_groups",
    "fold_permutation_importance",
    "fold_shap",
    "gradient_shap",
    "group_bar_plot",
    "group_contributions",
    "group_shap",
    "importance_stability",
    "kendall_w",
    "mean_abs_shap",
    "mean_abs_shap_by_fold",
    "mean_pairwise_spearman",
    "panel_gradient_shap",
    "permutation_importance",
    "permutation_importance_plot",
    "permute_within_dates",
    "regime_importance_plot",
    "shap_by_regime",
    "shap_dependence_plot",
    "shap_summary_plot",
    "shap_to_frame",
    "top_interactions",
    "tree_interactions",
    "tree_shap",
    "windowed_mean_abs_shap",
]
