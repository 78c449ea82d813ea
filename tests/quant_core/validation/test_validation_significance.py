import math

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from scipy import stats

from quant_core.validation import (
    ICSummary,
    fold_ic_table,
    ic_series,
    ic_summary,
    newey_west_lags,
)


def _ar1(n, phi=0.5, mean=0.01, sd=0.05, seed=0):
    rng = np.random.default_rng(seed)
    e = rng.standard_normal(n)
    x = np.empty(n)
    x[0] = e[0]
    for i in range(1, n):
        x[i] = phi * x[i - 1] + e[i]
    return mean + sd * x


def _statsmodels_hac(x, lags):
    res = sm.OLS(x, np.ones_like(x)).fit(
        cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True}
    )
    return res.tvalues[0], res.pvalues[0]


def test_fields_are_exactly_the_contract():
    s = ic_summary(_ar1(50), n_boot=10)
    assert isinstance(s, ICSummary)
    assert list(s.to_dict()) == [
        "mean",
        "std",
        "icir",
        "icir_annual",
        "hit_rate",
        "t_naive",
        "p_naive",
        "t_hac",
        "p_hac",
        "hac_lags",
        "ci_low",
        "ci_high",
        "n",
    ]
    with pytest.raises(AttributeError):
        s.mean = 1.0  # frozen


def test_naive_t_matches_scipy_ttest_1samp():
    x = _ar1(300, seed=1)
    s = ic_summary(x, n_boot=0)
    ref = stats.ttest_1samp(x, 0.0)
    assert s.t_naive == pytest.approx(ref.statistic, rel=1e-12)
    assert s.p_naive == pytest.approx(ref.pvalue, rel=1e-10)
    assert s.mean == pytest.approx(x.mean(), rel=1e-14)
    assert s.std == pytest.approx(x.std(ddof=1), rel=1e-14)
    assert s.icir == pytest.approx(x.mean() / x.std(ddof=1), rel=1e-14)
    assert s.icir_annual == pytest.approx(s.icir * math.sqrt(252), rel=1e-14)
    assert s.hit_rate == pytest.approx(np.mean(x > 0))
    assert ic_summary(x, horizon_days=5, n_boot=0).icir_annual == pytest.approx(
        s.icir * math.sqrt(252 / 5), rel=1e-14
    )


@pytest.mark.parametrize("lags", [0, 1, 4, 9, 25])
def test_hac_matches_statsmodels_exactly(lags):
    x = _ar1(400, phi=0.6, seed=lags)
    s = ic_summary(x, hac_lags=lags, n_boot=0)
    t_ref, p_ref = _statsmodels_hac(x, lags)
    assert s.hac_lags == lags
    assert s.t_hac == pytest.approx(t_ref, rel=1e-10, abs=1e-10)
    assert s.p_hac == pytest.approx(p_ref, rel=1e-10, abs=1e-12)


def test_default_lags_and_statsmodels_with_default_lags():
    assert newey_west_lags(1000, 1) == 6  # floor(4 * 10 ** (2/9)) = 6
    assert newey_west_lags(250, 5) == 4
    assert newey_west_lags(100, 10) == 9  # overlap dominates
    x = _ar1(777, seed=7)
    s = ic_summary(x, horizon_days=5, n_boot=0)
    assert s.hac_lags == max(4, math.floor(4 * (777 / 100) ** (2 / 9)))
    t_ref, p_ref = _statsmodels_hac(x, s.hac_lags)
    assert s.t_hac == pytest.approx(t_ref, rel=1e-10)
    assert s.p_hac == pytest.approx(p_ref, rel=1e-10)


def test_zero_lags_hac_equals_naive_t():
    x = _ar1(120, seed=2)
    s = ic_summary(x, hac_lags=0, n_boot=0)
    assert s.t_hac == pytest.approx(s.t_naive, rel=1e-12)


def test_accepts_array_series_and_ic_frame(make_oof):
    ic = ic_series(make_oof(n_days=60), "prediction")
    a = ic_summary(ic, n_boot=50)
    b = ic_summary(ic["ic"], n_boot=50)
    c = ic_summary(ic["ic"].to_numpy(), n_boot=50)
    assert a == b == c
    with_nan = np.append(ic["ic"].to_numpy(), [np.nan, np.inf])
    assert ic_summary(with_nan, n_boot=50) == a


def test_degenerate_inputs_do_not_raise():
    empty = ic_summary(np.array([]), n_boot=10)
    assert empty.n == 0 and math.isnan(empty.mean)
    one = ic_summary(np.array([0.1]), n_boot=10)
    assert one.n == 1 and math.isnan(one.t_hac) and math.isnan(one.ci_low)
    with pytest.raises(ValueError, match="-1"):
        ic_summary(np.ones(10), hac_lags=-1)


def test_bootstrap_ci_covers_mean_and_is_seeded():
    x = _ar1(500, phi=0.5, seed=4)
    s1 = ic_summary(x, horizon_days=5, seed=11)
    s2 = ic_summary(x, horizon_days=5, seed=11)
    s3 = ic_summary(x, horizon_days=5, seed=12)
    assert (s1.ci_low, s1.ci_high) == (s2.ci_low, s2.ci_high)
    assert (s1.ci_low, s1.ci_high) != (s3.ci_low, s3.ci_high)
    assert s1.ci_low < s1.mean < s1.ci_high
    # Width agrees with the HAC standard error to within a loose factor.
    hac_se = s1.mean / s1.t_hac
    assert 0.6 < (s1.ci_high - s1.ci_low) / (2 * 1.96 * hac_se) < 1.6
    # Blocks keep autocorrelation: wider than an iid bootstrap (block length 1).
    iid = ic_summary(x, block_days=1, seed=11)
    assert (iid.ci_high - iid.ci_low) < (s1.ci_high - s1.ci_low)


def test_hac_is_calibrated_on_overlapping_null_ics_naive_is_not():
    """Null signal, 5-day overlapping targets: each daily IC is the sum of 5 daily
    independent cross-sectional covariances, so the IC series is MA(4) with mean zero."""
    rng = np.random.default_rng(2024)
    n_series, n_days, h = 400, 1000, 5
    e = rng.standard_normal((n_series, n_days + h - 1)) * 0.01
    ics = sum(e[:, j : j + n_days] for j in range(h))
    rej_hac = rej_naive = 0
    for x in ics:
        s = ic_summary(x, horizon_days=h, n_boot=0)
        rej_hac += s.p_hac < 0.05
        rej_naive += s.p_naive < 0.05
    rate_hac, rate_naive = rej_hac / n_series, rej_naive / n_series
    # Bartlett-kernel HAC with h-1..6 lags under-weights the MA(4) long-run variance a
    # little (~9% size at nominal 5%); the naive test rejects ~38% of the time.
    assert rate_hac < 0.12, rate_hac
    assert rate_naive > 0.25, rate_naive
    assert rate_naive > 2.5 * rate_hac


def test_fold_ic_table_matches_per_fold_summaries(make_oof):
    oof = make_oof(n_days=90, n_assets=30, n_folds=3, strength=0.15)
    table = fold_ic_table(oof, horizon_days=2)
    assert table["fold"].to_list() == ["0", "1", "2", "overall"]
    assert table.columns == [
        "fold",
        "start",
        "end",
        "n_dates",
        "ic_mean",
        "rank_ic_mean",
        "rank_ic_std",
        "rank_icir",
        "hit_rate",
        "t_hac",
        "p_hac",
    ]
    for k in range(3):
        part = oof.filter(pl.col("fold") == k)
        r = ic_series(part, "prediction")
        s = ic_summary(r, horizon_days=2, n_boot=0)
        row = table.row(k, named=True)
        assert row["n_dates"] == s.n == 30
        assert row["rank_ic_mean"] == pytest.approx(s.mean, rel=1e-12)
        assert row["t_hac"] == pytest.approx(s.t_hac, rel=1e-12)
        assert row["ic_mean"] == pytest.approx(
            ic_series(part, "prediction", method="pearson")["ic"].mean(), rel=1e-12
        )
        assert row["start"] == r["date"].min() and row["end"] == r["date"].max()
    overall = table.row(3, named=True)
    full = ic_summary(ic_series(oof, "prediction"), horizon_days=2, n_boot=0)
    assert overall["n_dates"] == 90
    assert overall["rank_ic_mean"] == pytest.approx(full.mean, rel=1e-12)
    assert overall["p_hac"] == pytest.approx(full.p_hac, rel=1e-10)
    assert overall["p_hac"] < 0.001  # strength 0.15 over 90 x 30 is clearly there
