"""Holdings-based PnL attribution against empyrical, Bacon's Brinson-Fachler table, and its
identities on a synthetic market."""

import numpy as np
import pandas as pd
import polars as pl
import pytest

from quant_core.data.synthetic import SyntheticMarketConfig, simulate_market
from quant_core.portfolio.attribution import attribute_net, attribute_pnl, brinson
from quant_core.portfolio.factors import FactorModel, estimate_factor_model
from quant_core.portfolio.market import Grid, market_data

empyrical_perf_attrib = pytest.importorskip("empyrical.perf_attrib").perf_attrib


def _grid(n_dates: int, n_assets: int) -> Grid:
    dates = np.datetime64("2017-01-01") + np.arange(n_dates).astype("timedelta64[D]")
    return Grid(dates=dates, assets=np.array([f"stock{i + 1}" for i in range(n_assets)]))


def _model(loadings: np.ndarray, factor_returns: np.ndarray, groups: tuple[str, ...]) -> FactorModel:
    """A model from ``loadings`` (n_factors, n_dates, n_assets)."""
    names = tuple(f"risk_factor{k + 1}" for k in range(len(groups)))
    return FactorModel(names=names, groups=dict(zip(names, groups, strict=True)),
                       loadings={n: loadings[k] for k, n in enumerate(names)}, factor_returns=factor_returns)


def _empyrical(grid: Grid, held: np.ndarray, total: np.ndarray, model: FactorModel) -> pd.DataFrame:
    """empyrical's ``perf_attrib`` on the same inputs (aum 1, so dollars are weights)."""
    dts = pd.DatetimeIndex(grid.dates.astype("datetime64[ns]"), name="dt")
    index = pd.MultiIndex.from_product([dts, grid.assets], names=["dt", "ticker"])
    positions = pd.Series(held.ravel(), index=index)
    loadings = pd.DataFrame({n: model.loadings[n].ravel() for n in model.names}, index=index)
    factor_returns = pd.DataFrame(model.factor_returns, index=dts, columns=list(model.names))
    return empyrical_perf_attrib(pd.Series(total, index=dts), positions, factor_returns, loadings)[1]


# empyrical's own test_perf_attrib_simple: two days, two stocks, both loadings 0.25, both factor
# returns 0.1, total return 0.1 (returns chosen so that held . r = 0.1).
EMPYRICAL_CASES = [
    # positions, asset returns, expected per-factor, common, specific
    ((0.2857142857142857, 0.7142857142857143), (0.1, 0.1), 0.025, 0.05, 0.05),
    ((0.5, -0.5), (0.2, 0.0), 0.0, 0.0, 0.1),
    ((1.0, -0.5), (0.2, 0.2), 0.0125, 0.025, 0.075),
]


@pytest.mark.parametrize(("positions", "asset_returns", "per_factor", "common", "specific"), EMPYRICAL_CASES)
def test_empyrical_perf_attrib_simple_case(positions, asset_returns, per_factor, common, specific):
    grid = _grid(2, 2)
    held = np.tile(positions, (2, 1))
    returns = np.tile(asset_returns, (2, 1))
    model = _model(np.full((2, 2, 2), 0.25), np.full((2, 2), 0.1), ("style", "style"))
    result = attribute_pnl(grid, held, returns, model)
    daily = result.daily
    np.testing.assert_allclose(daily["total"].to_numpy(), [0.1, 0.1], atol=1e-15)
    for name in model.names:
        np.testing.assert_allclose(daily[name].to_numpy(), [per_factor] * 2, atol=1e-15)
    np.testing.assert_allclose(daily["style"].to_numpy(), [common] * 2, atol=1e-15)
    np.testing.assert_allclose(daily["specific"].to_numpy(), [specific] * 2, atol=1e-15)
    np.testing.assert_allclose(result.tilt_timing["style_tilt"].to_numpy(), [common] * 2, atol=1e-15)
    np.testing.assert_allclose(result.tilt_timing["style_timing"].to_numpy(), [0.0] * 2, atol=1e-15)
    theirs = _empyrical(grid, held, daily["total"].to_numpy(), model)
    np.testing.assert_allclose(daily["style"].to_numpy(), theirs["common_returns"].to_numpy(), atol=1e-12)
    np.testing.assert_allclose(daily["specific"].to_numpy(), theirs["specific_returns"].to_numpy(), atol=1e-12)


def test_matches_empyrical_on_random_books_with_tilt_and_timing():
    """Random positions, loadings and factor returns over 40 days: every factor's PnL, the
    common and specific parts, and the tilt/timing split equal empyrical's to 1e-12."""
    rng = np.random.default_rng(0)
    n_dates, n_assets = 40, 6
    grid = _grid(n_dates, n_assets)
    held = rng.normal(0, 1, (n_dates, n_assets))
    returns = rng.normal(0, 0.02, (n_dates, n_assets))
    model = _model(rng.normal(0, 1, (3, n_dates, n_assets)), rng.normal(0, 0.01, (n_dates, 3)),
                   ("market", "sector", "style"))
    result = attribute_pnl(grid, held, returns, model)
    theirs = _empyrical(grid, held, result.daily["total"].to_numpy(), model)
    for name in model.names:
        np.testing.assert_allclose(result.daily[name].to_numpy(), theirs[name].to_numpy(), atol=1e-12)
    common = result.daily.select(pl.sum_horizontal("market", "sector", "style")).to_series().to_numpy()
    np.testing.assert_allclose(common, theirs["common_returns"].to_numpy(), atol=1e-12)
    np.testing.assert_allclose(result.daily["specific"].to_numpy(), theirs["specific_returns"].to_numpy(), atol=1e-12)
    tt = result.tilt_timing
    tilt = tt.select(pl.sum_horizontal("market_tilt", "sector_tilt", "style_tilt")).to_series().to_numpy()
    timing = tt.select(pl.sum_horizontal("market_timing", "sector_timing", "style_timing")).to_series().to_numpy()
    np.testing.assert_allclose(tilt, theirs["tilt_returns"].to_numpy(), atol=1e-12)
    np.testing.assert_allclose(timing, theirs["timing_returns"].to_numpy(), atol=1e-12)
    np.testing.assert_allclose(result.exposures.drop("date").to_numpy(),
                               (held[:, :, None] * np.stack([model.loadings[n] for n in model.names], -1)).sum(1))


def test_unknown_loadings_returns_and_factor_returns_count_as_zero():
    """Day 0: A's loading is NaN, so A's 100 * 1% = 1 is specific; B's 200 * 2% = 4 splits into
    200 * 0.5 * 3% = 3 factor and 1 specific. Day 1: the factor return is NaN and B's return is
    NaN: A's 100 * (-1%) = -1 is all specific."""
    grid = _grid(2, 2)
    model = _model(np.array([[[np.nan, 0.5], [1.0, 0.5]]]), np.array([[0.03], [np.nan]]), ("market",))
    daily = attribute_pnl(grid, np.array([[100.0, 200.0], [100.0, 200.0]]),
                          np.array([[0.01, 0.02], [-0.01, np.nan]]), model).daily
    np.testing.assert_allclose(daily["total"].to_numpy(), [5.0, -1.0], atol=1e-12)
    np.testing.assert_allclose(daily["market"].to_numpy(), [3.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(daily["specific"].to_numpy(), [2.0, -1.0], atol=1e-12)


def test_summary_and_net_attribution_of_a_hand_worked_book():
    """The empyrical book (1, -0.5) over two days: total 0.2, style 0.05, specific 0.15. Costs
    spread (0.01, 0.0) and borrow (0.002, 0.002): net (0.088, 0.098)."""
    grid = _grid(2, 2)
    model = _model(np.full((2, 2, 2), 0.25), np.full((2, 2), 0.1), ("style", "style"))
    result = attribute_pnl(grid, np.tile([1.0, -0.5], (2, 1)), np.full((2, 2), 0.2), model)
    summary = dict(zip(*result.summary().select(["component", "pnl_usd"]).to_dict().values(), strict=True))
    assert summary["total"] == pytest.approx(0.2, abs=1e-15)
    assert summary["style"] == pytest.approx(0.05, abs=1e-15)
    assert summary["specific"] == pytest.approx(0.15, abs=1e-15)
    assert summary["market"] == summary["sector"] == 0.0
    net = attribute_net(result, {"spread": np.array([0.01, 0.0]), "borrow": np.array([0.002, 0.002])})
    assert net.columns == ["date", "total", "market", "sector", "style", "specific", "spread", "borrow", "net"]
    np.testing.assert_allclose(net["net"].to_numpy(), [0.088, 0.098], atol=1e-15)
    np.testing.assert_allclose(net["spread"].to_numpy(), [-0.01, 0.0])
    with pytest.raises(ValueError, match="'spread' has non-finite"):
        attribute_net(result, {"spread": np.array([np.nan, 0.0])})
    with pytest.raises(ValueError, match="clashes"):
        attribute_net(result, {"specific": np.zeros(2)})


@pytest.fixture(scope="module")
def synthetic_attribution():
    market = market_data(simulate_market(SyntheticMarketConfig(n_assets=60, n_days=320, seed=3)).panel)
    model = estimate_factor_model(market)
    rng = np.random.default_rng(1)
    held = rng.normal(0, 1e4, market.grid.shape) + 2e3  # a long-short book with a net long tilt
    held[0] = 0.0
    held[rng.random(held.shape) < 0.05] = np.nan  # not held
    return attribute_pnl(market.grid, held, market.returns, model), market, model


def test_components_sum_to_the_total_every_day_for_the_book_and_each_leg(synthetic_attribution):
    result, _, model = synthetic_attribution
    for frame in (result.daily, result.long_daily, result.short_daily):
        parts = frame.select(pl.sum_horizontal("market", "sector", "style", "specific")).to_series()
        np.testing.assert_allclose(parts.to_numpy(), frame["total"].to_numpy(), rtol=0, atol=1e-9)
        for group in ("market", "sector", "style"):
            members = [n for n in model.names if model.groups[n] == group]
            np.testing.assert_allclose(frame.select(pl.sum_horizontal(members)).to_series().to_numpy(),
                                       frame[group].to_numpy(), rtol=0, atol=1e-9)
    legs = (result.long_daily.drop("date").to_numpy() + result.short_daily.drop("date").to_numpy())
    np.testing.assert_allclose(legs, result.daily.drop("date").to_numpy(), rtol=0, atol=1e-9)
    assert (result.long_daily["total"].abs().sum() > 0) and (result.short_daily["total"].abs().sum() > 0)
    for group in ("market", "sector", "style"):
        tt = result.tilt_timing[f"{group}_tilt"] + result.tilt_timing[f"{group}_timing"]
        np.testing.assert_allclose(tt.to_numpy(), result.daily[group].to_numpy(), rtol=0, atol=1e-9)
    costs = {name: np.abs(np.random.default_rng(2).normal(0, 5, result.daily.height))
             for name in ("spread", "impact", "commission", "borrow")}
    net = attribute_net(result, costs)
    parts = net.select(pl.sum_horizontal("market", "sector", "style", "specific", *costs)).to_series()
    np.testing.assert_allclose(parts.to_numpy(), net["net"].to_numpy(), rtol=0, atol=1e-9)
    np.testing.assert_allclose(net["net"].to_numpy(), net["total"].to_numpy() - sum(costs.values()),
                               rtol=0, atol=1e-9)


def test_shapes_that_disagree_with_the_grid_are_rejected(synthetic_attribution):
    _, market, model = synthetic_attribution
    with pytest.raises(ValueError, match=r"held_usd \(3, 60\)"):
        attribute_pnl(market.grid, np.zeros((3, 60)), market.returns, model)


def test_brinson_fachler_matches_bacon_table():
    """Carl Bacon, *Practical Portfolio Performance Measurement and Attribution* (2nd ed., Wiley
    2008), ch. 5, pp. 126-129: UK, Japanese and US equities. Portfolio weights 40/30/30% with
    returns 20/-5/6%, benchmark weights 40/20/40% with returns 10/-4/8%; portfolio 8.3%,
    benchmark 6.4%. Published Brinson-Fachler effects (percent): allocation 0, -1.04, -0.16
    (total -1.2); selection 4.0, -0.2, -0.8 (total 3.0); interaction 0, -0.1, 0.2 (total 0.1);
    the three sum to the 1.9% excess return."""
    out = brinson([0.4, 0.3, 0.3], [0.4, 0.2, 0.4], [0.20, -0.05, 0.06], [0.10, -0.04, 0.08],
                  segments=["UK", "Japan", "US"])
    assert out["segment"].to_list() == ["UK", "Japan", "US"]
    np.testing.assert_allclose(out["allocation"].to_numpy(), [0.0, -0.0104, -0.0016], atol=1e-12)
    np.testing.assert_allclose(out["selection"].to_numpy(), [0.04, -0.002, -0.008], atol=1e-12)
    np.testing.assert_allclose(out["interaction"].to_numpy(), [0.0, -0.001, 0.002], atol=1e-12)
    assert out["allocation"].sum() == pytest.approx(-0.012, abs=1e-12)
    assert out["selection"].sum() == pytest.approx(0.030, abs=1e-12)
    assert out["interaction"].sum() == pytest.approx(0.001, abs=1e-12)
    assert out["total"].sum() == pytest.approx(0.083 - 0.064, abs=1e-12)


def test_brinson_segment_not_held_and_bad_weights():
    """A segment the portfolio skips (weight 0, return NaN) has no selection or interaction:
    its only effect is allocation -0.5 * (0% - 5%) = +2.5%."""
    out = brinson([1.0, 0.0], [0.5, 0.5], [0.10, np.nan], [0.10, 0.0])
    np.testing.assert_allclose(out["selection"].to_numpy(), [0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(out["interaction"].to_numpy(), [0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(out["allocation"].to_numpy(), [0.025, 0.025], atol=1e-15)
    with pytest.raises(ValueError, match=r"benchmark_weights must be finite and sum to 1.*sum 0.9"):
        brinson([1.0, 0.0], [0.5, 0.4], [0.1, 0.1], [0.1, 0.1])


def test_specific_pnl_alone_equals_the_attributions_specific_column():
    import numpy as np

    from quant_core.data.synthetic import SyntheticMarketConfig, simulate_market
    from quant_core.portfolio.attribution import attribute_pnl, specific_pnl
    from quant_core.portfolio.factors import estimate_factor_model
    from quant_core.portfolio.market import market_data

    panel = simulate_market(SyntheticMarketConfig(n_assets=40, n_days=320, seed=2)).panel
    market = market_data(panel.select(["date", "asset", "close", "volume", "sector"]))
    model = estimate_factor_model(market)
    held = np.random.default_rng(0).normal(0, 1e4, market.grid.shape)
    expected = attribute_pnl(market.grid, held, market.returns, model).daily["specific"].to_numpy()
    np.testing.assert_allclose(specific_pnl(held, market.returns, model), expected, rtol=1e-12, atol=1e-9)
