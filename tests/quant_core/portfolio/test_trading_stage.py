"""The trading stage: ensemble netting's two known answers, and a planted signal's capacity."""

import numpy as np
import polars as pl
import pytest

from quant_core.data.synthetic import SyntheticMarketConfig, simulate_market
from quant_core.stages.trading import TradingSpec, backtest_book, ensemble_netting, research_market


@pytest.fixture(scope="module")
def panel():
    return simulate_market(SyntheticMarketConfig(n_assets=50, n_days=300, seed=9)).panel


def _signal(panel, expr):
    return panel.select(["date", "asset", expr.alias("signal")]).drop_nulls()


def test_identical_members_save_nothing_and_opposite_members_save_everything(panel):
    market = research_market(panel)
    spec = TradingSpec(aum_usd=1e7)
    a = _signal(panel, pl.col("sig_fast"))
    same = ensemble_netting(market, {"a": a, "b": a}, {"a": 0.5, "b": 0.5}, spec)
    assert same["saved_usd"] == pytest.approx(0.0, abs=1e-6 * same["separate_costs_usd"])
    opposite = _signal(panel, -pl.col("sig_fast"))
    cross = ensemble_netting(market, {"a": a, "b": opposite}, {"a": 0.5, "b": 0.5}, spec)
    assert cross["combined_costs_usd"] == pytest.approx(0.0, abs=1e-6)
    assert cross["saved_share"] == pytest.approx(1.0)


def test_a_planted_signal_pays_at_small_aum_and_stops_paying_as_the_book_grows(panel):
    market = research_market(panel)
    result = backtest_book(market, _signal(panel, pl.col("sig_fast") + pl.col("sig_slow")), TradingSpec(aum_usd=1e7))
    curve = result.capacity
    assert curve["gross_pnl_usd"].to_numpy()[0] > 0
    net_sharpe = curve["net_sharpe"].to_numpy()
    assert net_sharpe[0] > 1 and net_sharpe[-1] < 0
    # costs grow faster than the edge until the participation cap starts cutting trades
    uncapped = curve.filter(pl.col("unfilled_usd") == 0)
    assert uncapped.height >= 3 and np.all(np.diff(uncapped["cost_share"].to_numpy()) > 0)
    assert curve["unfilled_usd"].to_numpy()[-1] > 0
    points = result.capacity_points
    assert 1e6 < points["half_sharpe_aum_usd"] < points["capacity_aum_usd"] < 1e10
