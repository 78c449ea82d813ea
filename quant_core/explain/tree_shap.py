"""Exact TreeSHAP attributions for LightGBM boosters.

SHAP values split each prediction into per-feature contributions plus the model's expected
value, so a signal's score on a stock can be traced to the features that drove it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

__all__ = ["mean_abs_shap", "shap_summary_plot", "tree_shap"]


def _as_booster(model: Any) -> Any:
    booster = getattr(model, "booster_", model)
    if not hasattr(booster, "predict") or not hasattr(booster, "feature_name"):
        raise ValueError(f"expected a lightgbm.Booster or a model with booster_, got {type(model)}")
    return booster


def _feature_matrix(X: Any, names: list[str]) -> np.ndarray:
    """``X`` as a float64 matrix in the booster's feature order (a DataFrame is read by name)."""
    if isinstance(X, pl.DataFrame):
        missing = [c for c in names if c not in X.columns]
        if missing:
            raise ValueError(f"X is missing feature columns {missing}")
        X = X.select(pl.col(names).cast(pl.Float64)).to_numpy()
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != len(names):
        raise ValueError(f"X must have shape (n, {len(names)}), got {X.shape}")
    return X


def tree_shap(booster: Any, X: Any, num_iteration: int | None = None) -> np.ndarray:
    """Exact TreeSHAP values from LightGBM's ``predict(X, pred_contrib=True)``.

    Parameters
    ----------
    booster : lightgbm.Booster or LightGBMRegressor
        A fitted model; for a ``LightGBMRegressor`` its ``best_iteration_`` is used.
    X : np.ndarray or pl.DataFrame
        Rows to explain; a DataFrame is read in the booster's feature order.
    num_iteration : int, optional
        Trees to use; default: the booster's best iteration (as ``booster.predict`` does).

    Returns
    -------
    np.ndarray, shape (n_rows, n_features + 1)
        Per-feature contributions; the last column is the expected value, and each row sums
        to the raw prediction.
    """
    if num_iteration is None and hasattr(booster, "best_iteration_"):
        num_iteration = int(booster.best_iteration_)
    bst = _as_booster(booster)
    X = _feature_matrix(X, list(bst.feature_name()))
    contrib = bst.predict(X, pred_contrib=True, num_iteration=num_iteration)
    return np.asarray(contrib, dtype=np.float64)


def mean_abs_shap(shap_values: np.ndarray, features: Sequence[str]) -> pl.DataFrame:
    """Global importance: mean |SHAP| per feature, sorted descending.

    ``shap_values`` may include the trailing expected-value column (it is ignored).
    """
    sv = np.asarray(shap_values, dtype=np.float64)
    features = list(features)
    if sv.ndim != 2 or sv.shape[1] not in (len(features), len(features) + 1):
        raise ValueError(
            f"shap_values must have {len(features)} or {len(features) + 1} columns, "
            f"got shape {sv.shape}"
        )
    values = np.abs(sv[:, : len(features)]).mean(axis=0)
    return pl.DataFrame(
        {"feature": features, "mean_abs_shap": values},
        schema={"feature": pl.String, "mean_abs_shap": pl.Float64},
    ).sort(["mean_abs_shap", "feature"], descending=[True, False])


def shap_summary_plot(
    shap_values: np.ndarray,
    X: Any,
    features: Sequence[str],
    path: str | Path,
    max_display: int = 20,
    max_points: int = 2000,
    seed: int = 0,
) -> Path:
    """Write a PNG: mean |SHAP| bars (left) and a beeswarm-style scatter (right).

    In the scatter each dot is a row, placed at its SHAP value and coloured by the feature's
    value (blue low, red high), so the direction of an effect is visible. Rows are
    subsampled to ``max_points`` for speed. Returns the path written.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    features = list(features)
    sv = np.asarray(shap_values, dtype=np.float64)[:, : len(features)]
    if isinstance(X, pl.DataFrame):
        X = X.select(pl.col(features).cast(pl.Float64)).to_numpy()
    X = np.asarray(X, dtype=np.float64)
    if X.shape != sv.shape:
        raise ValueError(f"X shape {X.shape} does not match shap_values {sv.shape}")
    rng = np.random.default_rng(seed)
    if sv.shape[0] > max_points:
        rows = rng.choice(sv.shape[0], size=max_points, replace=False)
        sv_plot, X_plot = sv[rows], X[rows]
    else:
        sv_plot, X_plot = sv, X
    importance = np.abs(sv).mean(axis=0)
    order = np.argsort(-importance, kind="stable")[:max_display][::-1]
    k = len(order)

    fig = Figure(figsize=(12, max(3.0, 0.4 * k + 1.5)))
    FigureCanvasAgg(fig)  # Agg canvas, no pyplot global state
    ax_bar, ax_sw = fig.subplots(1, 2, sharey=True)
    ax_bar.barh(np.arange(k), importance[order], color="#4c72b0")
    ax_bar.set_yticks(np.arange(k), [features[i] for i in order])
    ax_bar.set_xlabel("mean |SHAP|")
    ax_bar.set_title("Global importance")
    for pos, j in enumerate(order):
        x = X_plot[:, j]
        finite = np.isfinite(x)
        lo, hi = (np.nanpercentile(x, 5), np.nanpercentile(x, 95)) if finite.any() else (0, 1)
        colour = np.clip((x - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
        colour = np.where(finite, colour, 0.5)
        jitter = rng.uniform(-0.3, 0.3, size=sv_plot.shape[0])
        ax_sw.scatter(
            sv_plot[:, j], pos + jitter, c=colour, cmap="coolwarm", s=4, alpha=0.6, vmin=0, vmax=1
        )
    ax_sw.axvline(0.0, color="grey", lw=0.8)
    ax_sw.set_xlabel("SHAP value (impact on prediction)")
    ax_sw.set_title("Per-row effects (colour = feature value)")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path
