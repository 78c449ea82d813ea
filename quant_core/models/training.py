"""Fold-wise training: one fresh model per (train, test) split and out-of-fold predictions.

Out-of-fold (OOF) predictions are the only honest input to validation and ensembling: every
prediction comes from a model that never saw that row, nor (with purged splits) any row whose
label window overlaps it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from quant_core.models.base import require_columns

__all__ = ["FoldwiseResult", "inner_validation_split", "train_foldwise"]


@dataclass
class FoldwiseResult:
    """Models and out-of-fold predictions of :func:`train_foldwise`.

    Attributes
    ----------
    models : list
        The fitted model of each fold, in split order.
    oof : pl.DataFrame
        ``date, asset, fold (Int64), prediction, target`` sorted by ``(date, asset, fold)``;
        a row tested by several folds (combinatorial CV) appears once per fold.
    folds : pl.DataFrame
        ``fold, train_start, train_end, test_start, test_end, n_train, n_test, n_valid,
        n_purged, valid_start, valid_end``; ``n_train`` counts the rows the model was fitted
        on (after the inner validation slice and its purge gap were carved out).
    """

    models: list[Any]
    oof: pl.DataFrame
    folds: pl.DataFrame
    extra: dict[str, Any] = field(default_factory=dict)


def inner_validation_split(
    dates: np.ndarray, train_idx: np.ndarray, inner_valid_days: int, purge_days: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split a fold's training rows into ``(fit_idx, purged_idx, valid_idx)`` by date.

    The last ``inner_valid_days`` unique training dates form the validation slice (used for
    early stopping); the ``purge_days`` unique dates before it are dropped so that no fitting
    row's label window reaches into the validation slice. The test fold is never touched.
    """
    if inner_valid_days < 0:
        raise ValueError(f"inner_valid_days must be >= 0, got {inner_valid_days}")
    if purge_days < 0:
        raise ValueError(f"purge_days must be >= 0, got {purge_days}")
    train_idx = np.asarray(train_idx, dtype=np.int64)
    empty = np.empty(0, dtype=np.int64)
    if inner_valid_days == 0:
        return train_idx, empty, empty
    train_dates = dates[train_idx]
    unique = np.unique(train_dates)
    if unique.size <= inner_valid_days + purge_days:
        raise ValueError(
            f"fold has {unique.size} unique train dates; need more than "
            f"inner_valid_days + purge_days = {inner_valid_days + purge_days}"
        )
    valid_start = unique[-inner_valid_days]
    purge_start = unique[-(inner_valid_days + purge_days)]
    valid_mask = train_dates >= valid_start
    fit_mask = train_dates < purge_start
    purged_mask = ~valid_mask & ~fit_mask
    return train_idx[fit_mask], train_idx[purged_mask], train_idx[valid_mask]


def _span(dates: pl.Series, idx: np.ndarray) -> tuple[Any, Any]:
    if idx.size == 0:
        return None, None
    picked = dates.gather(idx)
    return picked.min(), picked.max()


def train_foldwise(
    frame: pl.DataFrame,
    splits: Iterable[tuple[np.ndarray, np.ndarray]],
    make_model: Callable[[], Any],
    *,
    inner_valid_days: int = 0,
    purge_days: int = 0,
    target: str = "target",
) -> FoldwiseResult:
    """Fit a fresh model per split and predict its test rows.

    Parameters
    ----------
    frame : pl.DataFrame
        Modelling frame (``date``, ``asset``, features, ``target``) in the row order the split
        indices refer to.
    splits : iterable of (train_idx, test_idx)
        Integer row positions, e.g. ``WalkForward(...).split(dates, label_end)``.
    make_model : callable
        Returns a new unfitted :class:`~quant_core.models.base.SignalModel` on each call.
    inner_valid_days : int, default 0
        If > 0, the last ``inner_valid_days`` unique train dates become ``valid`` (early
        stopping) instead of fitting rows.
    purge_days : int, default 0
        Unique train dates dropped between the fitting rows and the validation slice; set it
        to at least the label horizon + lag so labels do not overlap.
    target : str, default "target"

    Returns
    -------
    FoldwiseResult
    """
    require_columns(frame, ["date", "asset", target], "frame")
    if purge_days and not inner_valid_days:
        raise ValueError(f"purge_days={purge_days} needs inner_valid_days > 0, got 0")
    date_col = frame.get_column("date")
    dates = date_col.to_numpy()
    n = frame.height
    models: list[Any] = []
    oof_parts: list[pl.DataFrame] = []
    rows: list[dict[str, Any]] = []
    for fold, (train_idx, test_idx) in enumerate(splits):
        train_idx = np.asarray(train_idx, dtype=np.int64)
        test_idx = np.asarray(test_idx, dtype=np.int64)
        for name, idx in (("train", train_idx), ("test", test_idx)):
            if idx.size == 0:
                raise ValueError(f"fold {fold} has an empty {name} index")
            if idx.min() < 0 or idx.max() >= n:
                raise ValueError(f"fold {fold} {name} index out of range [0, {n})")
        overlap = np.intersect1d(train_idx, test_idx)
        if overlap.size:
            raise ValueError(
                f"fold {fold}: {overlap.size} rows are in both train and test, e.g. {overlap[:5]}"
            )
        fit_idx, purged_idx, valid_idx = inner_validation_split(
            dates, train_idx, inner_valid_days, purge_days
        )
        model = make_model()
        valid = frame[valid_idx] if valid_idx.size else None
        model.fit(frame[fit_idx], valid)
        test = frame[test_idx]
        pred = np.asarray(model.predict(test), dtype=np.float64)
        if pred.shape != (test.height,):
            raise ValueError(
                f"fold {fold}: model returned predictions of shape {pred.shape}, "
                f"expected ({test.height},)"
            )
        models.append(model)
        oof_parts.append(
            test.select(
                "date",
                "asset",
                pl.lit(fold, dtype=pl.Int64).alias("fold"),
                pl.Series("prediction", pred, dtype=pl.Float64),
                pl.col(target).cast(pl.Float64).alias("target"),
            )
        )
        fit_start, fit_end = _span(date_col, fit_idx)
        test_start, test_end = _span(date_col, test_idx)
        valid_start, valid_end = _span(date_col, valid_idx)
        rows.append(
            {
                "fold": fold,
                "train_start": fit_start,
                "train_end": fit_end,
                "test_start": test_start,
                "test_end": test_end,
                "n_train": int(fit_idx.size),
                "n_test": int(test_idx.size),
                "n_valid": int(valid_idx.size),
                "n_purged": int(purged_idx.size),
                "valid_start": valid_start,
                "valid_end": valid_end,
            }
        )
    if not models:
        raise ValueError("splits yielded no folds")
    date_dtype = frame.schema["date"]
    folds = pl.DataFrame(
        rows,
        schema={
            "fold": pl.Int64,
            "train_start": date_dtype,
            "train_end": date_dtype,
            "test_start": date_dtype,
            "test_end": date_dtype,
            "n_train": pl.Int64,
            "n_test": pl.Int64,
            "n_valid": pl.Int64,
            "n_purged": pl.Int64,
            "valid_start": date_dtype,
            "valid_end": date_dtype,
        },
    )
    oof = pl.concat(oof_parts).sort(["date", "asset", "fold"])
    return FoldwiseResult(models=models, oof=oof, folds=folds)
