"""Point-in-time sequence windows per asset, and the training history kept for prediction.

A sequence model scores the row ``(t, a)`` from asset ``a``'s own trailing observations: the
last ``seq_len`` rows of ``a`` dated at or before ``t`` (today's row last). Nothing dated after
``t`` and nothing from another asset enters the window, so a prediction at ``t`` cannot change
when later data change.

Windows are index arrays into a feature matrix, not copies: ``(n_rows, seq_len)`` int64 row
positions, oldest first, ``-1`` where the asset has fewer than ``seq_len`` rows so far. Such
rows are kept, zero-padded at the front with a mask (the networks see an "observed" channel),
so fit and predict treat every row alike and every test row gets a score. Gaps in an asset's
history (a purge gap, a missing day) are skipped, not zero-filled: the window is the asset's
last ``seq_len`` *observations* available to the model.

Prediction on a test fold alone would leave its first ``seq_len - 1`` dates short of history,
because ``train_foldwise`` passes only the test rows. The model therefore keeps the last
``seq_len - 1`` rows per asset of what it was fitted on (:func:`trailing_context`), and
:func:`prepend_context` puts, for each asset, the kept rows dated strictly before that asset's
first row in the frame in front of it: only the past is added.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

__all__ = [
    "date_codes",
    "prepend_context",
    "sequence_windows",
    "standardised_matrix",
    "trailing_context",
]

KEYS = ["date", "asset"]


def _check_unique_keys(frame: pl.DataFrame, what: str) -> None:
    dup = frame.select(KEYS).is_duplicated()
    if dup.any():
        example = frame.filter(dup).select(KEYS).head(3).rows()
        raise ValueError(
            f"{what} has {int(dup.sum())} rows with a repeated (date, asset), e.g. {example}"
        )


def sequence_windows(frame: pl.DataFrame, seq_len: int) -> np.ndarray:
    """Row positions of each row's trailing window within its own asset.

    Parameters
    ----------
    frame : pl.DataFrame
        Rows keyed by ``(date, asset)``, any row order, unique keys.
    seq_len : int
        Window length in observations, today's row included (>= 1).

    Returns
    -------
    np.ndarray
        ``(frame.height, seq_len)`` int64; row ``i``'s window is ``out[i]``, oldest first,
        ``out[i, -1] == i``, and ``-1`` pads the front when the asset has fewer earlier rows.
    """
    if seq_len < 1:
        raise ValueError(f"seq_len must be >= 1, got {seq_len}")
    _check_unique_keys(frame, "frame")
    n = frame.height
    if n == 0:
        return np.empty((0, seq_len), dtype=np.int64)
    asset_code = frame.get_column("asset").rank("dense").to_numpy().astype(np.int64)
    day = frame.get_column("date").rank("dense").to_numpy().astype(np.int64)
    order = np.lexsort((day, asset_code))  # by asset, then date
    sorted_asset = asset_code[order]
    first = np.r_[True, sorted_asset[1:] != sorted_asset[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    cand = np.arange(n)[:, None] + np.arange(-seq_len + 1, 1)[None, :]
    valid = cand >= start[:, None]
    win_sorted = np.where(valid, order[np.clip(cand, 0, None)], -1)
    out = np.empty_like(win_sorted)
    out[order] = win_sorted
    return out


def date_codes(frame: pl.DataFrame) -> np.ndarray:
    """Dense 0-based rank of each row's date: the per-date grouping key of a batch."""
    return frame.get_column("date").rank("dense").to_numpy().astype(np.int64) - 1


def standardised_matrix(
    frame: pl.DataFrame, features: Sequence[str], mean: np.ndarray, scale: np.ndarray
) -> np.ndarray:
    """``(X - mean) / scale`` as float32 with missing values at 0 (the training mean)."""
    X = frame.select(pl.col(list(features)).cast(pl.Float64)).to_numpy()
    Z = (X - mean) / scale
    Z[~np.isfinite(Z)] = 0.0
    return np.ascontiguousarray(Z, dtype=np.float32)


def trailing_context(frame: pl.DataFrame, features: Sequence[str], n_rows: int) -> pl.DataFrame:
    """The last ``n_rows`` rows per asset (``date, asset, features``), for later windows."""
    cols = [pl.col("date"), pl.col("asset"), pl.col(list(features)).cast(pl.Float64)]
    if n_rows < 1:
        return frame.select(cols).clear()
    return (
        frame.select(cols)
        .sort(KEYS[::-1])
        .group_by("asset", maintain_order=True)
        .tail(n_rows)
        .select(["date", "asset", *features])
        .sort(KEYS)
    )


def prepend_context(
    frame: pl.DataFrame,
    context: pl.DataFrame,
    features: Sequence[str],
    n_rows: int,
) -> tuple[pl.DataFrame, int]:
    """Put each asset's past context rows in front of ``frame``.

    For every asset in ``frame``, the rows of ``context`` dated strictly before the asset's
    first date in ``frame`` are kept (at most the last ``n_rows``); other assets' context is
    dropped. Returns ``(combined, n_context)``: ``combined[:n_context]`` is context,
    ``combined[n_context:]`` is ``frame`` (``date, asset, features``) in its own row order.
    """
    cols = [pl.col("date"), pl.col("asset"), pl.col(list(features)).cast(pl.Float64)]
    body = frame.select(cols)
    if n_rows < 1 or context.height == 0:
        return body, 0
    first = body.group_by("asset").agg(pl.col("date").min().alias("_first"))
    kept = (
        context.select(cols)
        .join(first, on="asset", how="inner")
        .filter(pl.col("date") < pl.col("_first"))
        .drop("_first")
        .sort(KEYS[::-1])
        .group_by("asset", maintain_order=True)
        .tail(n_rows)
        .select(body.columns)
        .sort(KEYS)
    )
    return pl.concat([kept.cast(body.schema), body]), kept.height
