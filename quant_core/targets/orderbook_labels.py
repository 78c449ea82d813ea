"""Order-book direction labels (DeepLOB / FI-2010 style) from a mid-price series.

A raw next-tick move is mostly noise (bid-ask bounce), so DeepLOB smooths both sides: it compares
the mean of the next ``k`` mids with the mean of the past ``k`` mids (current included) and calls
the move up or down only when the relative change exceeds a threshold ``alpha``. Labels:
``2`` = up (``l > alpha``), ``0`` = down (``l < -alpha``), ``1`` = stationary.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import polars as pl

Smoothing = Literal["deeplob", "future_mean", "none"]
UP, STATIONARY, DOWN = 2, 1, 0


def _window_means(mid: np.ndarray, k: int) -> np.ndarray:
    """Mean of ``mid[i : i + k]`` for every full window (length ``n - k + 1``)."""
    return np.convolve(mid, np.ones(k), mode="valid") / k


def lob_changes(mid: np.ndarray, k: int, smoothing: Smoothing = "deeplob") -> np.ndarray:
    """Relative change ``l_t`` for one horizon; NaN where the window is incomplete.

    - ``"deeplob"``: ``m_plus = mean(p[t+1 .. t+k])``, ``m_minus = mean(p[t-k+1 .. t])``,
      ``l = (m_plus - m_minus) / m_minus``; undefined for the first ``k - 1`` and last ``k`` rows.
    - ``"future_mean"`` (FI-2010): ``l = (m_plus - p_t) / p_t``; undefined for the last ``k``.
    - ``"none"``: ``l = (p_{t+k} - p_t) / p_t``; undefined for the last ``k``.
    """
    if smoothing not in ("deeplob", "future_mean", "none"):
        raise ValueError(f"smoothing must be 'deeplob', 'future_mean' or 'none', got {smoothing!r}")
    n = mid.size
    out = np.full(n, np.nan)
    if n <= k:
        return out
    means = _window_means(mid, k)  # means[i] = mean(mid[i : i + k])
    idx = np.arange(n - k)  # rows with k future events
    if smoothing == "deeplob":
        idx = idx[idx >= k - 1]
        m_minus = means[idx - k + 1]
        m_plus = means[idx + 1]
        out[idx] = (m_plus - m_minus) / m_minus
    elif smoothing == "future_mean":
        out[idx] = (means[idx + 1] - mid[idx]) / mid[idx]
    else:
        out[idx] = (mid[idx + k] - mid[idx]) / mid[idx]
    return out


def lob_labels(
    mid: np.ndarray | pl.Series | Sequence[float],
    horizon_events: int | Sequence[int] = 10,
    threshold: float | Mapping[int, float] = 0.002,
    smoothing: Smoothing = "deeplob",
    drop: bool = False,
) -> pl.DataFrame:
    """Three-class direction labels for one or several event horizons ``k``.

    Parameters
    ----------
    mid
        Mid prices in event order (positive, finite, 1-D).
    horizon_events
        ``k`` (events, not seconds); a list gives one label column per ``k``.
    threshold
        ``alpha`` (a relative change, >= 0), one for all horizons or a ``{k: alpha}`` mapping.
    smoothing
        ``"deeplob"`` (default), ``"future_mean"`` or ``"none"``; see :func:`lob_changes`.
    drop
        Drop rows where any label is undefined instead of leaving them null.

    Returns
    -------
    pl.DataFrame
        ``event`` (row position in ``mid``) and, per ``k``, ``change_{k}`` (Float64, ``l_t``) and
        ``label_{k}`` (Int8: 0 down, 1 stationary, 2 up). Rows whose windows are incomplete
        (the last ``k`` rows; with ``"deeplob"`` also the first ``k - 1``) are null, never
        guessed.
    """
    values = np.asarray(mid.to_numpy() if isinstance(mid, pl.Series) else mid, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"mid must be one-dimensional, got shape {values.shape}")
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        bad = np.flatnonzero(~np.isfinite(values) | (values <= 0))[:5]
        raise ValueError(f"mid must be positive and finite; bad values at rows {bad.tolist()}")
    ks = list(horizon_events) if isinstance(horizon_events, (list, tuple)) else [horizon_events]
    if not ks:
        raise ValueError(f"horizon_events must name at least one horizon, got {horizon_events!r}")
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"horizon_events must be integers >= 1, got {k!r}")
    if len(set(ks)) != len(ks):
        raise ValueError(f"horizon_events must not repeat, got {horizon_events!r}")

    columns: dict[str, pl.Series] = {
        "event": pl.Series("event", np.arange(values.size, dtype=np.int64))
    }
    for k in ks:
        alpha = threshold[k] if isinstance(threshold, Mapping) else threshold
        if not (np.isfinite(alpha) and alpha >= 0):
            raise ValueError(f"threshold must be a finite number >= 0, got {alpha!r} for k={k}")
        change = lob_changes(values, int(k), smoothing)
        label = np.where(change > alpha, UP, np.where(change < -alpha, DOWN, STATIONARY))
        valid = ~np.isnan(change)
        columns[f"change_{k}"] = pl.Series(f"change_{k}", change, nan_to_null=True)
        columns[f"label_{k}"] = pl.Series(
            f"label_{k}", np.where(valid, label, 0), dtype=pl.Int8
        ).scatter(np.flatnonzero(~valid), None)
    frame = pl.DataFrame(columns)
    if drop:
        frame = frame.drop_nulls()
    return frame
