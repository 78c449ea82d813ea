import math

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from scipy import stats

from quant_core.validation import (
    ICSummary,
    fixed_b_critical_value,
    fixed_b_df,
    fold_ic_table,
    hac_t_stat,
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
        "hac_df",
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
    normal = ic_summary(x, hac_lags=lags, n_boot=0, fixed_b=False)
    t_ref, p_ref = _statsmodels_hac(x, lags)
    assert normal.hac_lags == lags and math.isinf(normal.hac_df)
    assert normal.t_hac == pytest.approx(t_ref, rel=1e-10, abs=1e-10)
    assert normal.p_hac == pytest.approx(p_ref, rel=1e-10, abs=1e-12)
    # Default fixed-b p-value: same t, Student-t reference with the documented df.
    fixed = ic_summary(x, hac_lags=lags, n_boot=0)
    assert fixed.t_hac == normal.t_hac
    assert fixed.hac_df == fixed_b_df(400, lags)
    assert fixed.p_hac == pytest.approx(2 * stats.t.sf(abs(t_ref), fixed.hac_df), rel=1e-10)
    assert fixed.p_hac > normal.p_hac  # fatter tails, never more significant


def test_default_lags_and_statsmodels_with_default_lags():
    assert newey_west_lags(1000, 1) == 6  # floor(4 * 10 ** (2/9)) = 6: no overlap
    assert newey_west_lags(250, 5) == 15  # 3 x horizon dominates
    assert newey_west_lags(100, 10) == 30
    assert newey_west_lags(12, 5) == 11  # never more than n - 1
    x = _ar1(777, seed=7)
    s = ic_summary(x, horizon_days=5, n_boot=0, fixed_b=False)
    assert s.hac_lags == max(15, math.floor(4 * (777 / 100) ** (2 / 9)))
    t_ref, p_ref = _statsmodels_hac(x, s.hac_lags)
    assert s.t_hac == pytest.approx(t_ref, rel=1e-10)
    assert s.p_hac == pytest.approx(p_ref, rel=1e-10)


def test_fixed_b_reference_matches_kiefer_vogelsang_and_simulation():
    """The t(df) reference reproduces the Kiefer-Vogelsang (2005) 5% critical value, and that
    value matches a Monte Carlo of the Bartlett HAC t-stat on iid normal data (4,000 series of
    400 dates, 39 lags, b = 0.1; tolerance 0.08 covers the simulation error of a 95% quantile
    and the finite-n gap to the asymptotic value, which makes the test slightly conservative)."""
    assert fixed_b_critical_value(0.0) == pytest.approx(1.96)
    assert fixed_b_critical_value(0.1) == pytest.approx(1.96 + 0.29694 + 0.00416 - 0.0005324)
    for n, lags in [(200, 19), (1000, 15), (60, 30)]:
        df = fixed_b_df(n, lags)
        assert stats.t.ppf(0.975, df) == pytest.approx(fixed_b_critical_value((lags + 1) / n),
                                                       rel=1e-8)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4000, 400))
    t = np.abs([hac_t_stat(row, 39, fixed_b=False)[0] for row in x])
    assert np.quantile(t, 0.95) == pytest.approx(fixed_b_critical_value(0.1), abs=0.08)
    p_fixed = 2 * stats.t.sf(t, fixed_b_df(400, 39))
    p_normal = 2 * stats.norm.sf(t)
    assert np.mean(p_fixed < 0.05) == pytest.approx(0.05, abs=0.012)
    assert np.mean(p_normal < 0.05) > 0.065  # the normal reference over-rejects at b = 0.1


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
    independent cross-sectional covariances, so the IC series is MA(4) with mean zero.

    400 series (seed 2024) of 1,000 and of 250 dates. Tolerance: the HAC rejection rate at
    nominal 5% must lie in [0.02, 0.09] (the binomial s.e. of a 5% rate over 400 series is
    1.1 points; the band allows ~3.5 s.e. plus the kernel's small residual bias). The naive
    t-test must reject more than 20% (it rejects ~35%)."""
    h = 5
    for n_days in (1000, 250):
        rng = np.random.default_rng(2024)
        e = rng.standard_normal((400, n_days + h - 1)) * 0.01
        ics = sum(e[:, j : j + n_days] for j in range(h))
        summaries = [ic_summary(x, horizon_days=h, n_boot=0) for x in ics]
        rate_hac = np.mean([s.p_hac < 0.05 for s in summaries])
        rate_naive = np.mean([s.p_naive < 0.05 for s in summaries])
        assert 0.02 <= rate_hac <= 0.09, (n_days, rate_hac)
        assert rate_naive > 0.20, (n_days, rate_naive)


def test_hac_is_calibrated_on_simulated_panels_with_overlapping_targets():
    """End to end on panels: 300 independent markets of 250 dates x 25 assets with iid daily
    returns and a persistent null signal (AR(1) 0.9 per asset, independent of returns); the
    target is the 5-day forward return (overlapping). Per-date Rank IC from ic_series, then
    ic_summary. Seed 7. Tolerance: HAC rejection at 5% in [0.02, 0.09]; naive > 0.20."""
    rng = np.random.default_rng(7)
    n_rep, n_days, n_assets, h = 300, 250, 25, 5
    r = rng.standard_normal((n_rep, n_days + h + 1, n_assets)) * 0.02
    csum = np.concatenate([np.zeros((n_rep, 1, n_assets)), np.cumsum(r, axis=1)], axis=1)
    fwd = csum[:, 1 + h : n_days + 1 + h, :] - csum[:, 1 : n_days + 1, :]  # days t+1..t+h
    sig = np.empty((n_rep, n_days, n_assets))
    sig[:, 0] = rng.standard_normal((n_rep, n_assets))
    for t in range(1, n_days):
        sig[:, t] = 0.9 * sig[:, t - 1] + math.sqrt(1 - 0.81) * rng.standard_normal((n_rep, n_assets))
    # Replication k's dates are k * 10_000 + t days after an epoch: one frame, one ic_series call.
    day = (np.arange(n_rep)[:, None] * 10_000 + np.arange(n_days)[None, :]).repeat(n_assets)
    frame = pl.DataFrame(
        {
            "date": (np.datetime64("1900-01-01") + day.astype("timedelta64[D]")).ravel(),
            "asset": np.tile(np.arange(n_assets), n_rep * n_days),
            "sig": sig.ravel(),
            "target": fwd.ravel(),
        }
    ).with_columns(pl.col("date").cast(pl.Date))
    ic = ic_series(frame, "sig").get_column("ic").to_numpy().reshape(n_rep, n_days)
    summaries = [ic_summary(x, horizon_days=h, n_boot=0) for x in ic]
    rate_hac = np.mean([s.p_hac < 0.05 for s in summaries])
    rate_naive = np.mean([s.p_naive < 0.05 for s in summaries])
    assert 0.02 <= rate_hac <= 0.09, rate_hac
    assert rate_naive > 0.20, rate_naive


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
