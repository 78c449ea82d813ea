"""SHAP values as polars frames keyed by ``(date, asset)``, computed fold by fold.

An attribution is only honest when the model explains rows it never trained on: each fold
model explains (a sample of) its own test rows, and the rows keep their date, asset, fold and
target so that attributions can be cut by regime, grouped into feature families, correlated
with returns, or compared across folds.

A *SHAP frame* has the key columns present in the explained rows (``date, asset, fold,
target``), then ``base_value`` (the model's expected output), ``prediction`` (base value plus
the sum of the attributions, i.e. the model's raw score) and one column per feature holding
that feature's SHAP value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import polars as pl

__all__ = ["KEY_COLUMNS", "fold_shap", "mean_abs_shap_by_fold", "shap_to_frame"]

KEY_COLUMNS = ("date", "asset", "fold", "target")


def shap_to_frame(
    shap_values: np.ndarray, rows: pl.DataFrame, features: Sequence[str]
) -> pl.DataFrame:
    """Attach SHAP values (n, F + 1; last column the expected value) to their rows' keys."""
    features = list(features)
    sv = np.asarray(shap_values, dtype=np.float64)
    if sv.ndim != 2 or sv.shape != (rows.height, len(features) + 1):
        raise ValueError(
            f"shap_values must have shape ({rows.height}, {len(features) + 1}) "
            f"(rows x features + expected value), got {sv.shape}"
        )
    clash = [f for f in features if f in (*KEY_COLUMNS, "base_value", "prediction")]
    if clash:
        raise ValueError(f"feature names {clash} clash with SHAP frame key columns")
    keys = [c for c in KEY_COLUMNS if c in rows.columns]
    return rows.select(keys).with_columns(
        pl.Series("base_value", sv[:, -1]),
        pl.Series("prediction", sv.sum(axis=1)),
        *[pl.Series(f, sv[:, j]) for j, f in enumerate(features)],
    )


def fold_shap(
    models: Sequence[Any],
    frame: pl.DataFrame,
    splits: Iterable[tuple[np.ndarray, np.ndarray]],
    features: Sequence[str],
    explain: Callable[[Any, pl.DataFrame], np.ndarray] | None = None,
    max_rows_per_fold: int | None = 2000,
    seed: int = 0,
) -> pl.DataFrame:
    """SHAP values of each fold model on (a random sample of) its own test rows.

    Parameters
    ----------
    models : sequence
        Fitted model per fold, in split order (``FoldwiseResult.models``).
    frame : pl.DataFrame
        The modelling frame the split indices refer to.
    splits : iterable of (train_idx, test_idx)
    features : sequence of str
        Feature columns in the model's order.
    explain : callable (model, rows) -> np.ndarray (n, F + 1), optional
        Attribution method; default exact TreeSHAP
        (:func:`~quant_core.explain.tree_shap`). Pass a closure over
        :func:`~quant_core.explain.gradient_shap` for torch models.
    max_rows_per_fold : int or None, default 2000
        Test rows sampled per fold (without replacement, sorted); None explains all.
    seed : int, default 0

    Returns
    -------
    pl.DataFrame
        A SHAP frame (see module docstring) with a ``fold`` column (Int64).
    """
    from quant_core.explain.tree_shap import tree_shap

    if max_rows_per_fold is not None and max_rows_per_fold < 1:
        raise ValueError(f"max_rows_per_fold must be >= 1 or None, got {max_rows_per_fold}")
    explain = explain or (lambda model, rows: tree_shap(model, rows.select(list(features))))
    rng = np.random.default_rng(seed)
    parts = []
    splits = list(splits)
    if len(splits) != len(models):
        raise ValueError(f"got {len(models)} models for {len(splits)} splits")
    for fold, (model, (_, test_idx)) in enumerate(zip(models, splits, strict=True)):
        test_idx = np.asarray(test_idx, dtype=np.int64)
        if max_rows_per_fold is not None and test_idx.size > max_rows_per_fold:
            test_idx = np.sort(rng.choice(test_idx, size=max_rows_per_fold, replace=False))
        rows = frame[test_idx].with_columns(pl.lit(fold, dtype=pl.Int64).alias("fold"))
        parts.append(shap_to_frame(explain(model, rows), rows, features))
    if not parts:
        raise ValueError("splits yielded no folds")
    return pl.concat(parts)


def mean_abs_shap_by_fold(shap_frame: pl.DataFrame, features: Sequence[str]) -> pl.DataFrame:
    """Mean |SHAP| of each feature in each fold, with its rank within the fold (1 = top).

    Returns
    -------
    pl.DataFrame
        ``fold, feature, mean_abs_shap, rank`` sorted by fold then rank; the input of
        :func:`~quant_core.explain.importance_stability` across folds.
    """
    features = list(features)
    missing = [c for c in ["fold", *features] if c not in shap_frame.columns]
    if missing:
        raise ValueError(f"shap_frame is missing columns {missing}")
    wide = shap_frame.group_by("fold").agg([pl.col(f).abs().mean() for f in features]).sort("fold")
    long = wide.unpivot(index="fold", on=features, variable_name="feature", value_name="v")
    return (
        long.rename({"v": "mean_abs_shap"})
        .with_columns(
            pl.col("mean_abs_shap")
            .rank("ordinal", descending=True)
            .over("fold")
            .cast(pl.Int64)
            .alias("rank")
        )
        .sort(["fold", "rank"])
    )
