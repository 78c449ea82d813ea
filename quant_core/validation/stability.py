"""Does the edge hold everywhere, or only in one year, one regime or one sector?

A mean IC of 0.03 earned evenly across years, regimes and sectors is a different signal from
one earned in a single quarter of 2020 or only among utilities. These tables split the
per-date IC series (from :func:`~quant_core.validation.ic.ic_series`) by time, market regime
and sector, each with its own HAC t-stat.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from quant_core.validation.ic import ic_series
from quant_core.validation.significance import ic_summary

__all__ = [
    "ic_by_group",
    "ic_by_period",
    "ic_by_regime",
    "positive_share",
    "rolling_ic",
]

_SUMMARY_SCHEMA = {
    "n_dates": pl.Int64,
    "mean": pl.Float64,
    "std": pl.Float64,
    "icir": pl.Float64,
    "hit_rate": pl.Float64,
    "t_hac": pl.Float64,
    "p_hac": pl.Float64,
}
_PERIODS = {"year": "%Y", "month": "%Y-%m", "quarter": None}


def _ic_frame(ic: pl.DataFrame) -> pl.DataFrame:
    if not isinstance(ic, pl.DataFrame) or not {"date", "ic"} <= set(ic.columns):
        got = ic.columns if isinstance(ic, pl.DataFrame) else type(ic).__name__
        raise ValueError(f"ic must be a frame with columns date, ic (from ic_series), got {got}")
    return ic.filter(pl.col("ic").is_finite()).sort("date")


def _summary_row(values: np.ndarray, horizon_days: int) -> dict:
    s = ic_summary(values, horizon_days=horizon_days, n_boot=0)
    return {
        "n_dates": s.n,
        "mean": s.mean,
        "std": s.std,
        "icir": s.icir,
        "hit_rate": s.hit_rate,
        "t_hac": s.t_hac,
        "p_hac": s.p_hac,
    }


def _summarise_by(frame: pl.DataFrame, key: str, key_dtype, horizon_days: int) -> pl.DataFrame:
    """One summary row per value of ``key`` (in first-seen order of the date-sorted frame)."""
    rows = []
    for (k,), part in frame.group_by(key, maintain_order=True):
        rows.append(
            {
                key: k,
                "start": part["date"].min(),
                "end": part["date"].max(),
                **_summary_row(part["ic"].to_numpy(), horizon_days),
            }
        )
    schema = {key: key_dtype, "start": pl.Date, "end": pl.Date, **_SUMMARY_SCHEMA}
    return pl.DataFrame(rows, schema=schema)


def rolling_ic(ic: pl.DataFrame, window_days: int = 63, min_periods: int | None = None) -> pl.DataFrame:
    """Rolling mean, standard deviation, ICIR and hit rate of the IC over ``window_days`` dates.

    A quarter-long window (63 trading dates) shows whether the edge is steady or comes in
    bursts; a rolling mean that spends long stretches below zero is a signal that stopped
    working for a while.

    Returns
    -------
    pl.DataFrame
        ``date, ic, rolling_mean, rolling_std, rolling_icir, rolling_hit_rate``; the first
        ``min_periods - 1`` rows (default ``window_days // 2``) are null.
    """
    if window_days < 2:
        raise ValueError(f"window_days must be >= 2, got {window_days}")
    min_periods = max(2, window_days // 2) if min_periods is None else int(min_periods)
    if not 1 <= min_periods <= window_days:
        raise ValueError(f"min_periods must be in [1, window_days], got {min_periods}")
    frame = _ic_frame(ic)
    kw = {"window_size": window_days, "min_samples": min_periods}
    return frame.select(
        "date",
        "ic",
        pl.col("ic").rolling_mean(**kw).alias("rolling_mean"),
        pl.col("ic").rolling_std(**kw).alias("rolling_std"),
        (pl.col("ic").rolling_mean(**kw) / pl.col("ic").rolling_std(**kw)).alias("rolling_icir"),
        (pl.col("ic") > 0).cast(pl.Float64).rolling_mean(**kw).alias("rolling_hit_rate"),
    )


def ic_by_period(ic: pl.DataFrame, period: str = "year", horizon_days: int = 1) -> pl.DataFrame:
    """IC summary per calendar year, quarter or month.

    Returns
    -------
    pl.DataFrame
        ``period`` (``"2021"``, ``"2021-Q3"`` or ``"2021-07"``), ``start, end, n_dates, mean,
        std, icir, hit_rate, t_hac, p_hac`` in date order. The HAC lags follow
        ``horizon_days`` and the number of dates in each period.
    """
    if period not in _PERIODS:
        raise ValueError(f"period must be one of {tuple(_PERIODS)}, got {period!r}")
    frame = _ic_frame(ic)
    if period == "quarter":
        label = pl.format("{}-Q{}", pl.col("date").dt.year(), pl.col("date").dt.quarter())
    else:
        label = pl.col("date").dt.strftime(_PERIODS[period])
    frame = frame.with_columns(label.alias("period"))
    return _summarise_by(frame, "period", pl.String, horizon_days)


def ic_by_regime(
    ic: pl.DataFrame,
    regimes: pl.DataFrame,
    regime_col: str = "regime",
    horizon_days: int = 1,
) -> pl.DataFrame:
    """IC summary per market regime (e.g. calm vs stressed, bull vs bear).

    Parameters
    ----------
    ic
        ``date, ic`` per date.
    regimes
        ``date, <regime_col>``: the regime label of each date. The IC of date t is labelled
        with the regime of date t; to label it with the regime of its return window, shift
        the regime frame's dates first. Dates without a label are dropped.

    Returns
    -------
    pl.DataFrame
        ``regime, start, end, n_dates, share, mean, std, icir, hit_rate, t_hac, p_hac``, one
        row per regime sorted by name. A regime's dates are not contiguous, so its HAC t-stat
        treats them as one series (a slight approximation at regime switches).
    """
    for col in ("date", regime_col):
        if col not in regimes.columns:
            raise ValueError(f"regimes is missing column {col!r}; has {regimes.columns}")
    if regimes["date"].is_duplicated().any():
        raise ValueError("regimes must hold one row per date; found duplicated dates")
    frame = _ic_frame(ic).join(
        regimes.select("date", pl.col(regime_col).cast(pl.String).alias("regime")),
        on="date",
        how="inner",
    ).filter(pl.col("regime").is_not_null())
    out = _summarise_by(frame.sort("regime", "date"), "regime", pl.String, horizon_days)
    total = max(frame.height, 1)
    return out.with_columns((pl.col("n_dates") / total).alias("share")).select(
        "regime", "start", "end", "n_dates", "share", *list(_SUMMARY_SCHEMA)[1:]
    )


def ic_by_group(
    frame: pl.DataFrame,
    signal: str,
    target: str = "target",
    group: str = "sector",
    method: str = "spearman",
    horizon_days: int = 1,
    min_assets: int = 5,
) -> pl.DataFrame:
    """IC computed within each group (e.g. sector) separately, then summarised over dates.

    A signal that ranks stocks well within technology but randomly within energy shows it
    here; the within-group IC ignores the group's own average return, so it measures
    stock selection inside the group.

    Returns
    -------
    pl.DataFrame
        ``group, start, end, n_dates, mean_assets, mean, std, icir, hit_rate, t_hac, p_hac``
        sorted by group; groups with no date of ``min_assets`` usable rows are omitted.
    """
    if group not in frame.columns:
        raise ValueError(f"frame is missing column {group!r}; has {frame.columns}")
    rows = []
    for (g,), part in frame.filter(pl.col(group).is_not_null()).group_by(group):
        ic = ic_series(part, signal, target, method=method, min_assets=min_assets)
        if ic.height == 0:
            continue
        rows.append(
            {
                "group": str(g),
                "start": ic["date"].min(),
                "end": ic["date"].max(),
                "mean_assets": float(ic["n"].mean()),
                **_summary_row(ic["ic"].to_numpy(), horizon_days),
            }
        )
    schema = {
        "group": pl.String,
        "start": pl.Date,
        "end": pl.Date,
        "mean_assets": pl.Float64,
        **_SUMMARY_SCHEMA,
    }
    out = pl.DataFrame(rows, schema=schema).sort("group")
    return out.select("group", "start", "end", "n_dates", "mean_assets", *list(_SUMMARY_SCHEMA)[1:])


def positive_share(ic: pl.DataFrame) -> dict:
    """Share of days, calendar months and calendar years whose (mean) IC is above zero.

    A signal positive in 9 of 10 years but only 52% of days is typical of a weak but real
    daily edge; positive in 55% of days and 50% of years suggests luck.

    Returns
    -------
    dict
        ``days, months, years`` (shares in [0, 1], NaN when empty) and ``n_days, n_months,
        n_years``.
    """
    frame = _ic_frame(ic)
    out = {}
    for name, label in (("days", None), ("months", "%Y-%m"), ("years", "%Y")):
        if label is None:
            means = frame["ic"]
        else:
            means = (
                frame.group_by(pl.col("date").dt.strftime(label).alias("p"))
                .agg(pl.col("ic").mean())
                .get_column("ic")
            )
        out[name] = float((means > 0).mean()) if means.len() else math.nan
        out[f"n_{name}"] = int(means.len())
    return out
