import datetime as dt

import numpy as np
import polars as pl
import pytest

from quant_core.data.synthetic import SyntheticMarketConfig, simulate_market
from quant_core.ensemble import HMMRegimeDetector, ThresholdRegimeDetector, market_state

CONFIG = SyntheticMarketConfig(
    n_assets=40, n_days=500, p_stay_calm=0.97, p_stay_stressed=0.95, seed=4
)


@pytest.fixture(scope="module")
def market():
    return simulate_market(CONFIG)


def tiny_panel():
    closes = np.array([[10.0, 20.0], [11.0, 19.0], [12.1, 19.0], [11.0, 20.9], [11.0, 20.9]])
    dates = [dt.date(2022, 1, 3) + dt.timedelta(days=i) for i in range(5)]
    return pl.DataFrame(
        {
            "date": [d for d in dates for _ in range(2)],
            "asset": ["A", "B"] * 5,
            "close": closes.ravel(),
        }
    ), closes


def test_market_state_exact():
    panel, closes = tiny_panel()
    st = market_state(
        panel.sample(fraction=1.0, shuffle=True, seed=0), vol_window_days=2, trend_window_days=3
    )
    mret = (closes[1:] / closes[:-1] - 1).mean(axis=1)
    assert st["market_return"][0] is None
    np.testing.assert_allclose(st["market_return"].to_numpy()[1:], mret)
    vol = st["realised_vol"].to_numpy()
    assert np.isnan(vol[:2]).all()
    np.testing.assert_allclose(vol[2:], [np.std(mret[i - 1 : i + 1], ddof=1) for i in (1, 2, 3)])
    tr = st["trailing_return"].to_numpy()
    assert np.isnan(tr[:3]).all()
    np.testing.assert_allclose(tr[3:], [np.prod(1 + mret[i - 2 : i + 1]) - 1 for i in (2, 3)])
    with pytest.raises(ValueError, match="vol_window_days must be >= 2"):
        market_state(panel, vol_window_days=1)


def alter_after(panel, cut, seed=0):
    """Replace every close after ``cut`` by an unrelated random walk."""
    rng = np.random.default_rng(seed)
    noise = pl.Series(np.exp(rng.standard_normal(panel.height) * 0.3) * 50)
    return panel.with_columns(
        pl.when(pl.col("date") > cut).then(noise).otherwise(pl.col("close")).alias("close")
    )


def test_threshold_detector_is_fitted_on_training_dates_and_point_in_time(market):
    st = market_state(market.panel, vol_window_days=10, trend_window_days=40)
    cut = st["date"][299]
    det = ThresholdRegimeDetector(vol_quantile=0.6, trend_quantile=0.5).fit(st, cut)
    train_vol = st.filter(pl.col("date") <= cut)["realised_vol"].drop_nulls().to_numpy()
    assert det.vol_threshold_ == np.quantile(train_vol, 0.6)
    assert det.fit_dates_ == (st["date"][0], cut)
    out = det.predict(st)
    assert out.columns == ["date", "vol_state", "trend_state", "regime"]
    assert set(out["regime"].drop_nulls()) <= {
        "calm_up",
        "calm_down",
        "stressed_up",
        "stressed_down",
    }
    assert out["regime"][:39].null_count() == 39  # trend warm-up
    # data after the cut changes neither the thresholds nor any state up to the cut
    st2 = market_state(alter_after(market.panel, cut), vol_window_days=10, trend_window_days=40)
    det2 = ThresholdRegimeDetector(vol_quantile=0.6, trend_quantile=0.5).fit(st2, cut)
    assert (det2.vol_threshold_, det2.trend_threshold_) == (
        det.vol_threshold_,
        det.trend_threshold_,
    )
    assert det.predict(st2).filter(pl.col("date") <= cut).equals(out.filter(pl.col("date") <= cut))
    # the volatility rule catches most of the simulator's stressed days (seed 4: 84%) and
    # few calm ones (21%), although realised vol lags the switch by construction
    vol_only = ThresholdRegimeDetector(0.7).fit(st, cut).predict(st)
    j = vol_only.join(market.regimes.rename({"regime": "true"}), on="date").drop_nulls("regime")
    flagged = j["regime"] == "stressed"
    assert flagged.filter(j["true"] == "stressed").mean() > 0.75
    assert flagged.filter(j["true"] == "calm").mean() < 0.3


def test_hmm_detector_is_point_in_time_and_fitted_on_training_dates(market):
    st = market_state(market.panel)
    cut = st["date"][299]
    det = HMMRegimeDetector().fit(st, cut)
    out = det.predict(st)
    assert out.columns == ["date", "p_calm", "p_stressed", "regime"]
    np.testing.assert_allclose(out["p_calm"] + out["p_stressed"], 1.0, atol=1e-12)
    assert det.hmm_.variances_[0, 0] < det.hmm_.variances_[1, 0]  # state 0 is the calm one
    j = out.join(market.regimes.rename({"regime": "true"}), on="date")
    assert (j["regime"] == j["true"]).mean() > 0.8
    # refitting on data whose post-cut part is garbage gives the same model ...
    st2 = market_state(alter_after(market.panel, cut))
    det2 = HMMRegimeDetector().fit(st2, cut)
    np.testing.assert_array_equal(det2.hmm_.transmat_, det.hmm_.transmat_)
    np.testing.assert_array_equal(det2.hmm_.means_, det.hmm_.means_)
    # ... and the filtered state at every t <= cut, and at t = 400 vs data after 400, is unchanged
    assert det.predict(st2).filter(pl.col("date") <= cut).equals(out.filter(pl.col("date") <= cut))
    t400 = st["date"][400]
    st3 = market_state(alter_after(market.panel, t400, seed=1))
    assert (
        det.predict(st3).filter(pl.col("date") <= t400).equals(out.filter(pl.col("date") <= t400))
    )


def test_detector_errors(market):
    st = market_state(market.panel)
    with pytest.raises(RuntimeError, match="not fitted"):
        ThresholdRegimeDetector().predict(st)
    with pytest.raises(ValueError, match="vol_quantile"):
        ThresholdRegimeDetector(vol_quantile=1.5).fit(st)
    with pytest.raises(ValueError, match="no realised_vol"):
        ThresholdRegimeDetector().fit(st, st["date"][3])
    with pytest.raises(ValueError, match="missing columns"):
        HMMRegimeDetector(observations=("nope",)).fit(st)
    three = HMMRegimeDetector(n_states=3).fit(st).predict(st)
    assert set(three["regime"]) <= {"state_0", "state_1", "state_2"}
