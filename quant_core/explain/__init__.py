"""Model explanations: exact TreeSHAP for LightGBM, global importances, summary plots."""

from quant_core.explain.tree_shap import mean_abs_shap, shap_summary_plot, tree_shap

__all__ = ["mean_abs_shap", "shap_summary_plot", "tree_shap"]
