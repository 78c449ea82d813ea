"""The validation suite on the built-in synthetic market, whose truth is known.

Market: 150 assets x 500 business days, seed 7 (a small config so the module runs in a few
seconds). Planted: sig_fast (AR 0.5), sig_slow (0.95), sig_calm and sig_stress (0.8); noise:
noise_1..4 (AR 0.5..0.98, predictive of nothing).
"""

import math

import numpy as np
import polars as pl
import pytest

from quant_core.data.synthetic import SyntheticMarketConfig, simulate_market
from quant_core.targets import forward_returns
from quant_core.validation import fit_half_life, ic_by_regime, ic_decay, ic_series, ic_summary


@pytest.fixture(scope="module")
def market():
    return simulate_market(SyntheticMarketConfig(n_assets=150, n_days=500, seed=7))


def _frame(market, horizon_days):
    labels = forward_returns(market.panel, horizon_days=horizon_days)
    return market.panel.join(labels, on=["date", "asset"])


@pytest.mark.parametrize("horizon_days", [1, 5])
def test_planted_signals_are_significant_and_noise_is_not(market, horizon_days):
    """Every planted signal: HAC p < 0.001. Every noise feature: HAC p > 0.05 (true for this
    seed at both horizons; at 5% each noise test would fail 1 time in 20 on another seed)."""
    frame = _frame(market, horizon_days)
    for name in market.signal_names:
        s = ic_summary(ic_series(frame, name), horizon_days=horizon_days, n_boot=0)
        assert s.mean > 0.02 and s.p_hac < 0.001, (name, s)
    for name in market.noise_names:
        s = ic_summary(ic_series(frame, name), horizon_days=horizon_days, n_boot=0)
        assert s.p_hac > 0.05, (name, s)


def test_noise_rejection_rate_is_consistent_with_the_level():
    """Across 3 more seeds x 2 horizons x 4 noise features (24 null tests at 5%), at most 4
    rejections (expected 1.2; P(>= 5) = 0.007 for independent tests)."""
    rejections = 0
    for seed in (8, 9, 10):
        m = simulate_market(SyntheticMarketConfig(n_assets=100, n_days=400, seed=seed))
        for h in (1, 5):
            frame = _frame(m, h)
            for name in m.noise_names:
                s = ic_summary(ic_series(frame, name), horizon_days=h, n_boot=0)
                rejections += s.p_hac < 0.05
    assert rejections <= 4


def test_naive_test_is_fooled_by_a_persistent_noise_feature(market):
    """noise_4 (AR 0.98) with 5-day overlapping targets: on this seed the naive t-test calls it
    significant, the HAC test does not."""
    s = ic_summary(ic_series(_frame(market, 5), "noise_4"), horizon_days=5, n_boot=0)
    assert s.p_naive < 0.01 and s.p_hac > 0.05


def test_decay_half_lives_match_the_planted_persistence(market):
    """A latent with AR persistence phi predicts the return of the h-th day held with IC
    proportional to phi^(h-1), so the half-life is ln 2 / -ln(phi) days (1.0, 13.5, 3.1, 3.1).
    ic_decay with single-day returns at increasing lags; tolerance 30% (the per-horizon mean
    ICs are noisy and sig_calm / sig_stress also switch strength with the regime)."""
    fitted = {}
    for name in market.signal_names:
        phi = market.truth["signals"][name]["persistence"]
        planted = math.log(2) / -math.log(phi)
        horizons = sorted({max(1, round(planted * k / 4)) for k in range(1, 13)} | {1, 2, 3, 4, 5})
        table = ic_decay(market.panel, name, prices=market.panel, horizons=horizons)
        fit = fit_half_life(table["horizon"], table["ic_mean"])
        fitted[name] = fit.half_life
        assert fit.half_life == pytest.approx(planted, rel=0.3), (name, fit)
        assert fit.r_squared > 0.85
    assert fitted["sig_fast"] < fitted["sig_calm"] < fitted["sig_slow"]


def test_regime_signals_work_in_their_regime(market):
    """sig_calm is predictive mainly in calm markets, sig_stress mainly in stressed ones. The
    regime is taken on the label's return day (t + 2), as the simulator defines it."""
    frame = _frame(market, 1)
    shifted = market.regimes.with_columns(pl.col("regime").shift(-2)).drop_nulls()
    calm = ic_by_regime(ic_series(frame, "sig_calm"), shifted).sort("regime")
    stress = ic_by_regime(ic_series(frame, "sig_stress"), shifted).sort("regime")
    assert calm["regime"].to_list() == ["calm", "stressed"]
    assert calm["mean"][0] > 0.04 > calm["mean"][1]
    assert stress["mean"][1] > 0.05 > stress["mean"][0]
    assert np.isclose(calm["share"].sum(), 1.0)
