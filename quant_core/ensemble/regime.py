"""Point-in-time market regime detectors: volatility and trend states of the whole market.

Signals that rank stocks well in a quiet, rising market often fail in a turbulent one (and
vice versa). A regime detector labels every date with the market's state *as it was known at
that date's close*: it reads the equal-weighted market return up to and including the date,
and its thresholds or model parameters are fitted on the training dates only. Downstream
ensembles route member signals by this label.
"""

from __future__ import annotations

import datetime
from typing import Any

import numpy as np
import polars as pl

from quant_core.ensemble.hmm import GaussianHMM

__all__ = ["HMMRegimeDetector", "ThresholdRegimeDetector", "market_state"]


def market_state(
    panel: pl.DataFrame,
    price_col: str = "close",
    vol_window_days: int = 20,
    trend_window_days: int = 60,
) -> pl.DataFrame:
    """Daily equal-weighted market return with its trailing volatility and trend.

    Parameters
    ----------
    panel : pl.DataFrame
        ``date, asset, <price_col>``.
    vol_window_days : int, default 20
        Trailing dates (including the current one) of the realised volatility.
    trend_window_days : int, default 60
        Trailing dates (including the current one) of the compounded market return.

    Returns
    -------
    pl.DataFrame
        ``date, market_return, realised_vol, trailing_return`` sorted by date. Every value at
        date t uses closes up to t only; warm-up dates are null. ``market_return`` is the mean
        over assets of close-to-close simple returns (the first date is null);
        ``realised_vol`` its sample std (daily units) over ``vol_window_days`` dates.
    """
    for name, v in (("vol_window_days", vol_window_days), ("trend_window_days", trend_window_days)):
        if v < 2:
            raise ValueError(f"{name} must be >= 2, got {v}")
    missing = [c for c in ("date", "asset", price_col) if c not in panel.columns]
    if missing:
        raise ValueError(f"panel is missing columns {missing}")
    ret = (
        panel.select("date", "asset", pl.col(price_col).cast(pl.Float64))
        .sort(["asset", "date"])
        .with_columns(
            (pl.col(price_col) / pl.col(price_col).shift(1) - 1.0).over("asset").alias("r")
        )
    )
    mkt = (
        ret.group_by("date")
        .agg(pl.col("r").fill_nan(None).mean().alias("market_return"))
        .sort("date")
    )
    log1p = pl.col("market_return").log1p()
    return mkt.with_columns(
        pl.col("market_return")
        .rolling_std(vol_window_days, min_samples=vol_window_days, ddof=1)
        .alias("realised_vol"),
        (log1p.rolling_sum(trend_window_days, min_samples=trend_window_days).exp() - 1.0).alias(
            "trailing_return"
        ),
    )


def _fit_rows(
    states: pl.DataFrame, last_fit_date: datetime.date | None, cols: list[str]
) -> pl.DataFrame:
    missing = [c for c in ["date", *cols] if c not in states.columns]
    if missing:
        raise ValueError(f"states is missing columns {missing}; build it with market_state()")
    fit = states if last_fit_date is None else states.filter(pl.col("date") <= last_fit_date)
    return fit.sort("date")


class ThresholdRegimeDetector:
    """Volatility (and optionally trend) states by thresholds at training-period quantiles.

    A date is "stressed" when the trailing realised volatility exceeds the ``vol_quantile``
    quantile of the training dates' realised volatility, else "calm". With ``trend_quantile``
    set, a second state "up"/"down" compares the trailing market return with its training
    quantile and the regime becomes e.g. ``"calm_up"``.

    Parameters
    ----------
    vol_quantile : float, default 0.7
        In (0, 1).
    trend_quantile : float or None, default None
        In (0, 1); None: volatility states only.

    Attributes
    ----------
    vol_threshold_ : float
        Daily realised-vol threshold (return units).
    trend_threshold_ : float or None
    fit_dates_ : tuple[date, date]
    """

    def __init__(self, vol_quantile: float = 0.7, trend_quantile: float | None = None) -> None:
        self.vol_quantile = vol_quantile
        self.trend_quantile = trend_quantile

    def fit(
        self, states: pl.DataFrame, last_fit_date: datetime.date | None = None
    ) -> ThresholdRegimeDetector:
        """Set the thresholds from the dates up to ``last_fit_date`` (all dates if None)."""
        if not 0.0 < self.vol_quantile < 1.0:
            raise ValueError(f"vol_quantile must be in (0, 1), got {self.vol_quantile}")
        if self.trend_quantile is not None and not 0.0 < self.trend_quantile < 1.0:
            raise ValueError(f"trend_quantile must be in (0, 1) or None, got {self.trend_quantile}")
        cols = ["realised_vol"] + (["trailing_return"] if self.trend_quantile is not None else [])
        fit = _fit_rows(states, last_fit_date, cols)
        vol = fit.get_column("realised_vol").drop_nulls().drop_nans()
        if vol.len() == 0:
            raise ValueError(f"no realised_vol values on or before last_fit_date={last_fit_date}")
        self.vol_threshold_ = float(np.quantile(vol.to_numpy(), self.vol_quantile))
        self.trend_threshold_ = None
        if self.trend_quantile is not None:
            tr = fit.get_column("trailing_return").drop_nulls().drop_nans()
            if tr.len() == 0:
                raise ValueError(f"no trailing_return values on or before {last_fit_date}")
            self.trend_threshold_ = float(np.quantile(tr.to_numpy(), self.trend_quantile))
        self.fit_dates_ = (fit.get_column("date").min(), fit.get_column("date").max())
        return self

    def predict(self, states: pl.DataFrame) -> pl.DataFrame:
        """``date, vol_state, trend_state, regime`` per date (null during warm-up)."""
        if not hasattr(self, "vol_threshold_"):
            raise RuntimeError("ThresholdRegimeDetector is not fitted; call fit() first")
        vol = pl.col("realised_vol").fill_nan(None)
        vol_state = (
            pl.when(vol.is_null())
            .then(None)
            .when(vol > self.vol_threshold_)
            .then(pl.lit("stressed"))
            .otherwise(pl.lit("calm"))
        )
        if self.trend_threshold_ is None:
            trend_state = pl.lit(None, dtype=pl.String)
        else:
            tr = pl.col("trailing_return").fill_nan(None)
            trend_state = (
                pl.when(tr.is_null())
                .then(None)
                .when(tr >= self.trend_threshold_)
                .then(pl.lit("up"))
                .otherwise(pl.lit("down"))
            )
        out = states.sort("date").select(
            "date", vol_state.alias("vol_state"), trend_state.alias("trend_state")
        )
        if self.trend_threshold_ is None:
            return out.with_columns(pl.col("vol_state").alias("regime"))
        return out.with_columns(
            pl.concat_str(["vol_state", "trend_state"], separator="_").alias("regime")
        )


class HMMRegimeDetector:
    """Calm / stressed states from a Gaussian HMM on the daily market return, filtered.

    The HMM (:class:`~quant_core.ensemble.hmm.GaussianHMM`) is fitted by Baum-Welch on the
    training dates' observations only (standardised with training moments); states are ordered
    by the variance of the first observation, so state 0 is the quietest. ``predict`` runs the
    forward filter from the first date: the probability at t uses observations up to t.

    Parameters
    ----------
    observations : sequence of str, default ("market_return",)
        Columns of :func:`market_state` fed to the HMM.
    n_states : int, default 2
        With 2 states the labels are "calm" and "stressed"; otherwise "state_0", "state_1", ...
    n_iter : int, default 200
    threshold : float, default 0.5
        With 2 states, "stressed" when its filtered probability exceeds this; with more, the
        most probable state.

    Attributes
    ----------
    hmm_ : GaussianHMM
        Fitted on the standardised training observations, states reordered.
    center_, scale_ : np.ndarray
        Training mean and std of the observations.
    labels_ : list of str
    fit_dates_ : tuple[date, date]
    """

    def __init__(
        self,
        observations: tuple[str, ...] | list[str] = ("market_return",),
        n_states: int = 2,
        n_iter: int = 200,
        threshold: float = 0.5,
    ) -> None:
        self.observations = tuple(observations)
        self.n_states = n_states
        self.n_iter = n_iter
        self.threshold = threshold

    def _matrix(self, frame: pl.DataFrame) -> np.ndarray:
        X = frame.select(
            pl.col(list(self.observations)).cast(pl.Float64).fill_null(np.nan)
        ).to_numpy()
        return (X - self.center_) / self.scale_

    def fit(
        self, states: pl.DataFrame, last_fit_date: datetime.date | None = None
    ) -> HMMRegimeDetector:
        """Baum-Welch on the dates up to ``last_fit_date`` (all dates if None)."""
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), got {self.threshold}")
        if not self.observations:
            raise ValueError("observations must name at least one column, got ()")
        fit = _fit_rows(states, last_fit_date, list(self.observations))
        raw = fit.select(
            pl.col(list(self.observations)).cast(pl.Float64).fill_null(np.nan)
        ).to_numpy()
        with np.errstate(all="ignore"):
            self.center_ = np.nanmean(raw, axis=0)
            scale = np.nanstd(raw, axis=0)
        self.scale_ = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
        hmm = GaussianHMM(n_states=self.n_states, n_iter=self.n_iter).fit(self._matrix(fit))
        order = np.argsort(hmm.variances_[:, 0], kind="stable")
        hmm.startprob_ = hmm.startprob_[order]
        hmm.transmat_ = hmm.transmat_[np.ix_(order, order)]
        hmm.means_, hmm.variances_ = hmm.means_[order], hmm.variances_[order]
        self.hmm_ = hmm
        self.labels_ = (
            ["calm", "stressed"]
            if self.n_states == 2
            else [f"state_{k}" for k in range(self.n_states)]
        )
        self.fit_dates_ = (fit.get_column("date").min(), fit.get_column("date").max())
        return self

    def predict_proba(self, states: pl.DataFrame) -> np.ndarray:
        """Filtered state probabilities (n_dates, n_states) in date order."""
        if not hasattr(self, "hmm_"):
            raise RuntimeError("HMMRegimeDetector is not fitted; call fit() first")
        return self.hmm_.filter(self._matrix(states.sort("date")))

    def predict(self, states: pl.DataFrame) -> pl.DataFrame:
        """``date, p_<label>... , regime`` per date, from filtered probabilities."""
        proba = self.predict_proba(states)
        if self.n_states == 2:
            idx = (proba[:, 1] > self.threshold).astype(np.int64)
        else:
            idx = proba.argmax(axis=1)
        labels: Any = np.asarray(self.labels_)[idx]
        cols = {f"p_{lab}": proba[:, k] for k, lab in enumerate(self.labels_)}
        return (
            states.sort("date")
            .select("date")
            .with_columns(
                *[pl.Series(k, v, dtype=pl.Float64) for k, v in cols.items()],
                pl.Series("regime", labels, dtype=pl.String),
            )
        )
