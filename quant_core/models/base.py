"""The one model protocol every signal model follows, and the frame -> array boundary.

A signal model maps the features known at a date's close to a score whose cross-sectional
ordering predicts the forward return; models see polars frames and convert to numpy here,
at the boundary, so every family validates its inputs the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import polars as pl

__all__ = ["SignalModel", "feature_matrix", "frame_to_xy", "require_columns", "target_vector"]


@runtime_checkable
class SignalModel(Protocol):
    """Protocol of a fold-wise signal model (sklearn-like: ``fit`` returns ``self``).

    ``fit`` learns from a modelling frame (features + ``target``); ``valid`` is an optional,
    later, purged slice used only for early stopping or model choice. ``predict`` returns one
    float64 score per row of ``frame``, in row order. Fitted attributes end in ``_``.
    """

    features: Sequence[str]
    target: str

    def fit(self, train: pl.DataFrame, valid: pl.DataFrame | None = None) -> SignalModel: ...

    def predict(self, frame: pl.DataFrame) -> np.ndarray: ...


def require_columns(frame: pl.DataFrame, columns: Sequence[str], what: str = "frame") -> None:
    """Raise ``ValueError`` naming every column of ``columns`` that ``frame`` lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} is missing columns {missing}; it has {list(frame.columns)[:20]}")


def feature_matrix(
    frame: pl.DataFrame, features: Sequence[str], dtype: type = np.float32
) -> np.ndarray:
    """Return the ``(n_rows, n_features)`` feature matrix; nulls become NaN.

    Parameters
    ----------
    frame : pl.DataFrame
        Modelling frame holding every name in ``features``.
    features : sequence of str
        Column order of the matrix.
    dtype : numpy dtype, default float32
        float32 halves memory for tree models; linear algebra asks for float64.
    """
    features = list(features)
    if not features:
        raise ValueError("features must name at least one column, got []")
    require_columns(frame, features, "frame")
    non_numeric = [c for c in features if not frame.schema[c].is_numeric()]
    if non_numeric:
        raise ValueError(f"feature columns must be numeric, got non-numeric {non_numeric}")
    X = frame.select(pl.col(features).cast(pl.Float64)).to_numpy()
    return np.ascontiguousarray(X, dtype=dtype)


def target_vector(frame: pl.DataFrame, target: str = "target") -> np.ndarray:
    """Return the float64 target; raises ``ValueError`` if it is missing or has null/NaN rows."""
    require_columns(frame, [target], "frame")
    y = frame.get_column(target).cast(pl.Float64).to_numpy().astype(np.float64, copy=False)
    bad = int(np.count_nonzero(~np.isfinite(y)))
    if bad:
        raise ValueError(f"target column {target!r} has {bad} null/NaN/inf rows; drop them first")
    return y


def frame_to_xy(
    frame: pl.DataFrame,
    features: Sequence[str],
    target: str = "target",
    dtype: type = np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(X, y)``: float32 features (NaN for nulls) and a finite float64 target."""
    return feature_matrix(frame, features, dtype=dtype), target_vector(frame, target)
