"""Closed-form ridge regression on train-standardised features: the linear baseline signal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from quant_core.models.base import feature_matrix, frame_to_xy

__all__ = ["RidgeConfig", "RidgeRegressor"]


class RidgeRegressor:
    """Ridge regression with an unpenalised intercept on standardised features.

    Features are standardised with the mean and standard deviation of the *training* rows
    only (a test fold's statistics would leak its future), then missing values are set to 0,
    i.e. to the training mean. The coefficients solve
    ``(Xc'Xc + alpha I) coef = Xc'yc`` with ``Xc``, ``yc`` centred, exactly what
    ``sklearn.linear_model.Ridge(alpha, fit_intercept=True)`` computes on the standardised data.

    Parameters
    ----------
    features : sequence of str
    target : str, default "target"
    alpha : float, default 1.0
        L2 penalty, in units of the standardised features (>= 0).

    Attributes
    ----------
    mean_, scale_ : np.ndarray
        Training mean and population std (ddof=0) per feature; a constant feature gets scale 1.
    coef_ : np.ndarray
        Coefficients on the standardised features.
    intercept_ : float
    feature_names_ : list of str
    """

    def __init__(self, features: Sequence[str], target: str = "target", alpha: float = 1.0):
        self.features = list(features)
        self.target = target
        self.alpha = alpha

    def _standardise(self, X: np.ndarray) -> np.ndarray:
        Z = (X - self.mean_) / self.scale_
        Z[~np.isfinite(Z)] = 0.0
        return Z

    def fit(self, train: pl.DataFrame, valid: pl.DataFrame | None = None) -> RidgeRegressor:
        """Fit on ``train``; ``valid`` is accepted for the protocol and ignored."""
        if not self.alpha >= 0:
            raise ValueError(f"alpha must be >= 0, got {self.alpha}")
        if train.height == 0:
            raise ValueError("train frame has 0 rows")
        X, y = frame_to_xy(train, self.features, self.target, dtype=np.float64)
        with np.errstate(all="ignore"):
            mean = np.nanmean(X, axis=0)
            scale = np.nanstd(X, axis=0)
        mean = np.where(np.isfinite(mean), mean, 0.0)
        scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
        self.mean_, self.scale_ = mean, scale
        Z = self._standardise(X)
        z_bar, y_bar = Z.mean(axis=0), float(y.mean())
        Zc, yc = Z - z_bar, y - y_bar
        gram = Zc.T @ Zc + self.alpha * np.eye(Z.shape[1])
        coef = (
            np.linalg.lstsq(gram, Zc.T @ yc, rcond=None)[0]
            if self.alpha == 0
            else (np.linalg.solve(gram, Zc.T @ yc))
        )
        self.coef_ = coef
        self.intercept_ = float(y_bar - z_bar @ coef)
        self.feature_names_ = list(self.features)
        return self

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        """Score rows with the training standardisation (float64)."""
        if not hasattr(self, "coef_"):
            raise RuntimeError("RidgeRegressor is not fitted; call fit() first")
        Z = self._standardise(feature_matrix(frame, self.feature_names_, dtype=np.float64))
        return Z @ self.coef_ + self.intercept_

    def __repr__(self) -> str:
        return f"RidgeRegressor(n_features={len(self.features)}, alpha={self.alpha})"


@dataclass(frozen=True)
class RidgeConfig:
    """Run settings of the ridge family."""

    alpha: float = field(
        default=10.0, metadata={"description": "L2 penalty on standardised coefficients."}
    )

    def model_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :class:`RidgeRegressor` (besides ``features``)."""
        return {"alpha": self.alpha}
