"""Per-date cross-sectional expressions: rank, z-score and clipping within each date.

These learn nothing from other dates, so they are safe to apply to any rows (train or test):
a value on date t depends only on the other assets' values on date t. Targets and the feature
preprocessing layer both build on these expressions, so the definitions live in one place.
"""

from __future__ import annotations

import polars as pl

# Consistency constant making the median absolute deviation estimate a normal's sigma.
MAD_TO_SIGMA = 1.4826


def cs_rank(column: str, by: str = "date", centered: bool = False) -> pl.Expr:
    """Per-date average rank scaled to [0, 1] (or [-0.5, 0.5] when ``centered``).

    A date with one non-null value maps to the middle (0.5, or 0 centred); nulls stay null.
    """
    x = pl.col(column)
    rank = x.rank("average").over(by)
    n = x.count().over(by)
    scaled = pl.when(n > 1).then((rank - 1.0) / (n - 1.0)).otherwise(0.5)
    scaled = pl.when(x.is_null()).then(None).otherwise(scaled)
    return (scaled - 0.5 if centered else scaled).alias(column)


def cs_zscore(column: str, by: str = "date", ddof: int = 1) -> pl.Expr:
    """Per-date z-score ``(x - mean_t) / std_t``; null where a date has fewer than 2 values or
    no dispersion (a z-score of a constant cross-section is undefined, not zero)."""
    x = pl.col(column)
    std = x.std(ddof=ddof).over(by)
    z = (x - x.mean().over(by)) / std
    return pl.when((std > 0) & std.is_finite()).then(z).otherwise(None).alias(column)


def cs_quantile_clip(column: str, lower_q: float, upper_q: float, by: str = "date") -> pl.Expr:
    """Clip each value to its own date's ``[lower_q, upper_q]`` quantiles (linear interpolation)."""
    _check_quantiles(lower_q, upper_q)
    x = pl.col(column)
    lo = x.quantile(lower_q, interpolation="linear").over(by)
    hi = x.quantile(upper_q, interpolation="linear").over(by)
    return x.clip(lo, hi).alias(column)


def cs_mad_clip(column: str, mad_k: float = 5.0, by: str = "date") -> pl.Expr:
    """Clip each value to ``median_t +/- mad_k * 1.4826 * MAD_t`` on its own date.

    The 1.4826 factor makes the MAD a consistent sigma estimate for normal data, so ``mad_k``
    reads as "robust standard deviations".
    """
    if not mad_k > 0:
        raise ValueError(f"mad_k must be > 0, got {mad_k}")
    x = pl.col(column)
    med = x.median().over(by)
    mad = (x - med).abs().median().over(by) * MAD_TO_SIGMA
    return x.clip(med - mad_k * mad, med + mad_k * mad).alias(column)


def _check_quantiles(lower_q: float, upper_q: float) -> None:
    if not 0.0 <= lower_q < upper_q <= 1.0:
        raise ValueError(
            f"winsor quantiles must satisfy 0 <= lower < upper <= 1, got ({lower_q}, {upper_q})"
        )
