import datetime as dt

import numpy as np
import polars as pl
import pytest
from scipy import stats

from quant_core.validation import (
    assign_quantiles,
    hac_t_stat,
    newey_west_lags,
    quantile_analysis,
    quantile_returns,
    quantile_turnover,
    rank_autocorrelation,
    rank_autocorrelation_series,
)


def _panel(n_days=50, n_assets=40, strength=0.3, seed=0, ragged=False, persistence=0.7):
    rng = np.random.default_rng(seed)
    s = np.empty((n_days, n_assets))
    s[0] = rng.standard_normal(n_assets)
    for t in range(1, n_days):
        s[t] = persistence * s[t - 1] + np.sqrt(1 - persistence**2) * rng.standard_normal(n_assets)
    y = strength * s * 0.01 + 0.01 * rng.standard_normal((n_days, n_assets))
    frame = pl.DataFrame(
        {
            "date": np.repeat(np.datetime64("2022-03-01") + np.arange(n_days), n_assets),
            "asset": np.tile([f"A{i:02d}" for i in range(n_assets)], n_days),
            "sig": s.ravel(),
            "target": y.ravel(),
        }
    ).with_columns(pl.col("date").cast(pl.Date))
    if ragged:  # each asset misses some dates
        frame = frame.filter((pl.int_range(pl.len()) * 7919) % 11 != 0)
    return frame


def _to_pandas(frame, value="sig"):
    pd = pytest.importorskip("pandas")
    df = frame.to_pandas()
    df["date"] = pd.to_datetime(df["date"])
    return df.set_index(["date", "asset"])[value]


def test_quantiles_equal_pandas_qcut_per_date():
    pd = pytest.importorskip("pandas")
    frame = _panel(n_days=5, n_assets=40)
    ours = assign_quantiles(frame, "sig", 5).sort("date", "asset")
    ref = _to_pandas(frame).groupby(level="date").transform(
        lambda x: pd.qcut(x, 5, labels=False) + 1
    )
    np.testing.assert_array_equal(ours["quantile"].to_numpy(), ref.to_numpy())


def test_tied_values_share_a_bucket_and_quantile_returns_by_hand():
    d = dt.date(2024, 1, 2)
    frame = pl.DataFrame(
        {
            "date": [d] * 6,
            "asset": list("abcdef"),
            "sig": [1.0, 2.0, 2.0, 3.0, 4.0, None],
            "target": [0.01, 0.02, 0.04, -0.01, 0.05, 0.9],
        }
    )
    q = assign_quantiles(frame, "sig", n_quantiles=2)
    # ranks 1, 2.5, 2.5, 4, 5 of n = 5 -> floor((r - 1) * 2 / 5) + 1 = 1, 1, 1, 2, 2
    assert q["quantile"].to_list() == [1, 1, 1, 2, 2]
    r = quantile_returns(frame, "sig", n_quantiles=2)
    assert r["quantile"].to_list() == [1, 2]
    assert r["mean_return"].to_list() == pytest.approx([0.07 / 3, 0.02])
    assert r["n"].to_list() == [3, 2]
    with pytest.raises(ValueError, match="1"):
        assign_quantiles(frame, "sig", n_quantiles=1)


def test_quantile_analysis_spread_t_and_monotonicity():
    frame = _panel(n_days=120, n_assets=50, strength=0.5, seed=3)
    qa = quantile_analysis(frame, "sig", n_quantiles=5, horizon_days=3, autocorrelation_lags=(1, 2))
    per_date = quantile_returns(frame, "sig", n_quantiles=5)
    top = per_date.filter(pl.col("quantile") == 5).sort("date")["mean_return"].to_numpy()
    bottom = per_date.filter(pl.col("quantile") == 1).sort("date")["mean_return"].to_numpy()
    np.testing.assert_allclose(qa.spread["spread"].to_numpy(), top - bottom, atol=1e-15)
    lags = newey_west_lags(120, 3)
    assert qa.hac_lags == lags == 9
    t, p = hac_t_stat(top - bottom, lags)
    assert qa.spread_t_hac == t and qa.spread_p_hac == p and qa.spread_p_hac < 1e-4
    means = [per_date.filter(pl.col("quantile") == k)["mean_return"].mean() for k in range(1, 6)]
    assert qa.by_quantile["mean_return"].to_list() == pytest.approx(means, rel=1e-12)
    assert qa.monotonicity == pytest.approx(stats.spearmanr(range(1, 6), means)[0])
    assert qa.monotonicity == pytest.approx(1.0)
    assert qa.rank_autocorrelation["lag"].to_list() == [1, 2]
    assert set(qa.to_dict()) >= {"by_quantile", "spread_mean", "turnover_top", "monotonicity"}
    inverted = quantile_analysis(frame.with_columns(-pl.col("sig")), "sig")
    assert inverted.monotonicity == pytest.approx(-1.0) and inverted.spread_mean < 0


def test_turnover_equals_alphalens_quantile_turnover():
    performance = pytest.importorskip("alphalens.performance")
    frame = _panel(n_days=30, n_assets=40, seed=4, ragged=True)
    q = assign_quantiles(frame, "sig", 5)
    quantile_factor = _to_pandas(q, "quantile")
    for bucket in (1, 5):
        ours = quantile_turnover(frame, "sig", bucket, 5)
        theirs = performance.quantile_turnover(quantile_factor, bucket, period=1).dropna()
        assert ours.height == len(theirs) == 29
        np.testing.assert_allclose(ours["turnover"].to_numpy(), theirs.to_numpy(), atol=1e-15)


@pytest.mark.parametrize("lag", [1, 3])
def test_rank_autocorrelation_equals_alphalens(lag):
    performance = pytest.importorskip("alphalens.performance")
    frame = _panel(n_days=25, n_assets=30, seed=5, ragged=True, persistence=0.8)
    factor_data = _to_pandas(frame).rename("factor").to_frame()
    theirs = performance.factor_rank_autocorrelation(factor_data, period=lag).dropna()
    ours = rank_autocorrelation_series(frame, "sig", lag)
    assert ours.height == len(theirs) == 25 - lag
    np.testing.assert_allclose(ours["autocorrelation"].to_numpy(), theirs.to_numpy(), atol=1e-12)
    summary = rank_autocorrelation(frame, "sig", lags=[lag])
    assert summary["mean_autocorrelation"][0] == pytest.approx(theirs.mean(), rel=1e-12)


def test_rank_autocorrelation_of_an_ar1_signal():
    """A Gaussian AR(1) signal with coefficient 0.8 has Spearman autocorrelation
    (6 / pi) asin(0.8**lag / 2) at each lag; 200 assets x 80 dates, tolerance 0.04."""
    frame = _panel(n_days=80, n_assets=200, seed=6, persistence=0.8)
    out = rank_autocorrelation(frame, "sig", lags=[1, 3, 10])
    expected = [6 / np.pi * np.arcsin(0.8**k / 2) for k in (1, 3, 10)]
    assert out["mean_autocorrelation"].to_list() == pytest.approx(expected, abs=0.04)
    assert out["n_dates"].to_list() == [79, 77, 70]
