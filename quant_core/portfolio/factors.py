"""Point-in-time factor models for PnL attribution: loadings per asset and day, factor returns.

A factor model says how much of an asset's daily return is common: ``r[d, i] = sum_k
loading_k[d, i] * f_k[d] + specific[d, i]``. The loading used for day ``d`` must be known before
the close of ``d`` (estimated from data up to ``d - 1``), otherwise the attribution credits a
factor with PnL that hindsight put there.

Two ways to get one:

* :func:`estimate_factor_model` estimates factor returns from the panel itself, one
  cross-sectional regression per day (the way commercial risk models, e.g. Barra, do it), on a
  market beta, sector dummies and standardised styles (size, momentum, volatility);
* :func:`factor_model_from_returns` takes factor returns the user has (e.g. Fama-French daily,
  read with :func:`read_french_daily`) and estimates each asset's loadings as trailing
  time-series betas.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from quant_core.data.contracts import DataContractError, format_rows
from quant_core.portfolio.market import MarketData, trailing_beta, trailing_mean, trailing_std

__all__ = [
    "GROUPS",
    "RESERVED_COLUMNS",
    "FactorModel",
    "estimate_factor_model",
    "factor_model_from_returns",
    "read_french_daily",
]

GROUPS = ("market", "sector", "style")
RESERVED_COLUMNS = ("date", "total", *GROUPS, "specific")
_MARKET_NAMES = {"mktrf", "mkt", "market", "marketrf", "mktexcess", "marketexcess"}
_MISSING = (-99.99, -999.0)  # Kenneth French's missing-value codes


@dataclass(frozen=True)
class FactorModel:
    """Factor loadings and factor returns on one ``(n_dates, n_assets)`` grid.

    Attributes
    ----------
    names : tuple of str
        Factor names, in the column order of ``factor_returns``.
    groups : dict of str to str
        Factor -> ``"market"``, ``"sector"`` or ``"style"``: how attribution sums factors.
    loadings : dict of str to np.ndarray
        Factor -> ``(n_dates, n_assets)`` loading of each asset used for day ``d``, known before
        the close of ``d``. NaN = unknown (attribution then books that asset's PnL as specific).
    factor_returns : np.ndarray
        ``(n_dates, n_factors)`` return of each factor on day ``d`` (NaN = unknown, counted as 0).
    """

    names: tuple[str, ...]
    groups: dict[str, str]
    loadings: dict[str, np.ndarray]
    factor_returns: np.ndarray

    def __post_init__(self) -> None:
        names = tuple(self.names)
        if len(set(names)) != len(names):
            raise ValueError(f"factor names must be unique, got {names}")
        clash = [n for n in names if n in RESERVED_COLUMNS]
        if clash:
            raise ValueError(f"factor names {clash} clash with attribution columns {RESERVED_COLUMNS}")
        if set(self.groups) != set(names) or set(self.loadings) != set(names):
            raise ValueError(f"groups and loadings must have exactly the factors {names}, got "
                             f"groups {sorted(self.groups)} and loadings {sorted(self.loadings)}")
        bad = {n: g for n, g in self.groups.items() if g not in GROUPS}
        if bad:
            raise ValueError(f"factor groups must be one of {GROUPS}, got {bad}")
        f = np.asarray(self.factor_returns)
        if f.ndim != 2 or f.shape[1] != len(names):
            raise ValueError(f"factor_returns must be (n_dates, {len(names)}), got shape {f.shape}")
        shapes = {n: np.shape(x) for n, x in self.loadings.items()}
        if len(set(shapes.values())) > 1 or any(len(v) != 2 or v[0] != f.shape[0] for v in shapes.values()):
            raise ValueError(f"every loading must be one (n_dates={f.shape[0]}, n_assets) shape, got {shapes}")
        object.__setattr__(self, "names", names)

    @functools.cached_property
    def filled_loadings(self) -> dict[str, np.ndarray]:
        """The loadings with NaN as 0 (how attribution reads them), computed once per model: the
        capacity grid attributes the same model at every AUM."""
        return {n: np.where(np.isfinite(x), x, 0.0) for n, x in self.loadings.items()}

    @property
    def shape(self) -> tuple[int, int] | None:
        """``(n_dates, n_assets)`` of the loadings (None for a model without factors)."""
        return np.shape(self.loadings[self.names[0]]) if self.names else None


def _zscore(x: np.ndarray) -> np.ndarray:
    """Cross-sectional z-score per date over the finite values (NaN stays NaN, and a date with
    fewer than two values or no dispersion is all NaN)."""
    ok = np.isfinite(x)
    n = ok.sum(axis=1, keepdims=True)
    filled = np.where(ok, x, 0.0)
    mean = filled.sum(axis=1, keepdims=True) / np.maximum(n, 1)
    var = (np.where(ok, (x - mean) ** 2, 0.0)).sum(axis=1, keepdims=True) / np.maximum(n - 1, 1)
    sd = np.sqrt(var)
    good = (n >= 2) & (sd > 1e-12)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok & good, (x - mean) / np.where(good, sd, 1.0), np.nan)


def _momentum(close: np.ndarray, lookback_days: int, skip_days: int) -> np.ndarray:
    """``close[d - skip] / close[d - lookback] - 1`` at row ``d``: the return from ``lookback``
    days ago to ``skip`` days ago (the last ``skip`` days, short-term reversal, left out)."""
    out = np.full(close.shape, np.nan)
    if close.shape[0] > lookback_days:
        with np.errstate(invalid="ignore", divide="ignore"):
            out[lookback_days:] = close[lookback_days - skip_days:-skip_days] / close[:-lookback_days] - 1.0
    return out


def estimate_factor_model(
    market: MarketData,
    *,
    beta_window_days: int = 252,
    momentum_days: tuple[int, int] = (252, 21),
    vol_window_days: int = 60,
    size_window_days: int = 20,
) -> FactorModel:
    """Factor returns estimated from the panel: one cross-sectional OLS per day.

    Each day ``d``, the assets' returns are regressed on loadings known at the close of
    ``d - 1``; the slopes are that day's factor returns (a fundamental-style risk model). Factors:

    * ``beta`` (group market): trailing beta on the equal-weighted market return over
      ``beta_window_days`` (half of them needed);
    * ``sector_<name>`` (group sector): 0/1 dummies from ``market.sector``; they replace the
      intercept, and assets with sector ``""`` get no dummy. The market factor's return is then
      identified from beta differences within sectors: with noisy betas, part of a net-long
      book's market move shows up as sector PnL (a dollar-neutral book is not affected);
    * ``size``, ``momentum``, ``volatility`` (group style), each z-scored across assets per day:
      size is the log of the trailing average dollar volume over ``size_window_days`` (the panel
      has no shares outstanding, so liquidity stands in for market cap; absent without volume
      data); momentum is the return from ``momentum_days[0]`` to ``momentum_days[1]`` days ago
      (skipping the last month); volatility is the trailing std of daily returns over
      ``vol_window_days``.

    A day's regression uses the factors with at least one known loading that day and the assets
    with a return and all those loadings; factors not in it, and every factor on a day with
    fewer than ``k + 2`` such assets, get a NaN return (attribution then books that PnL as
    specific). Early days therefore have fewer factors (beta needs ``beta_window_days // 2``
    days of history, momentum ``momentum_days[0]``).

    Returns
    -------
    FactorModel
        Loadings for every day (NaN where unknown) and the daily factor returns.
    """
    lookback, skip = momentum_days
    if not lookback > skip >= 1:
        raise ValueError(f"momentum_days must be (lookback, skip) with lookback > skip >= 1, got {momentum_days}")
    for name, v in (("beta_window_days", beta_window_days), ("vol_window_days", vol_window_days),
                    ("size_window_days", size_window_days)):
        if v < 2:
            raise ValueError(f"{name} must be >= 2, got {v}")
    r = market.returns
    n_dates, n_assets = r.shape
    loadings: dict[str, np.ndarray] = {"beta": trailing_beta(r, market.market_return(), beta_window_days)}
    groups = {"beta": "market"}
    sectors = np.asarray(market.sector).astype(str)
    for s in sorted(set(sectors.tolist()) - {""}):
        loadings[f"sector_{s}"] = np.broadcast_to((sectors == s).astype(np.float64), (n_dates, n_assets))
        groups[f"sector_{s}"] = "sector"
    styles = {}
    if market.has_volume:
        with np.errstate(invalid="ignore", divide="ignore"):
            adv = trailing_mean(market.dollar_volume(), size_window_days)
            styles["size"] = np.log(np.where(adv > 0, adv, np.nan))
    styles["momentum"] = _momentum(market.close, lookback, skip)
    styles["volatility"] = trailing_std(r, vol_window_days)
    for name, x in styles.items():
        loadings[name] = _zscore(x)
        groups[name] = "style"

    names = tuple(loadings)
    f = np.full((n_dates, len(names)), np.nan)
    for d in range(n_dates):  # one day's (assets x factors) matrix at a time, never the 3-D stack
        x = np.column_stack([loadings[n][d] for n in names])
        cols = np.isfinite(x).any(axis=0)
        rows = np.isfinite(r[d]) & np.isfinite(x[:, cols]).all(axis=1)
        k = int(cols.sum())
        if k == 0 or rows.sum() < k + 2:
            continue
        # the normal equations (k x k): the same least-squares slopes as on the (assets x k)
        # matrix, an order of magnitude cheaper; lstsq keeps a rank-deficient day well defined
        xs = x[rows][:, cols]
        f[d, cols] = np.linalg.lstsq(xs.T @ xs, xs.T @ r[d, rows], rcond=None)[0]
    return FactorModel(names=names, groups=groups, loadings=loadings, factor_returns=f)


def _group_of(name: str) -> str:
    key = re.sub(r"[^a-z]", "", name.lower())
    return "market" if key in _MARKET_NAMES or key.startswith("mkt") else "style"


def _aligned_factor_returns(frame: pl.DataFrame, market: MarketData, source: str):
    if "date" not in frame.columns:
        raise DataContractError(source, "date", f"column 'date' is present (found {frame.columns[:12]})")
    names = [c for c in frame.columns if c not in ("date", "RF")]
    if not names:
        raise DataContractError(source, None, "at least one factor column besides 'date' (and 'RF')")
    frame = frame.with_columns(pl.col("date").cast(pl.Date, strict=False))
    for column in ("date", *names):
        bad = pl.col(column).is_null() if column == "date" else (
            pl.col(column).is_not_null() & pl.col(column).cast(pl.Float64, strict=False).is_null())
        if frame.select(bad.any()).item():
            rows = frame.with_row_index("row").filter(bad).select(["row", "date", *names]).head(5)
            what = "values are dates" if column == "date" else "values are numeric"
            raise DataContractError(source, column, what, format_rows(rows))
    dup = pl.col("date").is_duplicated()
    if frame.select(dup.any()).item():
        rows = frame.with_row_index("row").filter(dup).select(["row", "date"]).head(5)
        raise DataContractError(source, "date", "each date appears once", format_rows(rows))
    frame = frame.with_columns(pl.col(names).cast(pl.Float64))
    for column in names:
        big = pl.col(column).abs() > 1.0
        if frame.select(big.any()).item():
            rows = frame.with_row_index("row").filter(big).select(["row", "date", column]).head(5)
            raise DataContractError(source, column, "daily returns are decimals, |value| <= 1 "
                                    "(percent? divide by 100)", format_rows(rows))
    dates = frame["date"].to_numpy().astype("datetime64[D]")
    pos = np.searchsorted(market.grid.dates, dates)
    on_grid = pos < market.grid.dates.size
    on_grid[on_grid] &= market.grid.dates[pos[on_grid]] == dates[on_grid]
    if not on_grid.any():
        raise DataContractError(source, "date", f"dates overlap the market's {market.grid.dates[0]}.."
                                f"{market.grid.dates[-1]}", format_rows(frame.head(3)))
    f = np.full((market.grid.dates.size, len(names)), np.nan)
    f[pos[on_grid]] = frame.select(names).fill_null(np.nan).to_numpy()[on_grid]
    return tuple(names), f


def factor_model_from_returns(
    factor_returns: pl.DataFrame,
    market: MarketData,
    *,
    window_days: int = 252,
    min_periods: int = 60,
    source: str = "factor_returns",
) -> FactorModel:
    """Loadings as trailing time-series betas on user-supplied factor returns.

    For each asset and day ``d``, the asset's returns over rows ``d - window_days .. d - 1`` are
    regressed jointly on all factors plus an intercept (multivariate OLS, the usual way to read
    an asset's Fama-French exposures); the slopes are its loadings for day ``d``, so they are
    known before the close of ``d``. An asset with fewer than ``min_periods`` usable days in the
    window has NaN loadings (its PnL then counts as specific).

    Parameters
    ----------
    factor_returns : pl.DataFrame
        ``date`` plus one column per factor, daily returns in DECIMAL (0.01 = 1%). A column
        named ``RF`` (the risk-free rate in French's files) is not a factor and is ignored.
        Grid dates missing from the frame get NaN factor returns.
    market : MarketData
        The asset returns and grid.
    window_days, min_periods : int
        Trailing window in rows, and the fewest usable rows in it.
    source : str
        Name for error messages.

    Raises
    ------
    DataContractError
        Missing ``date``, non-numeric values, duplicated dates, values above 1 in absolute value
        (percent, not decimals) or no date in common with the market.
    """
    if not 2 <= min_periods <= window_days:
        raise ValueError(f"need 2 <= min_periods <= window_days, got {min_periods} and {window_days}")
    names, f = _aligned_factor_returns(factor_returns, market, source)
    r = market.returns
    n_dates, n_assets = r.shape
    k1 = len(names) + 1
    x = np.column_stack([np.ones(n_dates), f])
    row_ok = np.isfinite(f).all(axis=1)
    x0 = np.where(row_ok[:, None], x, 0.0)
    xx = (x0[:, :, None] * x0[:, None, :]).reshape(n_dates, k1 * k1)
    v = (np.isfinite(r) & row_ok[:, None]).astype(np.float64)
    vr = np.where(v > 0, r, 0.0)
    betas = np.full((n_dates, n_assets, k1 - 1), np.nan)
    for d in range(min_periods, n_dates):
        lo = max(0, d - window_days)
        a = (v[lo:d].T @ xx[lo:d]).reshape(n_assets, k1, k1)  # sum of X X' over each asset's usable rows
        b = vr[lo:d].T @ x0[lo:d]  # sum of X r
        ok = a[:, 0, 0] >= min_periods
        if not ok.any():
            continue
        try:
            coef = np.linalg.solve(a[ok], b[ok][:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:  # a degenerate window: least squares via the pseudo-inverse
            coef = (np.linalg.pinv(a[ok]) @ b[ok][:, :, None])[:, :, 0]
        betas[d, ok] = coef[:, 1:]
    loadings = {n: betas[:, :, j] for j, n in enumerate(names)}
    return FactorModel(names=names, groups={n: _group_of(n) for n in names}, loadings=loadings,
                       factor_returns=f)


def read_french_daily(path: str | Path) -> pl.DataFrame:
    """Read a Kenneth French data-library daily CSV (``F-F_..._daily.CSV``) into decimals.

    The format: free-text lines, a header row whose first field is blank (``,Mkt-RF,SMB,HML,RF``),
    then rows ``YYYYMMDD, value, ...`` in PERCENT up to the first blank line; what follows (a
    copyright line) is ignored. ``-99.99`` and ``-999`` mean missing and become null.

    Returns
    -------
    pl.DataFrame
        ``date`` (pl.Date) and one Float64 column per factor (names stripped), in decimals.

    Raises
    ------
    DataContractError
        Naming the file when it is missing, has no header row followed by daily rows, or a data
        row has the wrong number of fields, a bad date, a non-numeric value or an unsorted date.
    """
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise DataContractError(source, None, "the file exists")
    lines = path.read_text(encoding="latin-1").splitlines()
    start = next((i for i, line in enumerate(lines[:-1])
                  if line.split(",")[0].strip() == "" and line.count(",") >= 1
                  and re.match(r"^\s*\d{8}\s*,", lines[i + 1])), None)
    if start is None:
        raise DataContractError(source, None, "a header row ',Factor,...' (blank first field) is "
                                "followed by daily rows 'YYYYMMDD,...'",
                                "\n".join(f"line {i + 1}: {s!r}" for i, s in enumerate(lines[:6])))
    names = [c.strip() for c in lines[start].split(",")[1:]]
    if any(not n for n in names) or len(set(names)) != len(names) or "date" in names:
        raise DataContractError(source, None, f"factor names in the header are non-empty and unique "
                                f"(got {names})", f"line {start + 1}: {lines[start]!r}")
    body = []
    for i in range(start + 1, len(lines)):
        if not lines[i].strip():
            break
        body.append(i)

    def fail(column: str | None, expectation: str, bad: list[int]) -> DataContractError:
        return DataContractError(source, column, expectation,
                                 "\n".join(f"line {i + 1}: {lines[i]!r}" for i in bad[:5]))

    fields = [[s.strip() for s in lines[i].split(",")] for i in body]
    wrong = [i for i, row in zip(body, fields, strict=True) if len(row) != len(names) + 1]
    if wrong:
        raise fail(None, f"every data row has {len(names) + 1} fields like the header", wrong)
    dates = pl.Series("date", [row[0] for row in fields]).str.to_date("%Y%m%d", strict=False)
    if dates.null_count():
        raise fail("date", "dates are YYYYMMDD (daily file)", [body[j] for j in dates.is_null().arg_true()])
    order = dates.diff().dt.total_days().fill_null(1)
    if (order <= 0).any():
        raise fail("date", "dates are strictly increasing", [body[j] for j in (order <= 0).arg_true()])
    columns = {"date": dates}
    for j, name in enumerate(names, start=1):
        values = pl.Series(name, [row[j] for row in fields]).cast(pl.Float64, strict=False)
        if values.null_count():
            raise fail(name, "values are numbers (percent)", [body[m] for m in values.is_null().arg_true()])
        columns[name] = values
    return pl.DataFrame(columns).with_columns(
        pl.when(pl.col(n).is_in(list(_MISSING))).then(None).otherwise(pl.col(n) / 100.0).alias(n)
        for n in names
    )
