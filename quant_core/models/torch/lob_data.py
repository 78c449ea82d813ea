"""Order-book snapshots -> DeepLOB inputs: column order, past-only normalisation, context.

DeepLOB reads the last ``T`` snapshots of the ``L`` best levels as a ``T x 4L`` image whose
columns follow the paper's order, level by level: ask price, ask size, bid price, bid size
(:func:`lob_feature_columns`). Its convolutions pair neighbouring columns, so the order is part
of the model.

Normalisation (:func:`normalise_book`) is a rolling z-score that uses **past events only**:
the row at event ``t`` is scaled with the mean and standard deviation of the asset's previous
``window_events`` events (``t - window_events .. t - 1``), pooled over all price columns (and
separately over all size columns). Pooling keeps the geometry of the book (the spread and the
distance between levels stay visible), and the stale-by-one window means a snapshot never
normalises itself. Rows with fewer than ``window_events`` earlier events get zeros (the mean).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

__all__ = [
    "asset_starts",
    "book_mid",
    "lob_feature_columns",
    "normalise_book",
    "prepend_book_context",
    "sort_book",
]

KEYS = ["asset", "timestamp"]


def lob_feature_columns(levels: int = 10) -> list[str]:
    """``ask_px_k, ask_sz_k, bid_px_k, bid_sz_k`` for ``k = 1..levels``: the DeepLOB order."""
    if levels < 1:
        raise ValueError(f"levels must be >= 1, got {levels}")
    return [
        f"{c}_{k}" for k in range(1, levels + 1) for c in ("ask_px", "ask_sz", "bid_px", "bid_sz")
    ]


def book_mid(book: pl.DataFrame, ask_col: str = "ask_px_1", bid_col: str = "bid_px_1") -> pl.Series:
    """Mid-price: the average of the best ask and the best bid."""
    return ((book.get_column(ask_col) + book.get_column(bid_col)) / 2).alias("mid")


def sort_book(book: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray]:
    """Sort by ``(asset, timestamp)``; return it and each sorted row's position in ``book``.

    Raises ``ValueError`` when an asset repeats a timestamp (merged or duplicated captures).
    """
    indexed = book.with_row_index("_row").sort(KEYS, maintain_order=True)
    dup = indexed.select(pl.struct(KEYS).is_duplicated()).to_series()
    if dup.any():
        example = indexed.filter(dup).select(KEYS).head(3).rows()
        raise ValueError(f"book has {int(dup.sum())} rows with a repeated (asset, timestamp), "
                         f"e.g. {example}")  # fmt: skip
    return indexed.drop("_row"), indexed.get_column("_row").to_numpy().astype(np.int64)


def asset_starts(sorted_book: pl.DataFrame) -> np.ndarray:
    """For each row of a book sorted by asset, the position of its asset's first row."""
    asset = sorted_book.get_column("asset")
    first = (asset != asset.shift(1)).fill_null(True).to_numpy()
    return np.maximum.accumulate(np.where(first, np.arange(sorted_book.height), 0)).astype(np.int64)


def normalise_book(
    sorted_book: pl.DataFrame,
    features: Sequence[str],
    window_events: int,
    clip_z: float = 5.0,
) -> np.ndarray:
    """Past-only pooled rolling z-score of the book columns (see the module docstring).

    Parameters
    ----------
    sorted_book : pl.DataFrame
        Snapshots sorted by ``(asset, timestamp)``.
    features : sequence of str
        ``4 * L`` columns in :func:`lob_feature_columns` order (even positions are prices).
    window_events : int
        Earlier events whose statistics scale each row.
    clip_z : float
        Z-scores are clipped to ``[-clip_z, clip_z]`` (sizes are heavy-tailed).

    Returns
    -------
    np.ndarray
        ``(n_rows, 4L)`` float32; rows without ``window_events`` earlier events are 0.
    """
    if window_events < 2:
        raise ValueError(f"window_events must be >= 2, got {window_events}")
    if clip_z <= 0:
        raise ValueError(f"clip_z must be > 0, got {clip_z}")
    features = list(features)
    groups = (features[0::2], features[1::2])  # prices, sizes
    X = sorted_book.select(pl.col(features).cast(pl.Float64)).to_numpy()
    out = np.zeros(X.shape, dtype=np.float64)
    for cols in groups:
        # centre on the asset's first row so the squares do not lose precision
        ref = pl.mean_horizontal(cols).first().over("asset")
        centred = [pl.col(c) - ref for c in cols]
        stats = sorted_book.select(
            "asset",
            ref.alias("ref"),
            pl.mean_horizontal(centred).alias("m1"),
            pl.mean_horizontal([c * c for c in centred]).alias("m2"),
        ).with_columns(
            pl.col(m).rolling_mean(window_events, min_samples=window_events).shift(1).over("asset")
            for m in ("m1", "m2")
        )
        ref_v, m1, m2 = (
            stats.get_column(c).to_numpy().astype(np.float64) for c in ("ref", "m1", "m2")
        )
        std = np.sqrt(np.maximum(m2 - m1 * m1, 0.0))
        idx = [features.index(c) for c in cols]
        with np.errstate(invalid="ignore", divide="ignore"):
            z = (X[:, idx] - (ref_v + m1)[:, None]) / std[:, None]
        out[:, idx] = z
    out[~np.isfinite(out)] = 0.0
    return np.clip(out, -clip_z, clip_z).astype(np.float32)


def prepend_book_context(
    book: pl.DataFrame, context: pl.DataFrame | None, features: Sequence[str]
) -> tuple[pl.DataFrame, int]:
    """Put each asset's earlier context snapshots in front of ``book``.

    Only context rows dated strictly before the asset's first snapshot in ``book`` are kept
    (the past); returns ``(combined, n_context)`` with ``book`` (``timestamp, asset,
    features``) at ``combined[n_context:]`` in its own row order.
    """
    cols = [pl.col("timestamp"), pl.col("asset").cast(pl.String), pl.col(list(features))
            .cast(pl.Float64)]  # fmt: skip
    body = book.select(cols)
    if context is None or context.height == 0:
        return body, 0
    first = body.group_by("asset").agg(pl.col("timestamp").min().alias("_first"))
    kept = (
        context.select(cols)
        .join(first, on="asset", how="inner")
        .filter(pl.col("timestamp") < pl.col("_first"))
        .drop("_first")
    )
    return pl.concat([kept.cast(body.schema), body]), kept.height
