"""Pairwise SHAP interaction values of tree models: which features act together.

A tree model can learn that a signal works only when another feature is high (momentum in
low-volatility names, say). SHAP interaction values split each row's SHAP value of feature i
into a main effect and one term per partner j; large |phi_ij| flags such pairs.

LightGBM has no native interaction output (``pred_contrib`` gives main SHAP values only), so
this uses ``shap.TreeExplainer(...).shap_interaction_values`` (exact, path-dependent Tree
SHAP interaction values; about F times the cost of SHAP values, so run it on a sample of a
few hundred rows). The explainer sees exactly the trees ``predict`` uses (up to the best
iteration), so each row's interaction matrix sums to its prediction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

__all__ = ["top_interactions", "tree_interactions"]


def tree_interactions(
    model: Any,
    X: Any,
    features: Sequence[str] | None = None,
    max_rows: int | None = 500,
    seed: int = 0,
) -> tuple[np.ndarray, float]:
    """Exact SHAP interaction values of a LightGBM model on (a sample of) ``X``.

    Parameters
    ----------
    model : lightgbm.Booster or LightGBMRegressor
        A ``LightGBMRegressor`` is explained at its ``best_iteration_``.
    X : np.ndarray or pl.DataFrame
        Rows to explain (a DataFrame is read in the booster's feature order).
    features : sequence of str, optional
        Checked against the booster's feature names when given.
    max_rows : int or None, default 500
        Rows sampled without replacement (sorted) when ``X`` has more; None: all rows.
    seed : int, default 0

    Returns
    -------
    (np.ndarray, float)
        Interaction values, shape (n, F, F), symmetric, ``[:, i, i]`` the main effects and
        ``[:, i, j] = [:, j, i]`` half the i-j interaction; and the expected value. Summing
        over the last axis gives the SHAP values, over both the prediction minus the
        expected value.
    """
    import lightgbm as lgb

    from quant_core.explain._shap import import_shap
    from quant_core.explain.tree_shap import _as_booster, _feature_matrix

    shap = import_shap()

    booster = _as_booster(model)
    names = list(booster.feature_name())
    if features is not None and list(features) != names:
        raise ValueError(f"features {list(features)} do not match the booster's {names}")
    X = _feature_matrix(X, names)
    if max_rows is not None:
        if max_rows < 1:
            raise ValueError(f"max_rows must be >= 1 or None, got {max_rows}")
        if X.shape[0] > max_rows:
            rows = np.sort(np.random.default_rng(seed).choice(X.shape[0], max_rows, replace=False))
            X = X[rows]
    best = getattr(model, "best_iteration_", None)
    if best is not None and best < booster.current_iteration():
        # TreeExplainer reads every tree in the model; keep only those predict() uses.
        booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=int(best)))
    explainer = shap.TreeExplainer(booster)
    values = np.asarray(explainer.shap_interaction_values(X), dtype=np.float64)
    expected = float(np.ravel(explainer.expected_value)[0])
    return values, expected


def top_interactions(
    interaction_values: np.ndarray, features: Sequence[str], top_k: int | None = 10
) -> pl.DataFrame:
    """Feature pairs ranked by mean |interaction|, with the main effects for reference.

    The interaction of a pair is ``phi_ij + phi_ji`` (both halves), so for each row it is the
    part of the prediction that neither feature explains alone.

    Returns
    -------
    pl.DataFrame
        ``feature_a, feature_b, mean_abs_interaction, share, rank`` for the ``top_k``
        strongest pairs (all pairs if None); ``share`` is the pair's part of the total mean
        |SHAP interaction| mass (main effects included), so a pair with share 0.2 explains a
        fifth of what the model does.
    """
    iv = np.asarray(interaction_values, dtype=np.float64)
    features = list(features)
    f = len(features)
    if iv.ndim != 3 or iv.shape[1:] != (f, f):
        raise ValueError(f"interaction_values must have shape (n, {f}, {f}), got {iv.shape}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be >= 1 or None, got {top_k}")
    pair = np.abs(iv + iv.transpose(0, 2, 1)).mean(axis=0)
    main = np.abs(np.diagonal(iv, axis1=1, axis2=2)).mean(axis=0)
    ia, ib = np.triu_indices(f, k=1)
    total = main.sum() + pair[ia, ib].sum()
    table = pl.DataFrame(
        {
            "feature_a": [features[i] for i in ia],
            "feature_b": [features[j] for j in ib],
            "mean_abs_interaction": pair[ia, ib],
        },
        schema={"feature_a": pl.String, "feature_b": pl.String, "mean_abs_interaction": pl.Float64},
    )
    table = (
        table.with_columns(
            (pl.col("mean_abs_interaction") / total if total > 0 else pl.lit(0.0)).alias("share")
        )
        .sort("mean_abs_interaction", descending=True, maintain_order=True)
        .with_row_index("rank", offset=1)
        .with_columns(pl.col("rank").cast(pl.Int64))
        .select("feature_a", "feature_b", "mean_abs_interaction", "share", "rank")
    )
    return table if top_k is None else table.head(top_k)
