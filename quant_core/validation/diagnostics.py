"""Regression diagnostics for the researcher's view of a signal.

Two assumptions behind a plain t-test of a signal are checked here:

* independent dates: the Ljung-Box test on the IC series. Overlapping h-day targets make
  neighbouring ICs correlated by construction; a rejection says "use the HAC numbers".
* constant error variance: Breusch-Pagan and White tests on the residuals of the pooled
  regression of forward return on signal. Return noise is larger for volatile stocks and
  in stressed markets; a rejection says "use heteroskedasticity-robust standard errors".

Each statistic is computed here with numpy and checked in the tests against statsmodels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import polars as pl
from scipy import stats

__all__ = ["heteroskedasticity_tests", "ljung_box", "signal_regression"]


def ljung_box(ic, lags: int | Sequence[int] = 10) -> pl.DataFrame:
    """Ljung-Box Q test of no autocorrelation in the IC series, up to each lag.

    ``Q(k) = n (n + 2) sum_{j<=k} rho_j^2 / (n - j)`` with ``rho_j`` the sample
    autocorrelation of the de-meaned series; under the null Q(k) is chi-square(k).

    Parameters
    ----------
    ic
        The IC frame (column ``ic``), a polars Series or an array; non-finite values dropped.
    lags
        An int ``k`` tests lags 1..k (one row each); a sequence tests those lags.

    Returns
    -------
    pl.DataFrame
        ``lag, autocorrelation, q_stat, p_value``; equals statsmodels ``acorr_ljungbox``.
    """
    x = _array(ic)
    n = x.size
    wanted = list(range(1, int(lags) + 1)) if isinstance(lags, (int, np.integer)) else list(lags)
    if not wanted or min(wanted) < 1 or max(wanted) >= n:
        raise ValueError(f"lags must be in [1, n - 1 = {n - 1}], got {lags!r}")
    kmax = max(wanted)
    e = x - x.mean()
    denom = float(e @ e)
    rho = np.array([float(e[j:] @ e[:-j]) / denom for j in range(1, kmax + 1)])
    q = n * (n + 2.0) * np.cumsum(rho**2 / (n - np.arange(1, kmax + 1)))
    idx = np.asarray(wanted) - 1
    return pl.DataFrame(
        {
            "lag": np.asarray(wanted, dtype=np.int64),
            "autocorrelation": rho[idx],
            "q_stat": q[idx],
            "p_value": stats.chi2.sf(q[idx], np.asarray(wanted)),
        }
    )


def _array(ic) -> np.ndarray:
    if isinstance(ic, pl.DataFrame):
        if "ic" not in ic.columns:
            raise ValueError(f"IC frame needs an 'ic' column, has {ic.columns}")
        ic = ic.sort("date")["ic"] if "date" in ic.columns else ic["ic"]
    if isinstance(ic, pl.Series):
        ic = ic.cast(pl.Float64).to_numpy()
    x = np.asarray(ic, dtype=np.float64).ravel()
    return x[np.isfinite(x)]


def _ols(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Least squares of ``y`` on ``x`` (with its own constant column); beta, residuals, R^2."""
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    tss = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float(resid @ resid) / tss if tss > 0 else math.nan
    return beta, resid, r2


def _lm_and_f(r2: float, n: int, k: int) -> dict:
    """LM = n R^2 ~ chi2(k) and the regression F(k, n - k - 1) of an auxiliary regression."""
    lm = n * r2
    f = (r2 / k) / ((1.0 - r2) / (n - k - 1)) if r2 < 1 else math.inf
    return {
        "lm": float(lm),
        "lm_p": float(stats.chi2.sf(lm, k)),
        "f": float(f),
        "f_p": float(stats.f.sf(f, k, n - k - 1)),
        "df": k,
    }


def _xy(frame: pl.DataFrame, signal: str, target: str, demean_by_date: bool):
    for col in ("date", signal, target):
        if col not in frame.columns:
            raise ValueError(f"frame is missing column {col!r}; has {frame.columns}")
    x, y = pl.col(signal).cast(pl.Float64), pl.col(target).cast(pl.Float64)
    ok = frame.filter(x.is_not_null() & y.is_not_null() & x.is_finite() & y.is_finite())
    if demean_by_date:
        ok = ok.with_columns(
            (x - x.mean().over("date")).alias("_x"), (y - y.mean().over("date")).alias("_y")
        )
    else:
        ok = ok.with_columns(x.alias("_x"), y.alias("_y"))
    return ok["_x"].to_numpy(), ok["_y"].to_numpy()


def signal_regression(
    frame: pl.DataFrame, signal: str, target: str = "target", demean_by_date: bool = True
) -> dict:
    """Pooled OLS of forward return on signal, with classical standard errors.

    With ``demean_by_date`` (default) both columns are de-meaned within each date first (date
    fixed effects), so the slope measures cross-sectional predictability and is not driven
    by market-wide moves.

    Returns
    -------
    dict
        ``slope, intercept, t_slope, r_squared, n``; the residuals feed
        :func:`heteroskedasticity_tests`.
    """
    xs, ys = _xy(frame, signal, target, demean_by_date)
    return _regression(xs, ys)[0]


def _regression(xs: np.ndarray, ys: np.ndarray) -> tuple[dict, np.ndarray, np.ndarray]:
    n = xs.size
    if n < 4 or np.ptp(xs) == 0:
        nan = math.nan
        fit = {"slope": nan, "intercept": nan, "t_slope": nan, "r_squared": nan, "n": int(n)}
        return fit, np.empty((0, 2)), np.empty(0)
    exog = np.column_stack([np.ones(n), xs])
    beta, resid, r2 = _ols(ys, exog)
    sigma2 = float(resid @ resid) / (n - 2)
    xtx_inv = np.linalg.inv(exog.T @ exog)
    t = float(beta[1] / math.sqrt(sigma2 * xtx_inv[1, 1])) if sigma2 > 0 else math.nan
    fit = {
        "slope": float(beta[1]),
        "intercept": float(beta[0]),
        "t_slope": t,
        "r_squared": float(r2),
        "n": int(n),
    }
    return fit, exog, resid


def heteroskedasticity_tests(
    frame: pl.DataFrame, signal: str, target: str = "target", demean_by_date: bool = True
) -> dict:
    """Breusch-Pagan and White tests on the residuals of :func:`signal_regression`.

    Breusch-Pagan (Koenker's studentized form): regress squared residuals on ``[1, signal]``;
    White: on ``[1, signal, signal^2]``. ``lm = n R^2`` is chi-square with 1 resp. 2 degrees of
    freedom; ``f`` is the auxiliary regression's F statistic. They equal statsmodels
    ``het_breuschpagan(resid, exog)`` and ``het_white(resid, exog)``.

    Returns
    -------
    dict
        ``regression`` (see :func:`signal_regression`), ``breusch_pagan`` and ``white``, each
        ``{lm, lm_p, f, f_p, df}`` (NaN when fewer than 4 usable rows).
    """
    xs, ys = _xy(frame, signal, target, demean_by_date)
    fit, exog, resid = _regression(xs, ys)
    if resid.size == 0:
        empty = {"lm": math.nan, "lm_p": math.nan, "f": math.nan, "f_p": math.nan}
        return {"regression": fit, "breusch_pagan": {**empty, "df": 1}, "white": {**empty, "df": 2}}
    u2 = resid**2
    n = u2.size
    _, _, r2_bp = _ols(u2, exog)
    white_exog = np.column_stack([exog, exog[:, 1] ** 2])
    _, _, r2_w = _ols(u2, white_exog)
    return {
        "regression": fit,
        "breusch_pagan": _lm_and_f(r2_bp, n, 1),
        "white": _lm_and_f(r2_w, n, 2),
    }
