"""Cross-sectional normalisation of features, one date at a time.

Models that pool many dates need features on a comparable scale every day: a raw 20-day
volatility is larger in a crisis for every stock, but what predicts relative returns is where a
stock stands among its peers *that day*. Each method uses only the values of the same date, so it
learns nothing across time and cannot leak the future:

- ``"rank"``: average rank scaled to [0, 1] (0.5 when a date has one value);
- ``"zscore"``: ``(x - mean_t) / std_t`` (missing when a date has no dispersion);
- ``"robust_zscore"``: ``(x - median_t) / (1.4826 * MAD_t)``, clipped to +/- ``clip`` (3 by
  default, as Qlib's ``RobustZScoreNorm``): outliers cannot dominate the scale.

NaN is treated as missing; missing values stay missing.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from quant_core.targets.cross_section import MAD_TO_SIGMA, cs_rank, cs_zscore

METHODS = ("rank", "zscore", "robust_zscore")


def cs_robust_zscore(column: str, by: str = "date", clip: float | None = 3.0) -> pl.Expr:
    """Per-date robust z-score ``(x - median) / (1.4826 MAD)``; missing when the MAD is 0."""
    if clip is not None and not clip > 0:
        raise ValueError(f"clip must be > 0 or None, got {clip}")
    x = pl.col(column)
    median = x.median().over(by)
    scale = (x - median).abs().median().over(by) * MAD_TO_SIGMA
    z = pl.when(scale > 0).then((x - median) / scale)
    if clip is not None:
        z = z.clip(-clip, clip)
    return z.alias(column)


def normalize_exprs(columns: Sequence[str], method: str = "zscore", *, by: str = "date",
                    clip: float | None = 3.0) -> list[pl.Expr]:
    """One per-date normalising expression per column (see the module docstring)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "rank":
        return [cs_rank(c, by) for c in columns]
    if method == "zscore":
        return [cs_zscore(c, by) for c in columns]
    return [cs_robust_zscore(c, by, clip) for c in columns]


def cross_sectional_normalize(frame: pl.DataFrame | pl.LazyFrame, columns: Sequence[str],
                              method: str = "zscore", *, by: str = "date",
                              clip: float | None = 3.0) -> pl.DataFrame | pl.LazyFrame:
    """Replace ``columns`` of ``frame`` by their per-date normalised values (same row order).

    ``clip`` applies to ``"robust_zscore"`` only. A LazyFrame in gives a LazyFrame out.
    """
    columns = list(columns)
    schema = frame.collect_schema() if isinstance(frame, pl.LazyFrame) else frame.schema
    missing = [c for c in [*columns, by] if c not in schema]
    if missing:
        raise ValueError(f"frame is missing columns {missing}")
    dtypes = {c: schema[c] for c in columns}
    cleaned = frame.with_columns(
        pl.col(c).fill_nan(None) for c in columns if dtypes[c].is_float())
    out = cleaned.with_columns(normalize_exprs(columns, method, by=by, clip=clip))
    # keep each column's float width (a float32 feature stays float32)
    return out.with_columns(
        pl.col(c).cast(dtypes[c] if dtypes[c].is_float() else pl.Float64) for c in columns)
