"""Realised IC of live scores: is the production model still as good as its validation said?

A score published at the close of ``t`` can only be judged once its label window has closed,
``lag_days + horizon_days`` trading days later. As those labels arrive, the per-date Rank IC
of the live scores is compared with the model's out-of-sample validation Rank IC; a live mean
significantly below it (a one-sided Newey-West test, which respects the autocorrelation of
daily ICs) is *IC decay*, a reason to retrain.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import polars as pl

from quant_core.monitoring.promotion import one_sided_p
from quant_core.targets import forward_returns
from quant_core.validation.ic import ic_series
from quant_core.validation.significance import hac_t_stat, newey_west_lags

__all__ = ["ICDecay", "ic_decay", "realized_rank_ic"]


def realized_rank_ic(
    scores: pl.DataFrame,
    closes: pl.DataFrame,
    *,
    horizon_days: int = 1,
    lag_days: int = 1,
    score: str = "score",
    min_assets: int = 5,
) -> pl.DataFrame:
    """Per-date Rank IC of live scores against the returns that followed them.

    Parameters
    ----------
    scores
        ``date, asset, <score>``: what the model published at each date's close.
    closes
        ``date, asset, close`` over the live calendar (the dates that arrived). The label of a
        score dated ``t`` is ``close[t + lag + horizon] / close[t + lag] - 1`` counted in those
        dates, exactly the research target; scores whose window has not closed yet are skipped.
    horizon_days, lag_days
        The label the model was trained on.
    score
        Score column name.
    min_assets
        Dates with fewer labelled assets are skipped.

    Returns
    -------
    pl.DataFrame
        ``date, ic, n`` sorted by date (see :func:`quant_core.validation.ic_series`).
    """
    for name, frame, needed in (("scores", scores, ("date", "asset", score)),
                                ("closes", closes, ("date", "asset", "close"))):
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} is missing columns {missing}; has {frame.columns}")
    labels = forward_returns(closes.select(["date", "asset", "close"]).sort(["date", "asset"]),
                             horizon_days=horizon_days, lag_days=lag_days)
    joined = scores.select(["date", "asset", score]).join(
        labels.select(["date", "asset", "target"]), on=["date", "asset"], how="inner"
    )
    return ic_series(joined, score, "target", min_assets=min_assets)


@dataclass(frozen=True)
class ICDecay:
    """Live Rank IC against the validation Rank IC.

    Attributes
    ----------
    n_dates
        Labelled live dates.
    live_rank_ic, validation_rank_ic
        Mean live Rank IC; the out-of-sample Rank IC the model was validated with.
    ratio
        ``live_rank_ic / validation_rank_ic`` (NaN when the validation IC is 0).
    t_hac, p_value, hac_lags
        Newey-West t-stat of ``mean(live_ic - validation_rank_ic)`` and its one-sided p of
        "live is below validation" (same reference distribution as
        :func:`~quant_core.validation.hac_t_stat`).
    decayed
        ``n_dates >= min_dates`` and ``p_value < alpha``.
    reason
        One sentence for logs and run tags.
    """

    n_dates: int
    live_rank_ic: float
    validation_rank_ic: float
    ratio: float
    t_hac: float
    p_value: float
    hac_lags: int
    min_dates: int
    alpha: float
    decayed: bool
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


def ic_decay(
    live_ic,
    validation_rank_ic: float,
    *,
    horizon_days: int = 1,
    alpha: float = 0.05,
    min_dates: int = 10,
    hac_lags: int | None = None,
) -> ICDecay:
    """Test whether the live Rank IC has fallen below the validation Rank IC.

    The validation IC is treated as known: it rests on hundreds of out-of-sample dates, the
    live window on a few weeks, so the live noise dominates. With fewer than ``min_dates``
    labelled dates nothing is concluded (``decayed=False``).

    Parameters
    ----------
    live_ic
        The ``ic`` column of :func:`realized_rank_ic` (a frame, series or array).
    validation_rank_ic
        Mean out-of-sample Rank IC recorded when the model was validated.
    horizon_days
        Label horizon; overlapping labels make daily ICs autocorrelated (sets the HAC lags).
    alpha
        One-sided significance level.
    min_dates
        Fewest labelled live dates before a verdict.
    hac_lags
        Explicit Newey-West lags (default :func:`newey_west_lags`).
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if min_dates < 2:
        raise ValueError(f"min_dates must be >= 2, got {min_dates}")
    if isinstance(live_ic, pl.DataFrame):
        live_ic = live_ic["ic"]
    x = pl.Series(live_ic, dtype=pl.Float64).drop_nulls().drop_nans().to_numpy()
    n = int(x.size)
    lags = newey_west_lags(max(n, 1), horizon_days) if hac_lags is None else int(hac_lags)
    validation = float(validation_rank_ic)
    live = float(x.mean()) if n else math.nan
    ratio = live / validation if validation != 0 and n else math.nan
    if n >= 2:
        t_hac, p_two_sided = hac_t_stat(x - validation, lags)
        p_value = one_sided_p(t_hac, p_two_sided, upper=False)
    else:
        t_hac = p_value = math.nan
    if n < min_dates:
        decayed, reason = False, f"{n} labelled live dates (< {min_dates}): no verdict yet"
    elif p_value < alpha:
        decayed, reason = True, (f"live Rank IC {live:+.4f} below validation {validation:+.4f} "
                                 f"over {n} dates (HAC t = {t_hac:.2f}, one-sided p = {p_value:.4f})")
    else:
        decayed, reason = False, (f"live Rank IC {live:+.4f} vs validation {validation:+.4f} over "
                                  f"{n} dates: no significant decay (one-sided p = {p_value:.4f})")
    return ICDecay(n_dates=n, live_rank_ic=live, validation_rank_ic=validation, ratio=ratio,
                   t_hac=float(t_hac), p_value=p_value, hac_lags=lags, min_dates=min_dates,
                   alpha=alpha, decayed=decayed, reason=reason)
