"""How much of the best backtest is selection luck? Deflated Sharpe and PBO.

A researcher who tries 200 configurations and reports the best one has run 200 tests; the
winner's Sharpe ratio is biased upwards even if every configuration is worthless. Two
corrections, both computed from the trials a run actually recorded:

* Deflated Sharpe Ratio (Bailey & Lopez de Prado 2014): the probability that the selected
  strategy's true Sharpe exceeds the Sharpe the best of N worthless trials would show by
  chance, allowing for skewed and fat-tailed returns.
* Probability of Backtest Overfitting (Bailey, Borwein, Lopez de Prado & Zhu 2017) by
  combinatorially symmetric cross-validation (CSCV): how often the configuration that is best
  in one half of the history ranks below the median in the other half.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats

__all__ = [
    "DeflatedSharpe",
    "PBOResult",
    "deflated_sharpe_ratio",
    "expected_max_sharpe",
    "probabilistic_sharpe_ratio",
    "probability_of_backtest_overfitting",
    "trials_matrix",
]

_EULER_GAMMA = 0.5772156649015329


def expected_max_sharpe(n_trials: int, sr_variance: float) -> float:
    """Expected maximum Sharpe ratio of ``n_trials`` worthless strategies.

    ``sqrt(V) * ((1 - g) * Phi^-1(1 - 1/N) + g * Phi^-1(1 - 1/(N e)))`` with ``g`` the
    Euler-Mascheroni constant and ``V`` the variance of the trials' Sharpe ratios (same
    per-period units as the Sharpe being deflated). 0 for a single trial.
    """
    if n_trials < 1:
        raise ValueError(f"n_trials must be >= 1, got {n_trials}")
    if not sr_variance >= 0:
        raise ValueError(f"sr_variance must be >= 0, got {sr_variance}")
    if n_trials == 1:
        return 0.0
    z1 = stats.norm.ppf(1.0 - 1.0 / n_trials)
    z2 = stats.norm.ppf(1.0 - 1.0 / (n_trials * math.e))
    return float(math.sqrt(sr_variance) * ((1.0 - _EULER_GAMMA) * z1 + _EULER_GAMMA * z2))


def probabilistic_sharpe_ratio(
    sharpe: float,
    n_obs: int,
    skew: float = 0.0,
    kurtosis: float = 3.0,
    sharpe_benchmark: float = 0.0,
) -> float:
    """Probability that the true Sharpe exceeds ``sharpe_benchmark`` (Bailey & Lopez de Prado 2012).

    ``Phi((SR - SR*) sqrt(n - 1) / sqrt(1 - skew SR + (kurtosis - 1) / 4 SR^2))``; Sharpe
    ratios per period (not annualised), ``kurtosis`` non-excess (3 for normal returns).
    """
    if n_obs < 2:
        raise ValueError(f"n_obs must be >= 2, got {n_obs}")
    denom = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if not denom > 0:
        return math.nan
    z = (sharpe - sharpe_benchmark) * math.sqrt(n_obs - 1.0) / math.sqrt(denom)
    return float(stats.norm.cdf(z))


@dataclass(frozen=True)
class DeflatedSharpe:
    """Deflated Sharpe Ratio of one selected strategy.

    Attributes
    ----------
    sharpe
        Per-period Sharpe ratio of the selected strategy (mean / std, ddof=1).
    sharpe_benchmark
        Expected maximum Sharpe of ``n_trials`` worthless trials (:func:`expected_max_sharpe`).
    dsr
        PSR against ``sharpe_benchmark``: the deflated probability that the edge is real.
    psr
        PSR against zero (no selection correction), for comparison.
    n_trials, sr_variance, skew, kurtosis, n_obs
        Inputs used (kurtosis non-excess).
    """

    sharpe: float
    sharpe_benchmark: float
    dsr: float
    psr: float
    n_trials: int
    sr_variance: float
    skew: float
    kurtosis: float
    n_obs: int

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _sharpe(x: np.ndarray) -> float:
    sd = float(np.std(x, ddof=1))
    return float(np.mean(x) / sd) if sd > 0 else math.nan


def deflated_sharpe_ratio(
    returns,
    *,
    trial_sharpes=None,
    n_trials: int | None = None,
    sr_variance: float | None = None,
) -> DeflatedSharpe:
    """Deflated Sharpe Ratio (Bailey & Lopez de Prado 2014) of the selected strategy.

    Parameters
    ----------
    returns
        Per-period returns (or any per-period performance, e.g. daily IC) of the selected
        configuration.
    trial_sharpes
        Per-period Sharpe ratios of every configuration tried (including the selected one);
        gives ``n_trials`` and ``sr_variance`` (ddof=1).
    n_trials, sr_variance
        Alternatively, the number of trials and the variance of their Sharpe ratios.
    """
    x = np.asarray(returns, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    if x.size < 3:
        raise ValueError(f"returns needs at least 3 finite values, got {x.size}")
    if trial_sharpes is not None:
        srs = np.asarray(trial_sharpes, dtype=np.float64).ravel()
        srs = srs[np.isfinite(srs)]
        n_trials = int(srs.size)
        sr_variance = float(np.var(srs, ddof=1)) if srs.size > 1 else 0.0
    if n_trials is None or sr_variance is None:
        raise ValueError("give trial_sharpes=, or both n_trials= and sr_variance=")
    sr = _sharpe(x)
    skew = float(stats.skew(x))
    kurt = float(stats.kurtosis(x, fisher=False))
    sr0 = expected_max_sharpe(int(n_trials), float(sr_variance))
    return DeflatedSharpe(
        sharpe=sr,
        sharpe_benchmark=sr0,
        dsr=probabilistic_sharpe_ratio(sr, x.size, skew, kurt, sr0),
        psr=probabilistic_sharpe_ratio(sr, x.size, skew, kurt, 0.0),
        n_trials=int(n_trials),
        sr_variance=float(sr_variance),
        skew=skew,
        kurtosis=kurt,
        n_obs=int(x.size),
    )


def trials_matrix(trials) -> tuple[np.ndarray, list[str]]:
    """``(T x n_configs)`` float matrix and config names from a frame or array of trials.

    A polars frame's numeric columns other than ``date`` are the configurations, in order;
    rows are periods (sorted by ``date`` when present). Rows with any non-finite value are
    dropped, so every configuration is judged on the same periods.
    """
    if isinstance(trials, pl.DataFrame):
        frame = trials.sort("date") if "date" in trials.columns else trials
        names = [c for c, t in frame.schema.items() if c != "date" and t.is_numeric()]
        m = frame.select(names).cast(pl.Float64).to_numpy()
    else:
        m = np.asarray(trials, dtype=np.float64)
        if m.ndim != 2:
            raise ValueError(f"trials must be 2-D (periods x configs), got shape {m.shape}")
        names = [f"config_{j}" for j in range(m.shape[1])]
    m = m[np.all(np.isfinite(m), axis=1)] if m.size else m
    return m, names


@dataclass(frozen=True)
class PBOResult:
    """Probability of Backtest Overfitting by CSCV.

    Attributes
    ----------
    pbo
        Share of the C(S, S/2) in-sample / out-of-sample splits in which the in-sample best
        configuration ranks at or below the out-of-sample median (logit <= 0). About 0.5 when
        all configurations are noise, near 0 when one is genuinely best.
    logits
        ``log(w / (1 - w))`` per split, ``w`` = out-of-sample rank of the in-sample winner
        / (n_configs + 1).
    prob_oos_loss
        Share of splits in which the winner's out-of-sample metric is below zero.
    selected
        Per split, the index of the in-sample winner.
    n_splits, n_combinations, n_configs, n_obs, metric
        Design of the test.
    """

    pbo: float
    logits: np.ndarray
    prob_oos_loss: float
    selected: np.ndarray
    n_splits: int
    n_combinations: int
    n_configs: int
    n_obs: int
    metric: str

    def to_dict(self) -> dict:
        return {
            "pbo": self.pbo,
            "prob_oos_loss": self.prob_oos_loss,
            "logit_median": float(np.median(self.logits)) if self.logits.size else math.nan,
            "n_splits": self.n_splits,
            "n_combinations": self.n_combinations,
            "n_configs": self.n_configs,
            "n_obs": self.n_obs,
            "metric": self.metric,
        }


def _metric(sum_x, sum_xx, count, metric: str) -> np.ndarray:
    mean = sum_x / count
    if metric == "mean":
        return mean
    var = (sum_xx - count * mean**2) / (count - 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(var > 0, mean / np.sqrt(np.maximum(var, 0.0)), np.nan)


def probability_of_backtest_overfitting(
    trials, n_splits: int = 16, metric: str = "sharpe"
) -> PBOResult:
    """PBO of selecting the best of ``n_configs`` configurations, by CSCV.

    The ``T`` periods are cut into ``n_splits`` contiguous blocks (sizes differing by at most
    one). Every choice of half the blocks is an in-sample set and the other half its
    out-of-sample set; the configuration with the best in-sample ``metric`` ("sharpe":
    mean / std; "mean") is located in the out-of-sample ranking (average ranks for ties).

    Parameters
    ----------
    trials
        ``(T x n_configs)`` per-period performance (returns, daily IC, ...) of every
        configuration a run tried, as an array or a polars frame (see :func:`trials_matrix`).
    n_splits
        Even number of blocks S; C(S, S/2) splits are evaluated (12,870 for S = 16).
    """
    if metric not in ("sharpe", "mean"):
        raise ValueError(f"metric must be 'sharpe' or 'mean', got {metric!r}")
    if n_splits < 2 or n_splits % 2:
        raise ValueError(f"n_splits must be an even number >= 2, got {n_splits}")
    m, _ = trials_matrix(trials)
    t, n_cfg = m.shape
    if n_cfg < 2:
        raise ValueError(f"need at least 2 configurations, got {n_cfg}")
    if t < 2 * n_splits:
        raise ValueError(f"need at least 2 periods per block: {t} periods for {n_splits} splits")
    blocks = np.array_split(np.arange(t), n_splits)
    sx = np.stack([m[b].sum(axis=0) for b in blocks])  # (S, N)
    sxx = np.stack([(m[b] ** 2).sum(axis=0) for b in blocks])
    cnt = np.array([b.size for b in blocks], dtype=np.float64)
    combos = np.array(list(itertools.combinations(range(n_splits), n_splits // 2)))
    is_mask = np.zeros((combos.shape[0], n_splits))
    np.put_along_axis(is_mask, combos, 1.0, axis=1)
    oos_mask = 1.0 - is_mask
    is_metric = _metric(is_mask @ sx, is_mask @ sxx, (is_mask @ cnt)[:, None], metric)
    oos_metric = _metric(oos_mask @ sx, oos_mask @ sxx, (oos_mask @ cnt)[:, None], metric)
    best = np.argmax(np.nan_to_num(is_metric, nan=-np.inf), axis=1)
    chosen = oos_metric[np.arange(best.size), best][:, None]
    below = np.sum(oos_metric < chosen, axis=1)
    ties = np.sum(oos_metric == chosen, axis=1)
    rank = below + (ties + 1) / 2.0  # average rank, 1 = worst
    w = rank / (n_cfg + 1.0)
    logits = np.log(w / (1.0 - w))
    return PBOResult(
        pbo=float(np.mean(logits <= 0.0)),
        logits=logits,
        prob_oos_loss=float(np.mean(chosen[:, 0] < 0.0)),
        selected=best,
        n_splits=n_splits,
        n_combinations=int(combos.shape[0]),
        n_configs=n_cfg,
        n_obs=t,
        metric=metric,
    )
