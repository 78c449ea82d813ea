import datetime as dt

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from statsmodels.stats.diagnostic import breaks_cusumolsresid

from quant_core.validation import andrews_sup_wald_pvalue, chow_test, cusum_test, sup_wald_test
from quant_core.validation.breaks import _sup_wald_null


def _frame(x):
    dates = [dt.date(2020, 1, 1) + dt.timedelta(days=i) for i in range(len(x))]
    return pl.DataFrame({"date": dates, "ic": x})


def _ma4(n, seed, mean=0.0):
    rng = np.random.default_rng(seed)
    e = rng.standard_normal(n + 4) * 0.02
    return mean + sum(e[j : j + n] for j in range(5))


@pytest.mark.parametrize("lags", [0, 3, 15])
def test_chow_equals_statsmodels_hac_wald_of_a_mean_shift(lags):
    x = _ma4(300, seed=lags)
    x[170:] += 0.01
    for k in (40, 170, 260):
        dummy = (np.arange(300) >= k).astype(float)
        ref = sm.OLS(x, np.column_stack([np.ones(300), dummy])).fit(
            cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True}
        )
        out = chow_test(x, k, hac_lags=lags)
        assert out.statistic == pytest.approx(ref.tvalues[1] ** 2, rel=1e-10)
        assert out.p_value == pytest.approx(ref.pvalues[1], rel=1e-9)
        assert out.mean_after - out.mean_before == pytest.approx(ref.params[1], rel=1e-10)
    by_date = chow_test(_frame(x), dt.date(2020, 1, 1) + dt.timedelta(days=170), hac_lags=lags)
    assert by_date.statistic == chow_test(x, 170, hac_lags=lags).statistic
    assert by_date.break_date == dt.date(2020, 6, 19)
    with pytest.raises(ValueError, match="each side"):
        chow_test(x, 299)


def test_cusum_with_zero_lags_equals_statsmodels():
    x = _ma4(250, seed=3, mean=0.01)
    x[150:] -= 0.02
    out = cusum_test(x, hac_lags=0)
    stat, p, _ = breaks_cusumolsresid(x - x.mean(), ddof=1)
    assert out.statistic == pytest.approx(stat, rel=1e-12)
    assert out.p_value == pytest.approx(p, rel=1e-10)
    assert out.p_value < 0.05
    # HAC scaling (default lags for 5-day targets) widens the band: a larger p-value.
    assert cusum_test(x, horizon_days=5).p_value > out.p_value


def test_simulated_andrews_distribution_matches_published_critical_values():
    """Andrews (1993/2003) sup-Wald critical values for one restriction with 15% trimming,
    as tabulated in Stock & Watson's QLR table: 7.12 (10%) and 8.68 (5%). Tolerance 0.25
    covers the Monte Carlo error of 10,000 draws and the 1,000-point grid."""
    null = _sup_wald_null(0.15)
    assert np.quantile(null, 0.90) == pytest.approx(7.12, abs=0.25)
    assert np.quantile(null, 0.95) == pytest.approx(8.68, abs=0.25)
    assert andrews_sup_wald_pvalue(8.68) == pytest.approx(0.05, abs=0.006)
    assert andrews_sup_wald_pvalue(0.5) > 0.99


def test_sup_wald_finds_a_planted_break_and_not_a_fake_one():
    x = _ma4(600, seed=11, mean=0.0)
    x[:360] += 0.04  # the signal stopped working at position 360
    out = sup_wald_test(_frame(x), horizon_days=5)
    assert out.p_value < 0.01
    assert abs((out.break_date - dt.date(2020, 1, 1)).days - 360) <= 20
    assert out.mean_before > 0.03 and abs(out.mean_after) < 0.01
    null = sup_wald_test(_frame(_ma4(600, seed=12, mean=0.02)), horizon_days=5)
    assert null.p_value > 0.05


def test_sup_wald_size_on_overlapping_null_ic_series():
    """200 MA(4) null series of 400 dates (seed 100+i), default 5-day lags: rejection at 5%
    in [0.01, 0.10] (binomial s.e. 1.5 points around 5%, plus HAC small-sample bias)."""
    rejections = [sup_wald_test(_ma4(400, seed=100 + i), horizon_days=5).p_value < 0.05
                  for i in range(200)]
    assert 0.01 <= np.mean(rejections) <= 0.10


def test_sup_wald_statistic_by_hand_with_statsmodels_long_run_variance():
    """sup over k of (m2 - m1)^2 / (lrv (1/k + 1/(n-k))) with lrv = n * the statsmodels HAC
    variance of the mean (intercept-only OLS, Bartlett, use_correction)."""
    x = _ma4(200, seed=21, mean=0.01)
    x[120:] += 0.01
    lags = 7
    var_mean = sm.OLS(x, np.ones(200)).fit(
        cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True}
    ).cov_params()[0, 0]
    lrv = 200 * var_mean
    stats_by_k = {k: (x[k:].mean() - x[:k].mean()) ** 2 / (lrv * (1 / k + 1 / (200 - k)))
                  for k in range(30, 171)}
    best = max(stats_by_k, key=stats_by_k.get)
    out = sup_wald_test(_frame(x), hac_lags=lags)
    assert out.statistic == pytest.approx(stats_by_k[best], rel=1e-10)
    assert out.break_date == dt.date(2020, 1, 1) + dt.timedelta(days=best)
    assert out.p_value == andrews_sup_wald_pvalue(out.statistic)
