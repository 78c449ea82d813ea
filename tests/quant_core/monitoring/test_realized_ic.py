"""Realised IC of live scores (labels computed by hand) and the IC-decay test (statsmodels HAC)."""

import datetime as dt

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from scipy import stats

from quant_core.monitoring.realized_ic import ic_decay, realized_rank_ic
from quant_core.validation import hac_t_stat, newey_west_lags


@pytest.fixture(scope="module")
def live():
    rng = np.random.default_rng(1)
    n_days, n_assets = 15, 20
    dates = [dt.date(2024, 3, 4) + dt.timedelta(days=i) for i in range(n_days)]
    closes = 50 * np.exp(np.cumsum(0.02 * rng.standard_normal((n_days, n_assets)), axis=0))
    close_frame = pl.DataFrame({"date": np.repeat(np.array(dates, dtype="datetime64[D]"), n_assets),
                                "asset": np.tile([f"A{i}" for i in range(n_assets)], n_days),
                                "close": closes.ravel()}).with_columns(pl.col("date").cast(pl.Date))
    scores = close_frame.select("date", "asset").with_columns(
        pl.Series("score", rng.standard_normal(n_days * n_assets)))
    return dates, closes, close_frame, scores


@pytest.mark.parametrize(("horizon_days", "lag_days"), [(1, 1), (3, 0)])
def test_realized_rank_ic_equals_hand_computed_labels_and_scipy(live, horizon_days, lag_days):
    dates, closes, close_frame, scores = live
    out = realized_rank_ic(scores, close_frame, horizon_days=horizon_days, lag_days=lag_days)
    n_scored = len(dates) - lag_days - horizon_days  # later scores have no closed label window yet
    assert out["date"].to_list() == dates[:n_scored]
    score_matrix = scores["score"].to_numpy().reshape(len(dates), -1)
    for t in range(n_scored):
        label = closes[t + lag_days + horizon_days] / closes[t + lag_days] - 1.0
        expected = stats.spearmanr(score_matrix[t], label)[0]
        assert out["ic"][t] == pytest.approx(expected, abs=1e-12)
    assert out["n"].to_list() == [20] * n_scored


def test_realized_rank_ic_names_missing_columns(live):
    _, _, close_frame, scores = live
    with pytest.raises(ValueError, match=r"closes is missing columns \['close'\]"):
        realized_rank_ic(scores, close_frame.drop("close"))


def _hac(x, lags):
    fit = sm.OLS(x, np.ones(len(x))).fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True})
    return float(fit.tvalues[0])


def test_ic_decay_matches_statsmodels_and_flags_a_collapsed_signal():
    rng = np.random.default_rng(2)
    live_ic = -0.02 + 0.05 * rng.standard_normal(30)
    result = ic_decay(live_ic, 0.10, horizon_days=5)
    lags = newey_west_lags(30, 5)
    t = _hac(live_ic - 0.10, lags)
    assert result.hac_lags == lags >= 4  # at least the 5-day label overlap
    assert result.t_hac == pytest.approx(t, rel=1e-9)
    assert t < 0 and result.p_value == pytest.approx(hac_t_stat(live_ic - 0.10, lags)[1] / 2, rel=1e-12)
    assert result.p_value >= stats.norm.cdf(t) * (1 - 1e-9)
    assert result.live_rank_ic == pytest.approx(live_ic.mean())
    assert result.ratio == pytest.approx(live_ic.mean() / 0.10)
    assert result.decayed and "below validation" in result.reason


def test_ic_decay_stays_quiet_on_a_healthy_signal_and_on_too_few_dates():
    rng = np.random.default_rng(3)
    healthy = ic_decay(0.10 + 0.1 * rng.standard_normal(40), 0.10)
    assert not healthy.decayed and "no significant decay" in healthy.reason
    early = ic_decay(pl.DataFrame({"ic": [-0.5, -0.4, -0.6]}), 0.10, min_dates=10)
    assert early.n_dates == 3 and not early.decayed
    assert early.reason == "3 labelled live dates (< 10): no verdict yet"
    nothing = ic_decay(np.array([]), 0.1)
    assert nothing.n_dates == 0 and not nothing.decayed and np.isnan(nothing.live_rank_ic)


def test_ic_decay_validates_arguments():
    with pytest.raises(ValueError, match="alpha must be in \\(0, 1\\), got 0"):
        ic_decay([0.1, 0.2], 0.1, alpha=0)
    with pytest.raises(ValueError, match="min_dates must be >= 2, got 1"):
        ic_decay([0.1, 0.2], 0.1, min_dates=1)
