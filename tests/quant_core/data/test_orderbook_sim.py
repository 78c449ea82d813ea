"""The order-book simulator: a valid book whose OFI moves the mid with the planted slope."""

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm

from quant_core.data.orderbook_sim import OrderBookSimConfig, planted_slope, simulate_orderbook

CFG = OrderBookSimConfig(n_events=20_000, seed=3)


@pytest.fixture(scope="module")
def sim():
    return simulate_orderbook(CFG)


def test_book_has_the_canonical_layout_and_passes_the_contract(sim):
    from quant_core.data.orderbook_io import check_orderbook, orderbook_columns

    book = sim.book
    assert book.columns == orderbook_columns(10)
    assert (
        book.schema["timestamp"] == pl.Datetime("ms", "UTC") and book.schema["asset"] == pl.String
    )
    report = check_orderbook(book)
    assert (report.n_rows, report.n_assets, report.levels) == (20_000, 1, 10)
    prices = book.select(pl.col("^.*_px_.*$")).to_numpy()
    np.testing.assert_allclose(prices / CFG.tick_size, np.round(prices / CFG.tick_size), atol=1e-6)
    mid = (book["ask_px_1"] + book["bid_px_1"]) / 2
    np.testing.assert_allclose(mid.to_numpy(), sim.truth["mid"].to_numpy(), atol=1e-9)
    assert sim.truth["mid"][0] == CFG.start_price
    sizes = book.select(pl.col("^.*_sz_.*$")).to_numpy()
    assert sizes.min() >= 1 and np.all(sizes == np.round(sizes))


def test_mid_change_on_ofi_has_the_planted_slope(sim):
    mid, ofi = sim.truth["mid"].to_numpy(), sim.truth["ofi"].to_numpy()
    assert sim.params["beta_price"] == pytest.approx(planted_slope(CFG, 1)) == 0.005
    for h in (1, 10):
        fit = sm.OLS(mid[h:] - mid[:-h], sm.add_constant(ofi[:-h])).fit(
            cov_type="HAC", cov_kwds={"maxlags": h}
        )
        slope, se = fit.params[1], fit.bse[1]
        planted = planted_slope(CFG, h)
        assert abs(slope - planted) < 4 * se, (h, slope, planted, se)
        assert abs(slope - planted) < 0.1 * planted
    # the planted part is the truth frame's expected next change
    np.testing.assert_allclose(sim.truth["expected_mid_change"].to_numpy(), 0.005 * ofi)


def test_ofi_is_a_unit_ar1_and_the_book_shows_it(sim):
    ofi = sim.truth["ofi"].to_numpy()
    ar = sm.OLS(ofi[1:], sm.add_constant(ofi[:-1])).fit()
    assert abs(ar.params[1] - CFG.ofi_persistence) < 4 * ar.bse[1]
    assert ofi.var() == pytest.approx(1.0, abs=0.1)
    book = sim.book
    for k in (1, 3):
        tilt = np.log(book[f"bid_sz_{k}"] / book[f"ask_sz_{k}"]).to_numpy()
        slope = sm.OLS(tilt, sm.add_constant(ofi)).fit().params[1]
        expected = 2 * CFG.imbalance_loading * CFG.imbalance_decay ** (k - 1)
        assert slope == pytest.approx(expected, rel=0.05), k


def test_seeded_and_assets_are_independent_books():
    cfg = OrderBookSimConfig(n_events=500, n_assets=3, levels=5, seed=11)
    a, b = simulate_orderbook(cfg), simulate_orderbook(cfg)
    assert a.book.equals(b.book) and a.truth.equals(b.truth)
    other = simulate_orderbook(OrderBookSimConfig(n_events=500, n_assets=3, levels=5, seed=12))
    assert not other.book.equals(a.book)
    assert a.book.height == 1500 and a.book["asset"].unique().sort().to_list() == [
        "LOB0",
        "LOB1",
        "LOB2",
    ]
    assert "bid_px_5" in a.book.columns and "bid_px_6" not in a.book.columns
    steps = a.book.select(pl.col("timestamp").diff().over("asset").dt.total_milliseconds())
    assert steps.to_series().drop_nulls().min() >= 1
    # independent draws: OFI paths uncorrelated across assets (about 260 effective samples each)
    long = simulate_orderbook(OrderBookSimConfig(n_events=5000, n_assets=3, levels=1, seed=11))
    ofi = long.truth.pivot(on="asset", index="event", values="ofi").drop("event").to_numpy()
    assert np.abs(np.corrcoef(ofi.T)[np.triu_indices(3, 1)]).max() < 0.25


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"ofi_persistence": 1.0}, r"ofi_persistence must be in \[0, 1\), got 1.0"),
        ({"n_events": 1}, "n_events must be >= 2, got 1"),
        ({"start_price": 100.005}, "start_price must be a positive whole number of ticks"),
        ({"levels": 0}, "levels must be >= 1, got 0"),
    ],
)
def test_config_errors_name_the_bad_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        OrderBookSimConfig(**kwargs)
