import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from statsmodels.stats.diagnostic import acorr_ljungbox, het_breuschpagan, het_white

from quant_core.validation import heteroskedasticity_tests, ljung_box, signal_regression


def _ma4(n, seed):
    rng = np.random.default_rng(seed)
    e = rng.standard_normal(n + 4)
    return sum(e[j : j + n] for j in range(5))


@pytest.mark.parametrize("lags", [10, [1, 5, 21]])
def test_ljung_box_equals_statsmodels(lags):
    x = _ma4(300, seed=1)
    ours = ljung_box(x, lags)
    ref = acorr_ljungbox(x, lags=lags, return_df=True)
    np.testing.assert_array_equal(ours["lag"].to_numpy(), ref.index.to_numpy())
    np.testing.assert_allclose(ours["q_stat"].to_numpy(), ref["lb_stat"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours["p_value"].to_numpy(), ref["lb_pvalue"].to_numpy(),
                               rtol=1e-9, atol=1e-300)
    assert ours["p_value"][0] < 1e-10  # an overlapping-target IC series is autocorrelated
    white = ljung_box(np.random.default_rng(2).standard_normal(300), 10)
    assert white["p_value"][-1] > 0.05
    with pytest.raises(ValueError, match="lags"):
        ljung_box(x, 300)


def _panel(heteroskedastic: bool, seed=0, n_days=30, n_assets=50):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_days, n_assets))
    scale = np.exp(0.6 * x) if heteroskedastic else np.ones_like(x)
    market = rng.standard_normal((n_days, 1))  # a common move each date
    y = 0.1 * x + scale * rng.standard_normal((n_days, n_assets)) + market
    return pl.DataFrame(
        {
            "date": np.repeat(np.arange(n_days), n_assets),
            "asset": np.tile(np.arange(n_assets), n_days),
            "sig": x.ravel(),
            "target": y.ravel(),
        }
    )


@pytest.mark.parametrize("demean", [True, False])
def test_regression_and_het_tests_equal_statsmodels(demean):
    frame = _panel(heteroskedastic=True, seed=3)
    if demean:
        work = frame.with_columns(
            (pl.col("sig") - pl.col("sig").mean().over("date")),
            (pl.col("target") - pl.col("target").mean().over("date")),
        )
    else:
        work = frame
    exog = sm.add_constant(work["sig"].to_numpy())
    fit = sm.OLS(work["target"].to_numpy(), exog).fit()
    out = heteroskedasticity_tests(frame, "sig", demean_by_date=demean)
    reg = out["regression"]
    assert reg["slope"] == pytest.approx(fit.params[1], rel=1e-10)
    assert reg["t_slope"] == pytest.approx(fit.tvalues[1], rel=1e-10)
    assert reg["r_squared"] == pytest.approx(fit.rsquared, rel=1e-10)
    assert reg == signal_regression(frame, "sig", demean_by_date=demean)
    for name, ref in (("breusch_pagan", het_breuschpagan(fit.resid, exog)),
                      ("white", het_white(fit.resid, exog))):
        got = out[name]
        assert got["lm"] == pytest.approx(ref[0], rel=1e-9)
        assert got["lm_p"] == pytest.approx(ref[1], rel=1e-8, abs=1e-300)
        assert got["f"] == pytest.approx(ref[2], rel=1e-9)
        assert got["f_p"] == pytest.approx(ref[3], rel=1e-8, abs=1e-300)


def test_het_tests_detect_heteroskedasticity_only_when_present():
    het = heteroskedasticity_tests(_panel(heteroskedastic=True, seed=4), "sig")
    homo = heteroskedasticity_tests(_panel(heteroskedastic=False, seed=4), "sig")
    assert het["breusch_pagan"]["lm_p"] < 1e-6 and het["white"]["lm_p"] < 1e-6
    assert homo["breusch_pagan"]["lm_p"] > 0.05 and homo["white"]["lm_p"] > 0.05
    assert homo["white"]["df"] == 2 and homo["breusch_pagan"]["df"] == 1
