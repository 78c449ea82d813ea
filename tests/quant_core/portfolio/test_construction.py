"""Book construction: the constraints hold, the caps are hard, the scores are what they say."""

import datetime as dt

import numpy as np
import polars as pl
import pytest
from scipy import stats

from quant_core.data.synthetic import SyntheticMarketConfig, simulate_market
from quant_core.portfolio.construction import ConstructionSpec, build_weights, weights_from_frame
from quant_core.portfolio.market import market_data, trailing_beta


@pytest.fixture(scope="module")
def panel():
    return simulate_market(SyntheticMarketConfig(n_assets=60, n_days=320, seed=5)).panel


@pytest.fixture(scope="module")
def market(panel):
    return market_data(panel.select(["date", "asset", "close", "volume", "sector"]))


def _signal(panel, column="sig_fast"):
    return panel.select(["date", "asset", pl.col(column).alias("signal")]).drop_nulls()


def test_a_rank_book_is_dollar_neutral_at_the_gross_target_and_follows_scipy_ranks(panel, market):
    result = build_weights(_signal(panel), market, ConstructionSpec(max_weight=1.0))
    w = result.weights[result.decision]
    np.testing.assert_allclose(w.sum(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(np.abs(w).sum(axis=1), 1.0, rtol=1e-12)
    d = int(np.flatnonzero(result.decision)[100])
    row = market.grid.matrix(_signal(panel), "signal")[d]
    ok = np.isfinite(row)
    centred = stats.rankdata(row[ok]) - (ok.sum() + 1) / 2
    np.testing.assert_allclose(result.weights[d, ok], centred / np.abs(centred).sum(), rtol=1e-12)


def test_caps_are_hard_and_neutrality_survives_them(panel, market):
    spec = ConstructionSpec(max_weight=0.025, gross_leverage=1.0)
    result = build_weights(_signal(panel), market, spec)
    w = result.weights[result.decision]
    assert np.abs(w).max() <= 0.025 + 1e-15
    assert result.max_residual_exposure < 1e-3
    np.testing.assert_allclose(np.abs(w).sum(axis=1), 1.0, atol=0.02)


def test_beta_and_sector_neutral_books(panel, market):
    spec = ConstructionSpec(beta_neutral=True, sector_neutral=True, max_weight=1.0)
    result = build_weights(_signal(panel), market, spec)
    beta = np.nan_to_num(trailing_beta(market.returns, market.market_return(), 252))
    w = result.weights
    decided = result.decision & (np.abs(w).sum(axis=1) > 0)
    assert decided.sum() > 50  # once a year of returns gives betas
    np.testing.assert_allclose((w * beta).sum(axis=1)[decided], 0.0, atol=1e-10)
    for name in set(market.sector):
        in_sector = market.sector == name
        np.testing.assert_allclose(w[decided][:, in_sector].sum(axis=1), 0.0, atol=1e-10)


def test_quantile_books_hold_the_top_and_bottom_names_equally(panel, market):
    result = build_weights(_signal(panel), market, ConstructionSpec(quantile=0.2, max_weight=1.0))
    d = int(np.flatnonzero(result.decision)[50])
    w = result.weights[d]
    assert (w > 0).sum() == (w < 0).sum() == 12  # 20% of 60 names
    np.testing.assert_allclose(w[w > 0], 1 / 24)
    row = market.grid.matrix(_signal(panel), "signal")[d]
    assert row[w > 0].min() > row[w == 0].max() > row[w == 0].min() > row[w < 0].max()


def test_adv_caps_bind_at_large_aum(panel, market):
    spec = ConstructionSpec(max_weight=1.0, max_adv_fraction=0.01)
    small = build_weights(_signal(panel), market, spec, aum_usd=1e4)
    large = build_weights(_signal(panel), market, spec, aum_usd=1e10)
    adv = market.dollar_volume()
    d = int(np.flatnonzero(large.decision)[60])
    assert np.abs(large.weights[d] * 1e10).max() <= 0.01 * np.nanmax(adv) + 1e-6
    assert np.abs(small.weights[d]).sum() == pytest.approx(1.0)


def test_own_weights_decide_only_on_their_dates_and_missing_names_get_zero(market):
    dates = market.grid.dates
    frame = pl.DataFrame({"date": [dates[10].astype(dt.date)] * 2, "asset": market.grid.assets[:2].tolist(),
                          "weight": [0.3, -0.3]}).with_columns(pl.col("date").cast(pl.Date))
    result = weights_from_frame(frame, market)
    assert result.decision.sum() == 1 and result.decision[10]
    assert result.weights[10, 0] == 0.3 and result.weights[10, 2:].sum() == 0
