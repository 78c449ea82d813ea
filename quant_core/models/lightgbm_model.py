"""Gradient-boosted trees (LightGBM) as a deterministic cross-sectional signal model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl

from quant_core.models.base import feature_matrix, frame_to_xy

__all__ = ["DEFAULT_LGB_PARAMS", "LightGBMConfig", "LightGBMRegressor"]

#: Conservative defaults for noisy return targets: shallow trees, strong leaf minimums,
#: row/column subsampling. User ``params`` override these.
DEFAULT_LGB_PARAMS: dict[str, Any] = {
    "objective": "regression",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "verbosity": -1,
}


class LightGBMRegressor:
    """LightGBM regressor on a feature list, reproducible run to run.

    Parameters
    ----------
    features : sequence of str
        Feature columns, in the order the booster sees them.
    target : str, default "target"
        Forward-return column to regress on.
    params : dict, optional
        LightGBM parameters merged over :data:`DEFAULT_LGB_PARAMS`. ``deterministic``,
        ``force_col_wise``, ``seed`` and ``num_threads`` are always set from this object, so
        the same data and seed give bit-identical trees.
    num_boost_round : int, default 300
        Maximum number of trees.
    early_stopping_rounds : int or None, default 30
        Stop when the ``valid`` loss has not improved for this many rounds; only used when
        ``fit`` gets a ``valid`` frame. ``None`` or 0 disables it.
    seed : int, default 0
        Seed of every LightGBM random stream (bagging, feature fraction).
    num_threads : int, default 2
        Threads LightGBM may use.

    Attributes
    ----------
    booster_ : lightgbm.Booster
    best_iteration_ : int
        Trees used by ``predict`` (the early-stopping optimum, else ``num_boost_round``).
    evals_result_ : dict
        ``{"train": {metric: [...]}, "valid": {...}}`` per boosting round, for tracking.
    feature_names_ : list of str
    feature_importance_ : dict[str, float]
        Total split gain per feature.
    params_ : dict
        The parameters actually passed to LightGBM.
    """

    def __init__(
        self,
        features: Sequence[str],
        target: str = "target",
        params: dict[str, Any] | None = None,
        num_boost_round: int = 300,
        early_stopping_rounds: int | None = 30,
        seed: int = 0,
        num_threads: int = 2,
    ) -> None:
        self.features = list(features)
        self.target = target
        self.params = dict(params) if params else {}
        self.num_boost_round = num_boost_round
        self.early_stopping_rounds = early_stopping_rounds
        self.seed = seed
        self.num_threads = num_threads

    def _resolved_params(self) -> dict[str, Any]:
        params = {**DEFAULT_LGB_PARAMS, **self.params}
        for alias in ("random_state", "random_seed", "n_jobs", "nthread", "num_thread"):
            params.pop(alias, None)
        params.update(
            deterministic=True,
            force_col_wise=True,
            seed=int(self.seed),
            num_threads=int(self.num_threads),
        )
        return params

    def fit(self, train: pl.DataFrame, valid: pl.DataFrame | None = None) -> LightGBMRegressor:
        """Fit on ``train``; with ``valid``, early-stop on its loss (never on ``train``)."""
        if self.num_boost_round < 1:
            raise ValueError(f"num_boost_round must be >= 1, got {self.num_boost_round}")
        if self.early_stopping_rounds is not None and self.early_stopping_rounds < 0:
            raise ValueError(
                f"early_stopping_rounds must be >= 0 or None, got {self.early_stopping_rounds}"
            )
        if train.height == 0:
            raise ValueError("train frame has 0 rows")
        params = self._resolved_params()
        X, y = frame_to_xy(train, self.features, self.target)
        dtrain = lgb.Dataset(X, label=y, feature_name=self.features, free_raw_data=True)
        valid_sets, valid_names = [dtrain], ["train"]
        if valid is not None and valid.height > 0:
            Xv, yv = frame_to_xy(valid, self.features, self.target)
            valid_sets.append(lgb.Dataset(Xv, label=yv, reference=dtrain))
            valid_names.append("valid")
        evals: dict[str, dict[str, list[float]]] = {}
        callbacks = [lgb.record_evaluation(evals)]
        use_es = len(valid_sets) == 2 and bool(self.early_stopping_rounds)
        if use_es:
            callbacks.append(
                lgb.early_stopping(
                    self.early_stopping_rounds, first_metric_only=True, verbose=False
                )
            )
        booster = lgb.train(
            params,
            dtrain,
            num_boost_round=self.num_boost_round,
            valid_sets=valid_sets,
            valid_names=valid_names,
            callbacks=callbacks,
        )
        self.booster_ = booster
        best = booster.best_iteration if use_es else 0
        self.best_iteration_ = int(best) if best and best > 0 else int(booster.current_iteration())
        self.evals_result_ = evals
        self.feature_names_ = list(self.features)
        self.params_ = params
        gains = booster.feature_importance(importance_type="gain", iteration=self.best_iteration_)
        self.feature_importance_ = {f: float(g) for f, g in zip(self.features, gains, strict=True)}
        return self

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        """Score every row of ``frame`` with the first ``best_iteration_`` trees (float64)."""
        if not hasattr(self, "booster_"):
            raise RuntimeError("LightGBMRegressor is not fitted; call fit() first")
        X = feature_matrix(frame, self.feature_names_)
        pred = self.booster_.predict(X, num_iteration=self.best_iteration_)
        return np.asarray(pred, dtype=np.float64)

    def __repr__(self) -> str:
        return (
            f"LightGBMRegressor(n_features={len(self.features)}, target={self.target!r}, "
            f"num_boost_round={self.num_boost_round}, "
            f"early_stopping_rounds={self.early_stopping_rounds}, seed={self.seed})"
        )


def _d(default: Any, description: str) -> Any:
    return field(default=default, metadata={"description": description})


@dataclass(frozen=True)
class LightGBMConfig:
    """Run settings of the LightGBM family: the one source of the pipeline's defaults (the
    orchestration's config class takes its defaults from here).

    The defaults suit noisy daily return targets on a few hundred assets: shallow trees with
    hundreds of rows per leaf. ``LightGBMRegressor``'s own ``params`` default
    (:data:`DEFAULT_LGB_PARAMS`) is the estimator's, for direct use on any data.
    """

    num_boost_round: int = _d(300, "Maximum number of boosting rounds (trees).")
    early_stopping_rounds: int = _d(
        30, "Stop after this many rounds without validation improvement (0 disables)."
    )
    learning_rate: float = _d(0.05, "Shrinkage applied to each tree.")
    num_leaves: int = _d(15, "Maximum leaves per tree; controls interaction depth.")
    min_data_in_leaf: int = _d(500, "Minimum rows per leaf (noisy targets need many).")
    feature_fraction: float = _d(0.8, "Fraction of features sampled per tree.")
    bagging_fraction: float = _d(0.8, "Fraction of rows sampled per tree (bagging_freq=1).")
    lambda_l2: float = _d(1.0, "L2 penalty on leaf values.")
    seed: int = _d(0, "Seed for every LightGBM random stream; fixed seed = identical model.")
    num_threads: int = _d(2, "CPU threads LightGBM may use.")
    inner_valid_days: int = _d(
        63, "Last training dates of each fold held out (after a purge gap) for early stopping.")

    def model_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :class:`LightGBMRegressor` (besides ``features``)."""
        return {
            "params": {
                "learning_rate": self.learning_rate,
                "num_leaves": self.num_leaves,
                "min_data_in_leaf": self.min_data_in_leaf,
                "feature_fraction": self.feature_fraction,
                "bagging_fraction": self.bagging_fraction,
                "bagging_freq": 1,
                "lambda_l2": self.lambda_l2,
            },
            "num_boost_round": self.num_boost_round,
            "early_stopping_rounds": self.early_stopping_rounds,
            "seed": self.seed,
            "num_threads": self.num_threads,
        }
