"""Bid-ask spreads estimated from daily high, low and close prices (no quote data needed).

Corwin & Schultz (2012, Journal of Finance, "A Simple Way to Estimate Bid-Ask Spreads from
Daily High and Low Prices"): the day's high is nearly always a buy at the ask and its low a sell
at the bid, so the high/low range holds both the volatility and the spread. Volatility grows
with the length of the interval while the spread does not, so comparing the sum of two one-day
ranges (``beta``) with the range of the two days together (``gamma``) separates the two.

Abdi & Ranaldo (2017, Review of Financial Studies, "A Simple Estimation of Bid-Ask Spreads
from Daily Close, High, and Low Prices"): the close sits half a spread away from the efficient
price, whose level the mid-range ``(log high + log low) / 2`` approximates, so the covariance of
the close's distance to today's and tomorrow's mid-range is a quarter of the squared spread.

Both estimates are proportional spreads (``0.01`` is 1% of the mid price); the functions return
HALF the spread in basis points, the cost of crossing it once (``CostModel.half_spread_bps``).

Point-in-time: a two-day estimate is known at the close of its second day; the value at row
``d`` averages the two-day estimates of rows ``d - window_days .. d - 1``, so a trade at the
close of ``d`` is charged with what was knowable before that close (as ``market.trailing_mean``).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from quant_core.data.contracts import DataContractError, format_rows
from quant_core.portfolio.market import Grid, MarketData, trailing_mean

__all__ = [
    "abdi_ranaldo_half_spread_bps",
    "corwin_schultz_half_spread_bps",
    "corwin_schultz_two_day_spread",
]

_K = 3.0 - 2.0 * np.sqrt(2.0)  # the paper's 3 - 2 sqrt(2), from E[range^2] of a Brownian motion


def corwin_schultz_two_day_spread(high: np.ndarray, low: np.ndarray, close: np.ndarray,
                                  overnight_adjustment: bool = True) -> np.ndarray:
    """Corwin-Schultz proportional spread of each pair of days ``(d - 1, d)``, stored at row ``d``.

    For the pair of days ``t = d - 1`` and ``t + 1 = d``:

    * overnight adjustment (the paper's section on overnight returns): when day ``t + 1``'s low
      is above day ``t``'s close, the price rose overnight and both of day ``t + 1``'s high and
      low are lowered by ``low - close``; when its high is below the close, both are raised by
      ``close - high``. Without it a gap counts as two-day volatility and lowers the estimate.
    * ``beta = ln(H_t / L_t)^2 + ln(H_{t+1} / L_{t+1})^2``; ``gamma = ln(H_{t,t+1} / L_{t,t+1})^2``
      with the two-day high and low;
    * ``alpha = (sqrt(2 beta) - sqrt(beta)) / (3 - 2 sqrt 2) - sqrt(gamma / (3 - 2 sqrt 2))``
      (eq. 18) and ``S = 2 (e^alpha - 1) / (1 + e^alpha)`` (eq. 14);
    * a negative ``S`` (volatility noise larger than the spread) is set to 0, as in the paper.

    Parameters
    ----------
    high, low, close
        ``(n_dates, n_assets)`` prices (NaN where absent). The day's close is the reference for
        the next day's overnight gap (the paper's rule needs no open price).
    overnight_adjustment
        Apply the overnight-gap adjustment (default, as the paper recommends).

    Returns
    -------
    np.ndarray
        ``(n_dates, n_assets)``: the two-day spread as a fraction of the price, row 0 and rows
        where either day lacks a high or low NaN.

    Raises
    ------
    DataContractError
        Where a present high is below its low, or a high or low is not positive.
    """
    high = np.asarray(high, dtype=np.float64)
    low = np.asarray(low, dtype=np.float64)
    close = np.asarray(close, dtype=np.float64)
    _check_range(high, low)
    out = np.full(high.shape, np.nan)
    if high.shape[0] < 2:
        return out
    h1, l1, c1 = high[:-1], low[:-1], close[:-1]
    h2, l2 = high[1:].copy(), low[1:].copy()
    if overnight_adjustment:
        with np.errstate(invalid="ignore"):
            gap_up = np.where(l2 > c1, l2 - c1, 0.0)  # comparisons with NaN are False: no shift
            h2, l2 = h2 - gap_up, l2 - gap_up
            gap_down = np.where(h2 < c1, c1 - h2, 0.0)
            h2, l2 = h2 + gap_down, l2 + gap_down
    with np.errstate(invalid="ignore", divide="ignore"):
        beta = np.log(h1 / l1) ** 2 + np.log(h2 / l2) ** 2
        gamma = np.log(np.maximum(h1, h2) / np.minimum(l1, l2)) ** 2
        alpha = (np.sqrt(2.0 * beta) - np.sqrt(beta)) / _K - np.sqrt(gamma / _K)
        spread = 2.0 * np.expm1(alpha) / (1.0 + np.exp(alpha))
    out[1:] = np.where(np.isnan(spread), np.nan, np.maximum(spread, 0.0))
    return out


def corwin_schultz_half_spread_bps(market: MarketData, window_days: int = 21,
                                   overnight_adjustment: bool = True) -> np.ndarray:
    """Half the bid-ask spread (bps) from the Corwin-Schultz estimator, averaged over a window.

    The spread a trade at the close of ``d`` pays is estimated from the high/low ranges of the
    ``window_days`` day pairs before it: the mean of :func:`corwin_schultz_two_day_spread` over
    rows ``d - window_days .. d - 1`` (NaN ignored; NaN with fewer than ``window_days // 2``
    valid pairs), halved, in basis points.

    The zero floor on two-day estimates makes the average biased upwards when daily volatility
    is large next to the spread (on simulated data with continuous trading, a 1% spread with 2%
    daily volatility comes out near 1.46%; with 0.5% volatility, within 3%); few trades a day
    bias it down (the observed range misses the true high and low). Read it as a ranking of
    liquidity across assets and through time more than as an exact cost of large-cap stocks.

    Parameters
    ----------
    market
        Prices on a grid (:func:`quant_core.portfolio.market.market_data`); ``high``, ``low``
        and ``close`` are used.
    window_days
        Number of trailing two-day estimates averaged (21: about one month, as in the paper).
    overnight_adjustment
        See :func:`corwin_schultz_two_day_spread`.

    Returns
    -------
    np.ndarray
        ``(n_dates, n_assets)`` half spread in basis points, NaN where high/low are missing.

    Raises
    ------
    DataContractError
        Naming the date and asset where a present high is below its low or not positive.
    """
    _check_range(market.high, market.low, market.grid)
    two_day = corwin_schultz_two_day_spread(market.high, market.low, market.close,
                                            overnight_adjustment=overnight_adjustment)
    return 0.5 * 1e4 * trailing_mean(two_day, window_days)


def abdi_ranaldo_half_spread_bps(market: MarketData, window_days: int = 21) -> np.ndarray:
    """Half the bid-ask spread (bps) from the Abdi-Ranaldo close-high-low estimator.

    With ``c`` the log close and ``eta = (log high + log low) / 2`` the day's log mid-range, the
    spread over a window is ``S = sqrt(max(4 mean[(c_t - eta_t)(c_t - eta_{t+1})], 0))`` (the
    paper's monthly estimator), the mean taken over the pairs of rows ``d - window_days .. d - 1``
    (NaN with fewer than ``window_days // 2`` valid pairs). Taking the mean before the square
    root keeps the noise of single days from biasing the estimate up as a zero floor does.

    Parameters
    ----------
    market
        Prices on a grid; ``high``, ``low`` and ``close`` are used.
    window_days
        Number of trailing two-day products averaged.

    Returns
    -------
    np.ndarray
        ``(n_dates, n_assets)`` half spread in basis points, NaN where high/low are missing.

    Raises
    ------
    DataContractError
        Naming the date and asset where a present high is below its low or not positive.
    """
    _check_range(market.high, market.low, market.grid)
    product = np.full(market.close.shape, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        log_close = np.log(market.close)
        mid_range = 0.5 * (np.log(market.high) + np.log(market.low))
        product[1:] = 4.0 * (log_close[:-1] - mid_range[:-1]) * (log_close[:-1] - mid_range[1:])
    mean = trailing_mean(product, window_days)
    return 0.5 * 1e4 * np.sqrt(np.maximum(mean, 0.0))


def _check_range(high: np.ndarray, low: np.ndarray, grid: Grid | None = None) -> None:
    both = np.isfinite(high) & np.isfinite(low)
    with np.errstate(invalid="ignore"):
        bad = both & ((high < low) | (low <= 0))
    if not bad.any():
        return
    rows, cols = (i[:5] for i in np.nonzero(bad))
    where = ({"date": grid.dates[rows], "asset": grid.assets[cols]} if grid is not None
             else {"row": rows, "column": cols})
    examples = pl.DataFrame({**where, "high": high[rows, cols], "low": low[rows, cols]})
    raise DataContractError("market", "high, low",
                            f"high >= low > 0 where both are present ({int(bad.sum())} cells fail)",
                            format_rows(examples))
