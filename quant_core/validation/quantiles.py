"""Quantile analysis: do the stocks the signal likes most actually earn the most?

Each date the cross-section is cut into equal-count signal buckets (quintiles by default).
A tradable signal shows mean forward returns that rise from the bottom bucket to the top
(monotonicity), a top-minus-bottom spread whose significance survives serial correlation,
and bucket memberships that do not churn so fast that trading costs eat the spread.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats

from quant_core.validation.significance import hac_t_stat, newey_west_lags

__all__ = [
    "QuantileAnalysis",
    "assign_quantiles",
    "quantile_analysis",
    "quantile_returns",
    "quantile_turnover",
    "rank_autocorrelation",
    "rank_autocorrelation_series",
]


def _check(frame: pl.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"frame is missing column(s) {missing}; has {frame.columns}")


def assign_quantiles(
    frame: pl.DataFrame, signal: str, n_quantiles: int = 5, min_assets: int | None = None
) -> pl.DataFrame:
    """Per-date equal-count signal buckets ``1..n_quantiles`` (1 = lowest signal).

    ``quantile = floor((rank - 1) * n_quantiles / n) + 1`` with ``rank`` the average-tie rank
    within the date and ``n`` the date's number of non-null signals, so tied values share a
    bucket. Dates with fewer than ``min_assets`` (default ``n_quantiles``) signals are dropped,
    as are null or NaN signals.

    Returns
    -------
    pl.DataFrame
        ``frame``'s rows with a ``quantile`` (Int32) column.
    """
    if n_quantiles < 2:
        raise ValueError(f"n_quantiles must be >= 2, got {n_quantiles}")
    _check(frame, ["date", signal])
    min_assets = n_quantiles if min_assets is None else int(min_assets)
    x = pl.col(signal).cast(pl.Float64)
    rank = x.rank("average").over("date")
    n = pl.len().over("date")
    return (
        frame.filter(x.is_not_null() & x.is_not_nan())
        .filter(n >= min_assets)
        .with_columns(
            (((rank - 1.0) * n_quantiles / n).floor().cast(pl.Int32) + 1).alias("quantile")
        )
    )


def quantile_returns(
    frame: pl.DataFrame, signal: str, target: str = "target", n_quantiles: int = 5
) -> pl.DataFrame:
    """Mean forward return of each signal bucket on each date.

    Returns
    -------
    pl.DataFrame
        ``date, quantile, mean_return, n`` sorted by ``(date, quantile)``; rows with a null or
        NaN target are ignored.
    """
    _check(frame, ["date", signal, target])
    y = pl.col(target).cast(pl.Float64)
    usable = frame.filter(y.is_not_null() & y.is_not_nan())
    return (
        assign_quantiles(usable, signal, n_quantiles)
        .group_by("date", "quantile")
        .agg(y.mean().alias("mean_return"), pl.len().cast(pl.Int64).alias("n"))
        .sort("date", "quantile")
    )


def quantile_turnover(
    frame: pl.DataFrame, signal: str, quantile: int, n_quantiles: int = 5, asset: str = "asset"
) -> pl.DataFrame:
    """Share of a bucket's names that were not in that bucket on the previous date.

    ``turnover_t = |S_t minus S_{t-1}| / |S_t|`` with ``S_t`` the assets in bucket
    ``quantile`` on date t (the first date with the bucket has none), as alphalens'
    ``quantile_turnover``. A top-quintile turnover of 0.4 a day means rebuilding 40% of the
    long book daily.

    Returns
    -------
    pl.DataFrame
        ``date, turnover`` from the second date the bucket is populated.
    """
    if not 1 <= quantile <= n_quantiles:
        raise ValueError(f"quantile must be in [1, {n_quantiles}], got {quantile}")
    _check(frame, ["date", asset, signal])
    q = assign_quantiles(frame, signal, n_quantiles).filter(pl.col("quantile") == quantile)
    dates = q.select(pl.col("date").unique().sort()).with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("_i")
    )
    members = q.select("date", asset).join(dates, on="date")
    previous = members.select(asset, (pl.col("_i") + 1).alias("_i"), pl.lit(True).alias("_was"))
    return (
        members.join(previous, on=[asset, "_i"], how="left")
        .group_by("date", "_i")
        .agg((1.0 - pl.col("_was").is_not_null().mean()).alias("turnover"))
        .filter(pl.col("_i") > 0)
        .sort("date")
        .select("date", "turnover")
    )


def rank_autocorrelation(
    frame: pl.DataFrame, signal: str, lags: Sequence[int] = (1,), asset: str = "asset"
) -> pl.DataFrame:
    """Correlation of each asset's signal rank with its rank ``lag`` dates earlier.

    Ranks are taken within each date over all its assets; on each date the correlation runs
    over the assets present on both dates (as alphalens' ``factor_rank_autocorrelation``).
    Near 1 means a slow signal, cheap to trade; near 0 means the book turns over daily.

    Returns
    -------
    pl.DataFrame
        ``lag, mean_autocorrelation, n_dates`` and, for the per-date values, see
        :func:`rank_autocorrelation_series`.
    """
    rows = []
    for lag in lags:
        s = rank_autocorrelation_series(frame, signal, lag, asset)
        rows.append(
            {
                "lag": int(lag),
                "mean_autocorrelation": float(s["autocorrelation"].mean())
                if s.height
                else math.nan,
                "n_dates": s.height,
            }
        )
    schema = {"lag": pl.Int64, "mean_autocorrelation": pl.Float64, "n_dates": pl.Int64}
    return pl.DataFrame(rows, schema=schema)


def rank_autocorrelation_series(
    frame: pl.DataFrame, signal: str, lag: int = 1, asset: str = "asset"
) -> pl.DataFrame:
    """Per-date rank autocorrelation at ``lag`` dates (see :func:`rank_autocorrelation`).

    Returns
    -------
    pl.DataFrame
        ``date, autocorrelation`` for dates with at least two common assets and
        non-constant ranks.
    """
    if lag < 1:
        raise ValueError(f"lag must be >= 1, got {lag}")
    _check(frame, ["date", asset, signal])
    x = pl.col(signal).cast(pl.Float64)
    ranked = frame.filter(x.is_not_null() & x.is_not_nan()).select(
        "date", asset, x.rank("average").over("date").cast(pl.Float64).alias("_r")
    )
    dates = ranked.select(pl.col("date").unique().sort()).with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("_i")
    )
    ranked = ranked.join(dates, on="date")
    earlier = ranked.select(asset, (pl.col("_i") + lag).alias("_i"), pl.col("_r").alias("_r0"))
    return (
        ranked.join(earlier, on=[asset, "_i"], how="inner")
        .group_by("date")
        .agg(pl.corr("_r", "_r0").alias("autocorrelation"), pl.len().alias("_n"))
        .filter((pl.col("_n") >= 2) & pl.col("autocorrelation").is_finite())
        .sort("date")
        .select("date", "autocorrelation")
    )


@dataclass(frozen=True)
class QuantileAnalysis:
    """Bucket returns, the top-minus-bottom spread and its significance, monotonicity, turnover.

    Attributes
    ----------
    by_quantile
        ``quantile, mean_return, std_return, n_dates, mean_assets``: the time average of each
        bucket's per-date mean forward return.
    spread
        ``date, spread``: top bucket minus bottom bucket mean return, per date.
    spread_mean, spread_t_hac, spread_p_hac, hac_lags
        Mean spread and its Newey-West t-stat / fixed-b p-value (as the IC's).
    monotonicity
        Spearman correlation of bucket number with bucket mean return: +1 when returns rise
        with every step of the signal, -1 when they fall with every step.
    turnover_top, turnover_bottom
        Mean daily turnover of the top and bottom buckets (see :func:`quantile_turnover`).
    rank_autocorrelation
        ``lag, mean_autocorrelation, n_dates`` (see :func:`rank_autocorrelation`).
    n_quantiles
        Number of buckets.
    """

    by_quantile: pl.DataFrame
    spread: pl.DataFrame
    spread_mean: float
    spread_t_hac: float
    spread_p_hac: float
    hac_lags: int
    monotonicity: float
    turnover_top: float
    turnover_bottom: float
    rank_autocorrelation: pl.DataFrame
    n_quantiles: int

    def to_dict(self) -> dict:
        return {
            "n_quantiles": self.n_quantiles,
            "by_quantile": self.by_quantile.to_dicts(),
            "spread_mean": self.spread_mean,
            "spread_t_hac": self.spread_t_hac,
            "spread_p_hac": self.spread_p_hac,
            "hac_lags": self.hac_lags,
            "monotonicity": self.monotonicity,
            "turnover_top": self.turnover_top,
            "turnover_bottom": self.turnover_bottom,
            "rank_autocorrelation": self.rank_autocorrelation.to_dicts(),
        }


def quantile_analysis(
    frame: pl.DataFrame,
    signal: str,
    target: str = "target",
    n_quantiles: int = 5,
    horizon_days: int = 1,
    hac_lags: int | None = None,
    autocorrelation_lags: Sequence[int] = (1, 5, 21),
    asset: str = "asset",
) -> QuantileAnalysis:
    """The full quantile view of one signal against its forward returns.

    ``horizon_days`` is the target's horizon: with overlapping h-day returns the daily spread
    series is autocorrelated just as the IC is, so the spread's t-stat uses the same HAC lags.
    """
    per_date = quantile_returns(frame, signal, target, n_quantiles)
    by_q = (
        per_date.group_by("quantile")
        .agg(
            pl.col("mean_return").mean().alias("mean_return"),
            pl.col("mean_return").std().alias("std_return"),
            pl.len().cast(pl.Int64).alias("n_dates"),
            pl.col("n").mean().alias("mean_assets"),
        )
        .sort("quantile")
    )
    wide = per_date.filter(pl.col("quantile").is_in([1, n_quantiles])).pivot(
        on="quantile", index="date", values="mean_return"
    )
    top, bottom = str(n_quantiles), "1"
    if top in wide.columns and bottom in wide.columns:
        spread = (
            wide.select("date", (pl.col(top) - pl.col(bottom)).alias("spread"))
            .drop_nulls()
            .sort("date")
        )
    else:
        spread = pl.DataFrame(schema={"date": frame.schema["date"], "spread": pl.Float64})
    s = spread["spread"].to_numpy()
    lags = newey_west_lags(s.size, horizon_days) if hac_lags is None else int(hac_lags)
    t_hac, p_hac = hac_t_stat(s, lags)
    if by_q.height >= 3 and by_q["mean_return"].n_unique() > 1:
        mono = float(stats.spearmanr(by_q["quantile"], by_q["mean_return"])[0])
    else:
        mono = math.nan

    def mean_turnover(q: int) -> float:
        t = quantile_turnover(frame, signal, q, n_quantiles, asset)
        return float(t["turnover"].mean()) if t.height else math.nan

    return QuantileAnalysis(
        by_quantile=by_q,
        spread=spread,
        spread_mean=float(np.mean(s)) if s.size else math.nan,
        spread_t_hac=t_hac,
        spread_p_hac=p_hac,
        hac_lags=lags,
        monotonicity=mono,
        turnover_top=mean_turnover(n_quantiles),
        turnover_bottom=mean_turnover(1),
        rank_autocorrelation=rank_autocorrelation(frame, signal, autocorrelation_lags, asset),
        n_quantiles=n_quantiles,
    )
