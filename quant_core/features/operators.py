"""Rolling time-series operators as polars expressions (Qlib's operator vocabulary).

Every operator looks backwards only: the value on a row uses that row and the ``window - 1``
rows before it, so a feature built from them is known at that row's close. Windows must be full:
a window that is not yet full, or that holds a missing input, gives a missing output (Qlib
instead starts with partial windows, ``min_periods=1``; a "60-day" statistic of 3 days is a
different feature, so we leave it missing).

The expressions are written for one asset's rows in date order; :mod:`quant_core.features.engine`
runs them on the frame sorted by ``(asset, date)``, either per asset or, for exact operations,
over the whole column with too-short histories blanked. The regression and arg-max operators
read the within-asset row position from the ``POSITION`` column the engine adds.
"""

from __future__ import annotations

import numpy as np
import polars as pl

#: Within-asset row position (0, 1, 2, ...) added by build_features to the sorted frame.
POSITION = "__qf_position"
#: Qlib treats a rolling std at or below this as zero (correlation and R-squared undefined).
ZERO_STD = 2e-5


def ref(x: pl.Expr, periods: int) -> pl.Expr:
    """The value ``periods`` rows earlier (Qlib ``Ref``)."""
    return x.shift(periods)


def ts_mean(x: pl.Expr, window: int) -> pl.Expr:
    return x.rolling_mean(window, min_samples=window)


def ts_sum(x: pl.Expr, window: int) -> pl.Expr:
    return x.rolling_sum(window, min_samples=window)


def ts_std(x: pl.Expr, window: int) -> pl.Expr:
    """Sample standard deviation (ddof=1), as pandas and Qlib."""
    return x.rolling_std(window, min_samples=window, ddof=1)


def ts_max(x: pl.Expr, window: int) -> pl.Expr:
    return x.rolling_max(window, min_samples=window)


def ts_min(x: pl.Expr, window: int) -> pl.Expr:
    return x.rolling_min(window, min_samples=window)


def ts_quantile(x: pl.Expr, window: int, quantile: float) -> pl.Expr:
    """Linear-interpolated quantile of the window (pandas' default)."""
    return x.rolling_quantile(quantile, "linear", window, min_samples=window)


def rolling_pct_ranks(values: np.ndarray, windows: tuple[int, ...]) -> dict[int, np.ndarray]:
    """Average-rank percentile of each value among its trailing ``w`` values, for every ``w`` in
    ``windows`` at once (NaN where the window is not full or holds a NaN).

    Counts the smaller and equal earlier values lag by lag, with one-byte counters, and reads
    each window's answer off when the lag reaches it: ``max(windows) - 1`` vectorised passes in
    all, several times faster than sorting every window.
    """
    x = np.asarray(values, dtype=np.float64)
    n = x.size
    counter = np.uint8 if max(windows) <= 255 else np.uint32
    less = np.zeros(n, dtype=counter)
    equal = np.zeros(n, dtype=counter)
    nan_count = np.concatenate([[0], np.cumsum(np.isnan(x))])
    out = {}
    for lag in range(max(windows)):
        if lag:
            now, before = x[lag:], x[:-lag]
            less[lag:] += before < now
            equal[lag:] += before == now
        window = lag + 1
        if window in windows:
            # average rank among the window: (# smaller) + (# equal incl. itself + 1) / 2
            rank = np.full(n, np.nan)
            rank[lag:] = (less[lag:] + 0.5 * equal[lag:] + 1.0) / window
            gaps = nan_count[window:] - nan_count[:-window] if n >= window else np.array([])
            rank[lag:][gaps > 0] = np.nan
            out[window] = rank
    return out


def rolling_pct_rank(values: np.ndarray, window: int) -> np.ndarray:
    """:func:`rolling_pct_ranks` for one window."""
    return rolling_pct_ranks(values, (window,))[window]


def ts_ranks(x: pl.Expr, windows: tuple[int, ...]) -> pl.Expr:
    """A struct with field ``w{d}`` = :func:`ts_rank` of ``x`` for each window ``d``, computed in
    one pass."""
    windows = tuple(sorted(set(windows)))

    def ranks(series: pl.Series) -> pl.Series:
        found = rolling_pct_ranks(series.cast(pl.Float64).to_numpy(), windows)
        return pl.DataFrame({f"w{d}": found[d] for d in windows}).fill_nan(None).to_struct()

    dtype = pl.Struct({f"w{d}": pl.Float64 for d in windows})
    return x.map_batches(ranks, return_dtype=dtype)


def ts_rank(x: pl.Expr, window: int) -> pl.Expr:
    """Percentile rank of the latest value within its window, in (0, 1]; ties get the average
    rank (pandas ``rolling(window).rank(pct=True)``, Qlib ``Rank``)."""
    return ts_ranks(x, (window,)).struct.field(f"w{window}")


def slope_from_sums(sum_y: pl.Expr, sum_py: pl.Expr, window: int) -> pl.Expr:
    """Least-squares slope of y on time (x = 0..window-1) from the window's sums of y and of
    ``POSITION * y``: shifting x by the window's start position keeps the sums per asset."""
    start = pl.col(POSITION).cast(pl.Float64) - (window - 1)
    sum_xy = sum_py - start * sum_y
    sum_x = window * (window - 1) / 2.0
    sum_xx = (window - 1) * window * (2 * window - 1) / 6.0
    return (window * sum_xy - sum_x * sum_y) / (window * sum_xx - sum_x**2)


def rsquare_from_slope(slope: pl.Expr, var_y: pl.Expr, window: int) -> pl.Expr:
    """R-squared of the time regression, ``slope^2 var(x) / var(y)``; missing when the window is
    flat (std <= 2e-5, as Qlib)."""
    var_x = window * (window + 1) / 12.0  # sample variance of 0..window-1
    return pl.when(var_y > ZERO_STD**2).then(slope**2 * var_x / var_y)


def resi_from_slope(y: pl.Expr, slope: pl.Expr, sum_y: pl.Expr, window: int) -> pl.Expr:
    """Residual of the latest value from the fitted line (its x is window - 1)."""
    return y - (sum_y / window + slope * (window - 1) / 2.0)


def _regression(y: pl.Expr, window: int) -> tuple[pl.Expr, pl.Expr]:
    sum_y = ts_sum(y, window)
    return slope_from_sums(sum_y, ts_sum(pl.col(POSITION).cast(pl.Float64) * y, window),
                           window), sum_y


def ts_slope(y: pl.Expr, window: int) -> pl.Expr:
    """Slope of a least-squares line through the window against time, per row (Qlib ``Slope``)."""
    return _regression(y, window)[0]


def ts_rsquare(y: pl.Expr, window: int) -> pl.Expr:
    """R-squared of that line (Qlib ``Rsquare``); missing when the window is flat."""
    return rsquare_from_slope(ts_slope(y, window), ts_var(y, window), window)


def ts_resi(y: pl.Expr, window: int) -> pl.Expr:
    """Residual of the latest value from that line (Qlib ``Resi``)."""
    slope, sum_y = _regression(y, window)
    return resi_from_slope(y, slope, sum_y, window)


def ts_var(x: pl.Expr, window: int) -> pl.Expr:
    """Sample variance (ddof=1)."""
    return x.rolling_var(window, min_samples=window, ddof=1)


def ts_cov(a: pl.Expr, b: pl.Expr, window: int) -> pl.Expr:
    """Sample covariance from rolling moments, ``(mean(ab) - mean(a) mean(b)) d / (d - 1)``."""
    return (ts_mean(a * b, window) - ts_mean(a, window) * ts_mean(b, window)) \
        * (window / (window - 1))


def corr_from_moments(cov: pl.Expr, var_a: pl.Expr, var_b: pl.Expr) -> pl.Expr:
    """Pearson correlation; missing when either side is flat (std <= 2e-5, as Qlib's ``Corr``),
    where a correlation means nothing."""
    flat = (var_a <= ZERO_STD**2) | (var_b <= ZERO_STD**2)
    return pl.when(~flat).then(cov / (var_a * var_b).sqrt())


def ts_corr(a: pl.Expr, b: pl.Expr, window: int) -> pl.Expr:
    """Pearson correlation of two series over the window (Qlib ``Corr``)."""
    return corr_from_moments(ts_cov(a, b, window), ts_var(a, window), ts_var(b, window))


# position bits in the packed (rank, position) key of ts_argmax / ts_argmin
_POSITION_BITS = 31


def order_key(x: pl.Expr, largest: bool = True) -> pl.Expr:
    """Pack each value's dense rank (its order among all values, ties equal) with its
    within-asset position so that the larger key is the larger value and, among equal values,
    the older row. A rolling max of the key then finds the window's first extreme exactly: the
    rank only encodes the order of the values, never their magnitude."""
    rank = (x if largest else -x).rank("dense").cast(pl.Int64)
    newest_first = (2**_POSITION_BITS - 1) - pl.col(POSITION).cast(pl.Int64)
    return rank * 2**_POSITION_BITS + newest_first


def position_of_extreme(key: pl.Expr, window: int) -> pl.Expr:
    """1-based position, counted from the window's oldest row, of the largest ``key``."""
    best = key.rolling_max(window, min_samples=window)
    best_position = (2**_POSITION_BITS - 1) - best % 2**_POSITION_BITS
    start = pl.col(POSITION).cast(pl.Int64) - (window - 1)
    return (best_position - start + 1).cast(pl.Float64)


def ts_argmax(x: pl.Expr, window: int) -> pl.Expr:
    """1-based position of the window's maximum counted from its oldest row (Qlib ``IdxMax``:
    ``window`` means the latest row holds the max); ties go to the oldest, as ``argmax``."""
    return position_of_extreme(order_key(x, largest=True), window)


def ts_argmin(x: pl.Expr, window: int) -> pl.Expr:
    """1-based position of the window's minimum, as :func:`ts_argmax`."""
    return position_of_extreme(order_key(x, largest=False), window)
