"""The backtest ledger against numbers worked out by hand, and its invariants."""

import datetime as dt

import numpy as np
import polars as pl
import pytest

from quant_core.portfolio.construction import weights_from_frame
from quant_core.portfolio.costs import CostModel
from quant_core.portfolio.ledger import SimulationSpec, simulate
from quant_core.portfolio.market import market_data

DAYS = [dt.date(2024, 1, d) for d in (2, 3, 4, 5)]


def _prices(volume: bool = False) -> pl.DataFrame:
    rows = {"date": DAYS * 2, "asset": ["A"] * 4 + ["B"] * 4,
            "close": [100.0, 110.0, 99.0, 99.0, 50.0, 50.0, 55.0, 44.0]}
    if volume:
        rows["volume"] = [1e4] * 8
    return pl.DataFrame(rows)


LINEAR = CostModel(half_spread_bps=10.0, commission_bps=5.0, impact_coef=0.0, borrow_bps_per_year=252.0)


def test_a_hand_worked_ledger_with_linear_costs():
    """Decide A +0.5 / B -0.5 at the close of day 0 with AUM 1,000; execute at the close of day 1.

    day 1: trades +500 A, -500 B; spread 10 bps of 1,000 = 1.0, commission 5 bps = 0.5,
           turnover 1,000 / 2,000 = 0.5; delay = 500 * (1 - 100/110) = 45.4545... (A rose 10%
           between decision and execution), B did not move.
    day 2: held +500 A, -500 B; returns -10% and +10%: gross = -50 - 50 = -100;
           borrow 252 bps a year = 1 bp a day on 500 short = 0.05; positions drift to +450, -550.
    day 3: A flat, B -20%: gross = 0 + 110 = 110; borrow on 550 short = 0.055.
    """
    market = market_data(_prices())
    weights = weights_from_frame(pl.DataFrame({"date": [DAYS[0]] * 2, "asset": ["A", "B"], "weight": [0.5, -0.5]}),
                                 market)
    ledger = simulate(market, weights, SimulationSpec(aum_usd=1000.0, lag_days=1, costs=LINEAR)).daily
    np.testing.assert_allclose(ledger["gross"].to_numpy(), [0.0, 0.0, -100.0, 110.0], atol=1e-12)
    np.testing.assert_allclose(ledger["spread"].to_numpy(), [0.0, 1.0, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(ledger["commission"].to_numpy(), [0.0, 0.5, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(ledger["borrow"].to_numpy(), [0.0, 0.0, 0.05, 0.055], atol=1e-12)
    np.testing.assert_allclose(ledger["impact"].to_numpy(), 0.0)
    np.testing.assert_allclose(ledger["net"].to_numpy(), [0.0, -1.5, -100.05, 109.945], atol=1e-12)
    np.testing.assert_allclose(ledger["turnover"].to_numpy(), [0.0, 0.5, 0.0, 0.0])
    np.testing.assert_allclose(ledger["delay"].to_numpy(), [0.0, 500 * (1 - 100 / 110), 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(ledger["long_usd"].to_numpy(), [0.0, 500.0, 450.0, 450.0])
    np.testing.assert_allclose(ledger["short_usd"].to_numpy(), [0.0, 500.0, 550.0, 440.0])


def test_a_second_decision_trades_from_the_drifted_book_and_a_missing_name_is_closed():
    """A second decision at day 2 holds only A (+0.5): B, absent, has target 0.

    At the close of day 3 the drifted book is +450 A (flat day) and -440 B (B fell 20%), so the
    trades are +50 A and +440 B: 490 traded, spread 0.49, commission 0.245; delay of B's buy:
    440 * (1 - 55/44) = -110 (the price fell between decision and execution: a gain).
    """
    market = market_data(_prices())
    frame = pl.DataFrame({"date": [DAYS[0], DAYS[0], DAYS[2]], "asset": ["A", "B", "A"], "weight": [0.5, -0.5, 0.5]})
    ledger = simulate(market, weights_from_frame(frame, market), SimulationSpec(aum_usd=1000.0, costs=LINEAR)).daily
    assert ledger["traded_usd"].to_list() == pytest.approx([0.0, 1000.0, 0.0, 490.0])
    assert ledger["spread"][3] == pytest.approx(0.49) and ledger["commission"][3] == pytest.approx(0.245)
    assert ledger["delay"][3] == pytest.approx(-110.0)
    assert ledger["gross"][3] == pytest.approx(110.0)  # earned on the book held over day 3, before the trade
    assert (ledger["long_usd"][3], ledger["short_usd"][3]) == pytest.approx((500.0, 0.0))


def test_lag_zero_executes_at_the_decision_close():
    market = market_data(_prices())
    weights = weights_from_frame(pl.DataFrame({"date": [DAYS[0]] * 2, "asset": ["A", "B"], "weight": [0.5, -0.5]}),
                                 market)
    ledger = simulate(market, weights, SimulationSpec(aum_usd=1000.0, lag_days=0, costs=LINEAR)).daily
    # bought at the close of day 0; day 1: +500 A (+10%), -500 B (flat) = 50; drift to +550, -500;
    # day 2: 550 * -10% - 500 * +10% = -105; drift to +495, -550; day 3: -550 * -20% = 110
    np.testing.assert_allclose(ledger["gross"].to_numpy(), [0.0, 50.0, -105.0, 110.0], atol=1e-12)
    assert ledger["traded_usd"][0] == 1000.0
    assert ledger["delay"].to_list() == [0.0] * 4


def test_partial_adjustment_trades_a_fixed_share_of_the_gap():
    market = market_data(_prices())
    weights = weights_from_frame(pl.DataFrame({"date": [DAYS[0]] * 2, "asset": ["A", "B"], "weight": [0.5, -0.5]}),
                                 market)
    ledger = simulate(market, weights, SimulationSpec(aum_usd=1000.0, adjustment_rate=0.25, costs=LINEAR)).daily
    assert ledger["traded_usd"][1] == pytest.approx(250.0)


def test_zero_costs_make_net_equal_gross():
    market = market_data(_prices(volume=True))
    weights = weights_from_frame(pl.DataFrame({"date": [DAYS[0]] * 2, "asset": ["A", "B"], "weight": [0.5, -0.5]}),
                                 market)
    ledger = simulate(market, weights, SimulationSpec(aum_usd=1e6, costs=CostModel().without_costs())).daily
    np.testing.assert_array_equal(ledger["net"].to_numpy(), ledger["gross"].to_numpy())


def _noisy_market(n_days: int = 60, n_assets: int = 6, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    dates = np.arange(np.datetime64("2024-01-01"), np.datetime64("2024-01-01") + n_days)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (n_days, n_assets)), axis=0))
    volume = rng.uniform(1e5, 2e5, (n_days, n_assets))
    return pl.DataFrame({"date": np.repeat(dates, n_assets), "asset": np.tile([f"S{i}" for i in range(n_assets)], n_days),
                         "close": close.ravel(), "volume": volume.ravel()}).with_columns(pl.col("date").cast(pl.Date))


def test_doubling_aum_multiplies_impact_by_two_to_the_one_and_a_half_when_no_cap_binds():
    prices = _noisy_market()
    market = market_data(prices)
    rng = np.random.default_rng(1)
    dates = sorted(prices["date"].unique().to_list())[25::5]
    frame = pl.DataFrame({"date": [d for d in dates for _ in range(6)], "asset": [f"S{i}" for i in range(6)] * len(dates),
                          "weight": rng.normal(0, 0.2, 6 * len(dates))})
    weights = weights_from_frame(frame, market)
    model = CostModel(max_participation=np.inf)
    one = simulate(market, weights, SimulationSpec(aum_usd=1e6, costs=model)).totals()
    two = simulate(market, weights, SimulationSpec(aum_usd=2e6, costs=model)).totals()
    assert one["impact"] > 0
    assert two["impact"] / one["impact"] == pytest.approx(2**1.5, rel=1e-12)
    assert two["spread"] / one["spread"] == pytest.approx(2.0, rel=1e-12)
    assert two["gross"] / one["gross"] == pytest.approx(2.0, rel=1e-12)


def test_the_participation_cap_cuts_trades_and_reports_the_rest_as_unfilled():
    prices = _noisy_market()
    market = market_data(prices)
    dates = sorted(prices["date"].unique().to_list())
    frame = pl.DataFrame({"date": [dates[30]] * 2, "asset": ["S0", "S1"], "weight": [0.5, -0.5]})
    spec = SimulationSpec(aum_usd=1e9, costs=CostModel(max_participation=0.1))
    ledger = simulate(market, weights_from_frame(frame, market), spec)
    adv = prices.filter(pl.col("date") < dates[31]).filter(pl.col("date") >= dates[11]).with_columns(
        (pl.col("close") * pl.col("volume")).alias("dv")).group_by("asset").agg(pl.col("dv").mean())
    cap = {r["asset"]: 0.1 * r["dv"] for r in adv.iter_rows(named=True)}
    trades = ledger.trades_usd[31]
    assert trades[0] == pytest.approx(cap["S0"]) and trades[1] == pytest.approx(-cap["S1"])
    assert ledger.daily["unfilled_usd"][31] == pytest.approx(1e9 - cap["S0"] - cap["S1"])


def test_a_price_panel_with_a_bad_close_is_refused_naming_the_column():
    from quant_core.data.contracts import DataContractError

    bad = _prices().with_columns(pl.when(pl.col("asset") == "B").then(-1.0).otherwise(pl.col("close")).alias("close"))
    with pytest.raises(DataContractError, match="close"):
        market_data(bad, "prices.parquet")
