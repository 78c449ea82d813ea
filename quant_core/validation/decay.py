"""How fast does a signal's predictive power fade? IC at increasing horizons and its half-life.

A signal whose Rank IC against the return h days ahead halves every 3 days must be traded
quickly; one with a 60-day half-life can be rebalanced monthly at lower cost.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from quant_core.validation.ic import ic_series
from quant_core.validation.significance import ic_summary

__all__ = ["HalfLifeFit", "fit_half_life", "forward_return_columns", "ic_decay"]

_LN2 = math.log(2.0)


def forward_return_columns(
    prices: pl.DataFrame,
    horizons: Sequence[int],
    lag_days: int = 1,
    price_col: str = "close",
    cumulative: bool = False,
) -> pl.DataFrame:
    """Forward returns at several horizons on the panel's own date calendar.

    For a row dated t and entry date ``e = t + lag_days`` (in panel dates): with
    ``cumulative=False`` column ``fwd_{h}`` is the single-day return of the h-th day held,
    ``close[e + h] / close[e + h - 1] - 1`` (so ``h=1`` is the usual next-day target); with
    ``cumulative=True`` it is ``close[e + h] / close[e] - 1``. Missing prices give nulls.

    Returns
    -------
    pl.DataFrame
        ``date, asset, fwd_{h}...`` for every row of ``prices``.
    """
    if lag_days < 0:
        raise ValueError(f"lag_days must be >= 0, got {lag_days}")
    bad = [h for h in horizons if int(h) < 1]
    if bad:
        raise ValueError(f"horizons must be >= 1, got {list(horizons)}")
    cal = prices.select(pl.col("date").unique().sort()).with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("_i")
    )
    px = prices.select("date", "asset", pl.col(price_col).cast(pl.Float64).alias("_p")).join(
        cal, on="date", how="left"
    )
    lookup = px.select("asset", "_i", "_p")

    def price_at(offset: int, name: str) -> pl.DataFrame:
        # Row j's price, re-keyed to j - offset: joined onto row i it is the price at i + offset.
        return lookup.with_columns(pl.col("_i") - offset).rename({"_p": name})

    out = px
    offsets = {lag_days}
    for h in horizons:
        offsets.add(lag_days + int(h))
        offsets.add(lag_days + int(h) - 1)
    for off in sorted(offsets):
        out = out.join(price_at(off, f"_p{off}"), on=["asset", "_i"], how="left")
    cols = []
    for h in horizons:
        end = pl.col(f"_p{lag_days + int(h)}")
        start = pl.col(f"_p{lag_days}") if cumulative else pl.col(f"_p{lag_days + int(h) - 1}")
        cols.append((end / start - 1.0).alias(f"fwd_{int(h)}"))
    return out.select("date", "asset", *cols)


def ic_decay(
    frame: pl.DataFrame,
    signal: str,
    *,
    prices: pl.DataFrame | None = None,
    targets: Mapping[int, str] | None = None,
    horizons: Sequence[int] = (1, 2, 3, 5, 10, 20),
    lag_days: int = 1,
    price_col: str = "close",
    cumulative: bool = False,
    method: str = "spearman",
    group: str | None = None,
    min_assets: int = 5,
) -> pl.DataFrame:
    """IC of ``signal`` against the return ``h`` days ahead, for each horizon ``h``.

    Give either ``prices`` (a panel with ``date, asset, close``; forward returns are built by
    :func:`forward_return_columns`) or ``targets``, a mapping ``{horizon: column in frame}`` of
    precomputed targets (e.g. ``forward_returns(panel, horizon_days=h)``).

    The HAC lag count follows the overlap of the targets: ``horizon_days = 1`` for single-day
    lagged returns (``cumulative=False``), ``horizon_days = h`` for cumulative returns and
    for precomputed ``targets`` (assumed to be h-day windows).

    Returns
    -------
    pl.DataFrame
        ``horizon, ic_mean, ic_std, icir, t_hac, p_hac, n_dates``, one row per horizon.
    """
    if (prices is None) == (targets is None):
        raise ValueError("give exactly one of prices= or targets=")
    if targets is not None:
        spec = {int(h): col for h, col in targets.items()}
        work = frame
        overlap = {h: h for h in spec}
    else:
        fwd = forward_return_columns(prices, list(horizons), lag_days, price_col, cumulative)
        keep = ["date", "asset", signal] + ([group] if group is not None else [])
        work = frame.select(keep).join(fwd, on=["date", "asset"], how="inner")
        spec = {int(h): f"fwd_{int(h)}" for h in horizons}
        overlap = {h: (h if cumulative else 1) for h in spec}
    rows = []
    for h in sorted(spec):
        ic = ic_series(work, signal, spec[h], method=method, group=group, min_assets=min_assets)
        s = ic_summary(ic, horizon_days=overlap[h], n_boot=0)
        rows.append(
            {
                "horizon": h,
                "ic_mean": s.mean,
                "ic_std": s.std,
                "icir": s.icir,
                "t_hac": s.t_hac,
                "p_hac": s.p_hac,
                "n_dates": s.n,
            }
        )
    schema = {
        "horizon": pl.Int64,
        "ic_mean": pl.Float64,
        "ic_std": pl.Float64,
        "icir": pl.Float64,
        "t_hac": pl.Float64,
        "p_hac": pl.Float64,
        "n_dates": pl.Int64,
    }
    return pl.DataFrame(rows, schema=schema)


@dataclass(frozen=True)
class HalfLifeFit:
    """``ic(h) = amplitude * exp(-ln 2 * h / half_life)`` fitted by nonlinear least squares.

    ``half_life`` is in the units of ``horizons`` (days). It is ``inf`` when the fitted decay
    rate is <= 0, or so small that the curve shrinks by < 1e-8 over the horizons given (the
    IC does not decay), and ``nan``
    when there are fewer than two finite points, all ICs are zero, or the fit fails.
    """

    half_life: float
    amplitude: float
    r_squared: float

    def to_dict(self) -> dict:
        return {
            "half_life": self.half_life,
            "amplitude": self.amplitude,
            "r_squared": self.r_squared,
        }


def fit_half_life(horizons: Sequence[float], ics: Sequence[float]) -> HalfLifeFit:
    """Half-life of the IC decay curve via ``scipy.optimize.curve_fit``.

    The model is fitted as ``a * exp(-k * h)`` with ``k`` unconstrained, then
    ``half_life = ln 2 / k``. A negative amplitude (an inverted signal) is fitted the same way.
    """
    from scipy.optimize import OptimizeWarning, curve_fit

    h = np.asarray(horizons, dtype=np.float64)
    y = np.asarray(ics, dtype=np.float64)
    if h.shape != y.shape:
        raise ValueError(f"horizons and ics differ in length: {h.size} vs {y.size}")
    ok = np.isfinite(h) & np.isfinite(y)
    h, y = h[ok], y[ok]
    nan = math.nan
    if h.size < 2 or not np.any(y != 0):
        return HalfLifeFit(nan, nan, nan)
    # Start from a log-linear fit when the ICs share a sign, else from a flat curve.
    same_sign = np.all(y > 0) or np.all(y < 0)
    if same_sign and np.ptp(h) > 0:
        slope, intercept = np.polyfit(h, np.log(np.abs(y)), 1)
        p0 = (math.copysign(math.exp(intercept), y[0]), -slope)
    else:
        p0 = (float(y[np.argmin(h)]), 0.0)

    def model(x, a, k):
        return a * np.exp(-k * x)

    try:
        with warnings.catch_warnings():  # flat curves leave the covariance undefined
            warnings.simplefilter("ignore", OptimizeWarning)
            (a, k), _ = curve_fit(model, h, y, p0=p0, maxfev=10_000)
    except (RuntimeError, ValueError):
        return HalfLifeFit(nan, nan, nan)
    resid = y - model(h, a, k)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(resid @ resid) / ss_tot if ss_tot > 0 else nan
    if not (np.isfinite(a) and np.isfinite(k)):
        return HalfLifeFit(nan, nan, nan)
    # Rounding leaves k ~ 1e-16 on a flat curve: call it "not decaying" when the fitted curve
    # shrinks by less than 1e-8 (relative) across the horizons given.
    half_life = _LN2 / k if k * float(np.max(np.abs(h))) > 1e-8 else math.inf
    return HalfLifeFit(float(half_life), float(a), float(r2))
