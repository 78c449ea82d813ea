"""Dense (dates x assets) market data for the backtest, and its point-in-time estimates.

A long panel keyed by ``(date, asset)`` becomes numpy matrices on one :class:`Grid` (sorted
unique dates as rows, sorted assets as columns, NaN where a pair is absent), so every later step
is vectorised over assets and loops, at most, over dates.

Point-in-time convention: an estimate stored at row ``d`` (volatility, average dollar volume,
beta) uses data up to and including the close of ``d - 1`` only. A trade executed at the close of
``d`` is charged with what was knowable before that close.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from quant_core.data.contracts import DataContractError, example_rows

__all__ = ["Grid", "MarketData", "market_data", "trailing_beta", "trailing_mean", "trailing_std"]


@dataclass(frozen=True)
class Grid:
    """Row and column labels of the dense matrices: ``dates`` (``datetime64[D]``) and ``assets``."""

    dates: np.ndarray
    assets: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.dates.size, self.assets.size

    @classmethod
    def of(cls, frame: pl.DataFrame) -> Grid:
        dates = np.unique(frame["date"].unique().to_numpy().astype("datetime64[D]"))
        assets = np.sort(frame["asset"].cast(pl.String).unique().to_numpy().astype(str))
        return cls(dates=dates, assets=assets)

    def positions(self, frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row indices, column indices and a mask of the frame's rows that fall on the grid."""
        dates = frame["date"].to_numpy().astype("datetime64[D]")
        rows = np.searchsorted(self.dates, dates)
        ok = rows < self.dates.size
        ok[ok] &= self.dates[rows[ok]] == dates[ok]
        # assets through a join on a small lookup table: a string searchsorted over every row is slow
        lookup = pl.DataFrame({"asset": self.assets, "_col": np.arange(self.assets.size, dtype=np.int64)})
        cols = frame.select(pl.col("asset").cast(pl.String)).join(lookup, on="asset", how="left",
                                                                   maintain_order="left")["_col"]
        ok &= cols.is_not_null().to_numpy()
        return rows, cols.fill_null(0).to_numpy(), ok

    def matrix(self, frame: pl.DataFrame, column: str, fill: float = np.nan) -> np.ndarray:
        """``frame[column]`` laid out on the grid (``fill`` where a pair is absent)."""
        rows, cols, ok = self.positions(frame)
        out = np.full(self.shape, fill, dtype=np.float64)
        values = frame[column].cast(pl.Float64).fill_null(np.nan).to_numpy()
        out[rows[ok], cols[ok]] = values[ok]
        return out

    def long(self, **matrices: np.ndarray) -> pl.DataFrame:
        """``date, asset, <name>...`` for every cell (rows where every matrix is NaN are dropped)."""
        n_dates, n_assets = self.shape
        frame = pl.DataFrame({
            "date": np.repeat(self.dates, n_assets),
            "asset": np.tile(self.assets, n_dates),
            **{name: np.asarray(m, dtype=np.float64).ravel() for name, m in matrices.items()},
        })
        if matrices:
            frame = frame.filter(~pl.all_horizontal([pl.col(n).is_nan() for n in matrices]))
        return frame.with_columns(pl.col("date").cast(pl.Date))


def trailing_mean(x: np.ndarray, window: int, min_periods: int | None = None) -> np.ndarray:
    """Mean of rows ``d - window .. d - 1`` (NaN ignored) at row ``d``: known before the close of d."""
    return _trailing(x, window, min_periods, squared=False)[0]


def trailing_std(x: np.ndarray, window: int, min_periods: int | None = None) -> np.ndarray:
    """Sample standard deviation of rows ``d - window .. d - 1`` at row ``d`` (NaN ignored)."""
    mean, sq, count = _trailing(x, window, min_periods, squared=True)
    var = (sq - count * mean**2) / np.maximum(count - 1, 1)
    return np.sqrt(np.maximum(var, 0.0))


def _trailing(x: np.ndarray, window: int, min_periods: int | None, squared: bool):
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    min_periods = max(2 if squared else 1, window // 2 if min_periods is None else min_periods)
    valid = np.isfinite(x)
    filled = np.where(valid, x, 0.0)
    zeros = np.zeros((1, x.shape[1]))

    def rolling(a: np.ndarray) -> np.ndarray:
        c = np.vstack([zeros, np.cumsum(a, axis=0)])  # c[d] = sum of rows < d
        lower = np.maximum(np.arange(x.shape[0]) - window, 0)
        return c[np.arange(x.shape[0])] - c[lower]

    count = rolling(valid.astype(np.float64))
    enough = count >= min_periods
    mean = np.where(enough, rolling(filled) / np.maximum(count, 1), np.nan)
    sum_sq = np.where(enough, rolling(filled**2), np.nan) if squared else None  # a sum, for the variance
    return mean, sum_sq, count


def trailing_beta(returns: np.ndarray, market: np.ndarray, window: int, min_periods: int | None = None) -> np.ndarray:
    """OLS beta of each asset on ``market`` over rows ``d - window .. d - 1`` at row ``d``."""
    m = np.broadcast_to(market[:, None], returns.shape)
    both = np.isfinite(returns) & np.isfinite(m)
    r = np.where(both, returns, np.nan)
    mm = np.where(both, m, np.nan)
    mean_r, mean_m = trailing_mean(r, window, min_periods), trailing_mean(mm, window, min_periods)
    mean_rm = trailing_mean(r * mm, window, min_periods)
    mean_mm = trailing_mean(mm * mm, window, min_periods)
    var = mean_mm - mean_m**2
    with np.errstate(invalid="ignore", divide="ignore"):
        beta = (mean_rm - mean_r * mean_m) / var
    return np.where(var > 1e-14, beta, np.nan)


@dataclass(frozen=True)
class MarketData:
    """Prices on a grid. ``returns[d]`` is the close-to-close return of day ``d`` (NaN on the first
    day of an asset); ``high``, ``low``, ``volume`` are NaN matrices when the panel lacks them."""

    grid: Grid
    close: np.ndarray
    returns: np.ndarray
    high: np.ndarray
    low: np.ndarray
    volume: np.ndarray
    sector: np.ndarray  # (n_assets,) object array of sector names ("" when unknown)

    @property
    def has_volume(self) -> bool:
        return bool(np.isfinite(self.volume).any())

    def dollar_volume(self) -> np.ndarray:
        return self.close * self.volume

    def market_return(self) -> np.ndarray:
        """Equal-weighted mean return of the assets trading each day."""
        valid = np.isfinite(self.returns)
        count = valid.sum(axis=1)
        total = np.where(valid, self.returns, 0.0).sum(axis=1)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def market_data(prices: pl.DataFrame, source: str = "prices") -> MarketData:
    """Check and lay out ``date, asset, close[, high, low, volume, sector]`` on a grid.

    Raises ``DataContractError`` naming ``source``, the column and example rows when a key is
    duplicated or a close is missing, non-finite or not positive.
    """
    for column in ("date", "asset", "close"):
        if column not in prices.columns:
            raise DataContractError(source, column, f"column '{column}' is present (found {prices.columns[:12]})")
    if prices.schema["date"] != pl.Date:
        prices = prices.with_columns(pl.col("date").cast(pl.Date, strict=False))
    bad = pl.col("close").is_null() | ~pl.col("close").cast(pl.Float64).is_finite() | (pl.col("close") <= 0)
    if prices.select(bad.any()).item():
        raise DataContractError(source, "close", "values are finite and > 0",
                                example_rows(prices, bad, ["date", "asset", "close"]))
    for column in ("date", "asset"):
        if prices[column].null_count():
            raise DataContractError(source, column, "has no missing values",
                                    example_rows(prices, pl.col(column).is_null(), ["date", "asset", "close"]))
    grid = Grid.of(prices)
    rows, cols, _ = grid.positions(prices)  # every row is on the grid it was built from
    flat = rows * grid.assets.size + cols
    counts = np.bincount(flat, minlength=grid.shape[0] * grid.shape[1])
    if (counts > 1).any():  # one pass of integer counting instead of a hash of every (date, asset)
        dup = pl.Series(counts[flat] > 1)
        raise DataContractError(source, "date, asset", "each (date, asset) appears once",
                                example_rows(prices.with_columns(dup.alias("_dup")), pl.col("_dup"),
                                             ["date", "asset", "close"]))

    def laid_out(column: str) -> np.ndarray:
        out = np.full(grid.shape, np.nan)
        out.ravel()[flat] = prices[column].cast(pl.Float64).fill_null(np.nan).to_numpy()
        return out

    close = laid_out("close")
    prev = np.vstack([np.full((1, close.shape[1]), np.nan), close[:-1]])
    with np.errstate(invalid="ignore", divide="ignore"):
        returns = close / prev - 1.0
    optional = {c: laid_out(c) if c in prices.columns else np.full(grid.shape, np.nan)
                for c in ("high", "low", "volume")}
    sector = np.full(grid.assets.size, "", dtype=object)
    if "sector" in prices.columns:
        last = prices.select(["asset", "sector"]).drop_nulls().unique("asset", keep="last")
        cols = np.searchsorted(grid.assets, last["asset"].cast(pl.String).to_numpy().astype(str))
        sector[cols] = last["sector"].cast(pl.String).to_numpy()
    return MarketData(grid=grid, close=close, returns=returns, sector=sector, **optional)
