import itertools
import math

import numpy as np
import polars as pl
import pytest
from scipy import stats
from scipy.stats import norm

from quant_core.validation import (
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    probability_of_backtest_overfitting,
)


def test_expected_max_sharpe_formula_and_monte_carlo():
    gamma = 0.5772156649015329
    n, v = 100, 0.04
    by_hand = math.sqrt(v) * ((1 - gamma) * norm.ppf(1 - 1 / n) + gamma * norm.ppf(1 - 1 / (n * math.e)))
    assert expected_max_sharpe(n, v) == pytest.approx(by_hand, rel=1e-14)
    # The approximation is within 2% of the simulated mean maximum of N normals (20,000 draws).
    draws = np.random.default_rng(0).standard_normal((20_000, n)) * math.sqrt(v)
    assert expected_max_sharpe(n, v) == pytest.approx(draws.max(axis=1).mean(), rel=0.02)
    assert expected_max_sharpe(1, v) == 0.0
    with pytest.raises(ValueError, match="0"):
        expected_max_sharpe(0, v)


def test_deflated_sharpe_by_hand_with_scipy_norm():
    rng = np.random.default_rng(1)
    r = 0.0008 + 0.01 * rng.standard_t(5, 750)  # fat tails
    trials = rng.normal(0.0, 0.03, 60)
    out = deflated_sharpe_ratio(r, trial_sharpes=trials)
    sr = r.mean() / r.std(ddof=1)
    g3, g4 = stats.skew(r), stats.kurtosis(r, fisher=False)
    v = trials.var(ddof=1)
    sr0 = math.sqrt(v) * ((1 - np.euler_gamma) * norm.ppf(1 - 1 / 60)
                          + np.euler_gamma * norm.ppf(1 - 1 / (60 * math.e)))
    dsr = norm.cdf((sr - sr0) * math.sqrt(750 - 1) / math.sqrt(1 - g3 * sr + (g4 - 1) / 4 * sr**2))
    psr = norm.cdf(sr * math.sqrt(749) / math.sqrt(1 - g3 * sr + (g4 - 1) / 4 * sr**2))
    assert out.sharpe == pytest.approx(sr, rel=1e-12)
    assert out.sharpe_benchmark == pytest.approx(sr0, rel=1e-12)
    assert out.dsr == pytest.approx(dsr, rel=1e-10)
    assert out.psr == pytest.approx(psr, rel=1e-10)
    assert (out.n_trials, out.n_obs) == (60, 750)
    assert out.kurtosis > 3.5  # t(5) returns: the fat tails widen the Sharpe's error
    same = deflated_sharpe_ratio(r, n_trials=60, sr_variance=v)
    assert same.dsr == pytest.approx(out.dsr, rel=1e-12)
    # More trials, higher bar, lower probability; a single trial is the plain PSR.
    assert deflated_sharpe_ratio(r, n_trials=1000, sr_variance=v).dsr < out.dsr < out.psr
    assert deflated_sharpe_ratio(r, n_trials=1, sr_variance=v).dsr == pytest.approx(out.psr)
    with pytest.raises(ValueError, match="trial_sharpes"):
        deflated_sharpe_ratio(r)


def test_psr_of_normal_returns_is_the_plain_z_test():
    assert probabilistic_sharpe_ratio(0.0, 100) == 0.5
    # skew 0, kurtosis 3: denominator 1 + SR^2 / 2
    assert probabilistic_sharpe_ratio(0.1, 101) == pytest.approx(
        norm.cdf(0.1 * 10 / math.sqrt(1 + 0.005)), rel=1e-12
    )


def _pbo_brute_force(m, n_splits):
    """Bailey et al.'s CSCV written as a plain loop over the C(S, S/2) splits."""
    blocks = np.array_split(np.arange(m.shape[0]), n_splits)
    logits = []
    for combo in itertools.combinations(range(n_splits), n_splits // 2):
        is_rows = np.concatenate([blocks[b] for b in combo])
        oos_rows = np.concatenate([blocks[b] for b in range(n_splits) if b not in combo])
        sharpe_is = m[is_rows].mean(0) / m[is_rows].std(0, ddof=1)
        sharpe_oos = m[oos_rows].mean(0) / m[oos_rows].std(0, ddof=1)
        best = int(np.argmax(sharpe_is))
        w = stats.rankdata(sharpe_oos)[best] / (m.shape[1] + 1)
        logits.append(math.log(w / (1 - w)))
    logits = np.array(logits)
    return float(np.mean(logits <= 0)), logits


def test_pbo_equals_brute_force_cscv():
    rng = np.random.default_rng(2)
    m = rng.standard_normal((123, 12)) * 0.01 + np.linspace(0, 0.002, 12)
    out = probability_of_backtest_overfitting(m, n_splits=6)
    pbo, logits = _pbo_brute_force(m, 6)
    assert out.n_combinations == 20 and out.n_configs == 12 and out.n_obs == 123
    np.testing.assert_allclose(out.logits, logits, rtol=1e-12)
    assert out.pbo == pbo
    # A polars frame with a date column gives the same answer.
    frame = pl.DataFrame({f"c{j}": m[:, j] for j in range(12)}).with_row_index("date")
    assert probability_of_backtest_overfitting(frame.drop("date"), n_splits=6).pbo == pbo


def test_pbo_is_about_half_for_noise_and_near_zero_for_a_dominant_config():
    """All-noise configurations: the in-sample winner is a random draw out of sample, so PBO
    averages 0.5 (20 seeds, 400 periods x 20 configs, S = 10; tolerance 0.1 for the spread of
    the mean of dependent splits). One config with a true edge: PBO < 0.05 for every seed."""
    noise, dominant = [], []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        m = rng.standard_normal((400, 20)) * 0.01
        noise.append(probability_of_backtest_overfitting(m, n_splits=10).pbo)
        m[:, 3] += 0.004
        res = probability_of_backtest_overfitting(m, n_splits=10)
        dominant.append(res.pbo)
        assert np.all(res.selected == 3)
    assert np.mean(noise) == pytest.approx(0.5, abs=0.1)
    assert max(dominant) < 0.05


def test_pbo_rejects_bad_designs():
    m = np.zeros((40, 3))
    with pytest.raises(ValueError, match="even"):
        probability_of_backtest_overfitting(m, n_splits=5)
    with pytest.raises(ValueError, match="2 configurations"):
        probability_of_backtest_overfitting(m[:, :1], n_splits=4)
    with pytest.raises(ValueError, match="periods"):
        probability_of_backtest_overfitting(m[:10], n_splits=16)
