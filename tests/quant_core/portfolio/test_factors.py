"""Factor models: known betas recovered, point in time, and the real Kenneth French files."""

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from quant_core.data.contracts import DataContractError
from quant_core.data.synthetic import SyntheticMarketConfig, simulate_market
from quant_core.portfolio.attribution import attribute_pnl
from quant_core.portfolio.factors import (
    FactorModel,
    estimate_factor_model,
    factor_model_from_returns,
    read_french_daily,
)
from quant_core.portfolio.market import market_data

DATA = Path(__file__).parents[3] / ".." / "shared" / "data"
FRENCH = DATA / "fama_french"
needs_data = pytest.mark.skipif(not FRENCH.is_dir(), reason=f"real data not found at {DATA} "
                                "(only in the dev/CI layout)")


def _true_betas_and_sectors(cfg: SyntheticMarketConfig) -> tuple[np.ndarray, np.ndarray]:
    """Replay the simulator's first draws (regime uniforms, sector permutation, betas): the
    synthetic market does not publish its betas. The sectors returned are checked against the
    panel by the caller, so a change in the simulator's draw order fails loudly."""
    rng = np.random.default_rng(cfg.seed)
    rng.random(cfg.n_days)
    sector = rng.permutation(np.arange(cfg.n_assets) % cfg.n_sectors)
    beta = np.clip(1.0 + cfg.beta_dispersion * rng.standard_normal(cfg.n_assets), 0.2, 2.5)
    return beta, np.array([f"S{s + 1:02d}" for s in sector])


@pytest.fixture(scope="module")
def synthetic():
    cfg = SyntheticMarketConfig(n_assets=200, n_days=600, seed=1)
    panel = simulate_market(cfg).panel
    market = market_data(panel)
    beta, sectors = _true_betas_and_sectors(cfg)
    assert (market.sector == sectors).all(), "the replayed draws no longer match the simulator"
    return market, estimate_factor_model(market), beta


def _book(weights: np.ndarray, n_dates: int) -> np.ndarray:
    held = np.tile(weights / np.abs(weights).sum() * 1e6, (n_dates, 1))  # $1m gross
    held[0] = 0.0
    return held


def test_estimated_model_has_the_documented_factors(synthetic):
    market, model, _ = synthetic
    sectors = tuple(f"sector_S{s:02d}" for s in range(1, 11))
    assert model.names == ("beta", *sectors, "size", "momentum", "volatility")
    assert model.groups["beta"] == "market" and model.groups["momentum"] == "style"
    assert {model.groups[s] for s in sectors} == {"sector"}
    assert model.factor_returns.shape == (600, 14)
    # momentum needs 252 days of history, so it has no loading (and no return) before row 252
    assert np.isnan(model.loadings["momentum"][:252]).all() and np.isnan(model.factor_returns[:252, 12]).all()
    assert np.isfinite(model.factor_returns[252:]).all()
    z = model.loadings["volatility"][300]  # styles are z-scored across assets every day
    assert z.mean() == pytest.approx(0.0, abs=1e-12) and z.std(ddof=1) == pytest.approx(1.0, abs=1e-12)
    without = estimate_factor_model(dataclasses.replace(market, volume=np.full(market.grid.shape, np.nan),
                                                        sector=np.full(200, "", dtype=object)))
    assert without.names == ("beta", "momentum", "volatility")  # no volume: no size; no sectors


def test_beta_neutral_book_has_little_market_pnl_and_a_beta_spread_book_mostly_market(synthetic):
    """Two dollar-neutral $1m-gross books on the synthetic market with known betas, from row 253
    (all factors estimated).

    * Orthogonal to the true betas and to a constant: its market exposure is only the estimation
      error of the trailing betas (about idio vol / (market vol * sqrt(252)) ~ 0.1 per asset,
      averaging out over 200 names), so its market PnL has under 20% of the book's daily
      volatility (0.04 here) and under 10% of the beta-spread book's market PnL volatility (0.02).
    * Long the top third, short the bottom third by true beta (true beta exposure ~ $0.33m): the
      market factor explains over 75% of its daily PnL variance (0.86 here; the rest is sector,
      style and idiosyncratic noise) and the estimated beta tracks the true one (corr > 0.9).
    """
    market, model, beta = synthetic
    n = beta.size
    g = np.random.default_rng(7).standard_normal(n)
    x = np.column_stack([np.ones(n), beta])
    neutral = g - x @ np.linalg.lstsq(x, g, rcond=None)[0]
    order = np.argsort(beta)
    spread = np.zeros(n)
    spread[order[-n // 3:]], spread[order[: n // 3]] = 1.0, -1.0
    rows = slice(253, None)
    a = attribute_pnl(market.grid, _book(neutral, 600), market.returns, model).daily[rows]
    b = attribute_pnl(market.grid, _book(spread, 600), market.returns, model).daily[rows]
    assert a["market"].std() < 0.2 * a["total"].std()
    assert a["market"].std() < 0.1 * b["market"].std()
    assert 1 - (b["total"] - b["market"]).var() / b["total"].var() > 0.75
    assert np.corrcoef(model.loadings["beta"][-1], beta)[0, 1] > 0.9


def test_loadings_and_factor_returns_are_point_in_time(synthetic):
    """Change every return after row t (by rescaling later closes): loadings up to row t + 1
    (known at the close of t) and factor returns up to row t are bit-for-bit unchanged, while
    later ones do change."""
    market, model, _ = synthetic
    t = 400
    close = market.close.copy()
    close[t + 1:] *= np.exp(np.random.default_rng(3).normal(0, 0.05, close[t + 1:].shape))
    prev = np.vstack([np.full((1, close.shape[1]), np.nan), close[:-1]])
    changed = estimate_factor_model(dataclasses.replace(market, close=close, returns=close / prev - 1.0))
    for name in model.names:
        np.testing.assert_array_equal(changed.loadings[name][: t + 2], model.loadings[name][: t + 2])
    np.testing.assert_array_equal(changed.factor_returns[: t + 1], model.factor_returns[: t + 1])
    assert not np.allclose(changed.loadings["volatility"][t + 2:], model.loadings["volatility"][t + 2:])
    assert not np.allclose(changed.factor_returns[t + 1:], model.factor_returns[t + 1:])


def _linear_market(n_dates=400, n_assets=40, seed=0):
    """Returns r = B f + noise with constant B on 3 independent factors (vol 1%, noise 0.5%)."""
    rng = np.random.default_rng(seed)
    dates = np.busday_offset(np.datetime64("2020-01-01"), np.arange(n_dates), roll="forward")
    f = rng.normal(0, 0.01, (n_dates, 3))
    b = np.column_stack([rng.normal(1, 0.3, n_assets), rng.normal(0, 0.5, (n_assets, 2))])
    r = 0.0002 + f @ b.T + rng.normal(0, 0.005, (n_dates, n_assets))
    close = 100 * np.cumprod(1 + r, axis=0)
    close[:300, 0] = np.nan  # asset 0 lists at row 300
    close[:, 1:][rng.random((n_dates, n_assets - 1)) < 0.02] = np.nan  # scattered missing days
    panel = pl.DataFrame({"date": np.repeat(dates, n_assets), "asset": np.tile([f"A{i:02d}" for i in range(n_assets)],
                                                                             n_dates), "close": close.ravel()})
    market = market_data(panel.filter(pl.col("close").is_not_nan()))
    frame = pl.DataFrame({"date": dates, "Mkt-RF": f[:, 0], "SMB": f[:, 1], "HML": f[:, 2],
                          "RF": np.full(n_dates, 0.0001)}).with_columns(pl.col("date").cast(pl.Date))
    return market, frame, b


def test_trailing_betas_recover_known_loadings_and_match_lstsq():
    """Sampling error of a beta over 252 days is 0.5% / (1% * sqrt(252)) ~ 0.03: the RMS error
    over all assets and days with a full window is under 0.045 and the worst under 0.2 (~6
    sigma). Each loading equals numpy's per-asset least squares (with an intercept) over the
    same window to 1e-10, and a name listed at row 300 gets loadings from row 300 + 1 + 60."""
    market, frame, b = _linear_market()
    model = factor_model_from_returns(frame, market)
    assert model.names == ("Mkt-RF", "SMB", "HML")  # RF is not a factor
    assert model.groups == {"Mkt-RF": "market", "SMB": "style", "HML": "style"}
    est = np.stack([model.loadings[n] for n in model.names], axis=-1)[252:, 1:]  # (dates, assets, 3)
    err = est - b[None, 1:, :]
    assert np.sqrt(np.mean(err**2)) < 0.045 and np.abs(err).max() < 0.2
    d, r = 380, market.returns
    f = model.factor_returns
    for i in (0, 5, 17):
        rows = np.arange(d - 252, d)
        rows = rows[np.isfinite(r[rows, i])]
        coef = np.linalg.lstsq(np.column_stack([np.ones(rows.size), f[rows]]), r[rows, i], rcond=None)[0]
        ours = [model.loadings[n][d, i] for n in model.names]
        np.testing.assert_allclose(ours, coef[1:], rtol=0, atol=1e-10)
    first = np.flatnonzero(np.isfinite(model.loadings["SMB"][:, 0]))[0]
    assert first == 361


def test_sum_to_total_with_user_factor_returns():
    market, frame, _ = _linear_market()
    model = factor_model_from_returns(frame, market)
    held = np.random.default_rng(5).normal(0, 1e5, market.grid.shape)
    daily = attribute_pnl(market.grid, held, market.returns, model).daily
    parts = daily.select(pl.sum_horizontal("market", "sector", "style", "specific")).to_series()
    np.testing.assert_allclose(parts.to_numpy(), daily["total"].to_numpy(), rtol=0, atol=1e-9)
    assert daily["sector"].abs().max() == 0.0


def test_bad_factor_returns_raise_data_contract_errors():
    market, frame, _ = _linear_market()
    with pytest.raises(DataContractError, match=r"ff\.csv: column 'SMB'.*decimals"):
        factor_model_from_returns(frame.with_columns(pl.col("SMB") * 100), market, source="ff.csv")
    with pytest.raises(DataContractError, match="each date appears once"):
        factor_model_from_returns(pl.concat([frame, frame.head(1)]), market)
    with pytest.raises(DataContractError, match="overlap"):
        factor_model_from_returns(frame.with_columns(pl.col("date") - pl.duration(days=3650)), market)


def test_factor_model_rejects_inconsistent_inputs():
    with pytest.raises(ValueError, match="clash"):
        FactorModel(names=("market",), groups={"market": "market"}, loadings={"market": np.zeros((2, 2))},
                    factor_returns=np.zeros((2, 1)))
    with pytest.raises(ValueError, match=r"groups must be one of .*'x': 'country'"):
        FactorModel(names=("x",), groups={"x": "country"}, loadings={"x": np.zeros((2, 2))},
                    factor_returns=np.zeros((2, 1)))


FILES = [
    # file, rows, columns, first (date, values in %), last, 2000-01-03 values in %
    ("F-F_Research_Data_Factors_daily.CSV", 25817, ["Mkt-RF", "SMB", "HML", "RF"],
     (dt.date(1926, 7, 1), [0.10, -0.25, -0.27, 0.009]), (dt.date(2024, 8, 30), [0.98, -0.55, 0.04, 0.022]),
     [-0.71, 0.62, -1.41, 0.021]),
    ("F-F_Research_Data_5_Factors_2x3_daily.CSV", 15397, ["Mkt-RF", "SMB", "HML", "RMW", "CMA", "RF"],
     (dt.date(1963, 7, 1), [-0.67, 0.02, -0.35, 0.03, 0.13, 0.012]),
     (dt.date(2024, 8, 30), [0.98, -0.56, 0.04, -0.20, -0.14, 0.022]), [-0.71, -0.06, -1.41, -1.50, -0.64, 0.021]),
    ("F-F_Momentum_Factor_daily.CSV", 25318, ["Mom"], (dt.date(1926, 11, 3), [0.56]),
     (dt.date(2023, 1, 31), [-0.70]), [-0.08]),
]


@pytest.mark.realdata
@needs_data
@pytest.mark.parametrize(("name", "n_rows", "columns", "first", "last", "y2k"), FILES)
def test_read_french_daily_real_files(name, n_rows, columns, first, last, y2k):
    frame = read_french_daily(FRENCH / name)
    assert frame.columns == ["date", *columns] and frame.schema["date"] == pl.Date
    assert frame.height == n_rows and frame.null_count().sum_horizontal().item() == 0
    assert frame.select(pl.col(columns).is_nan().any()).sum_horizontal().item() == 0
    for (day, values), row in ((first, frame.row(0)), (last, frame.row(-1)),
                               ((dt.date(2000, 1, 3), y2k), frame.filter(pl.col("date") == dt.date(2000, 1, 3)).row(0))):
        assert row[0] == day
        np.testing.assert_allclose(row[1:], np.array(values) / 100, rtol=0, atol=1e-15)
    assert frame["date"].is_sorted() and frame["date"].n_unique() == n_rows
    if "Mkt-RF" in columns:  # Black Monday, 1987-10-19: the market fell 17.44% over the T-bill
        assert frame.filter(pl.col("date") == dt.date(1987, 10, 19))["Mkt-RF"].item() == pytest.approx(-0.1744)


HEAD = "This file was created by a test.\r\n\r\n,Mkt-RF,SMB,RF\r\n"


@pytest.mark.parametrize(("body", "column", "expectation"), [
    ("19260701,    0.10,   -0.25,   0.009\r\n19260702,   abc,   -0.33,   0.009\r\n", "Mkt-RF", "numbers"),
    ("19260701,    0.10,   -0.25,   0.009\r\n19260732,    0.45,   -0.33,   0.009\r\n", "date", "YYYYMMDD"),
    ("19260701,    0.10,   -0.25\r\n", None, "4 fields"),
    ("19260702,    0.10,   -0.25,   0.009\r\n19260701,    0.45,   -0.33,   0.009\r\n", "date", "increasing"),
])
def test_malformed_french_files_raise_naming_the_file(tmp_path, body, column, expectation):
    path = tmp_path / "bad_daily.CSV"
    path.write_text(HEAD + body + "\r\nCopyright\r\n")
    with pytest.raises(DataContractError, match=expectation) as err:
        read_french_daily(path)
    assert err.value.source == str(path) and err.value.column == column
    assert "line 5" in err.value.examples or "line 4" in err.value.examples


def test_french_reader_missing_codes_header_and_file(tmp_path):
    path = tmp_path / "ok.CSV"
    path.write_text(HEAD + "19260701,  -99.99,   -0.25,   0.009\r\n19260702,    0.45,   -0.33,   0.009\r\n")
    frame = read_french_daily(path)
    assert frame["Mkt-RF"].to_list() == [None, pytest.approx(0.0045)] and frame["RF"].to_list() == pytest.approx([9e-5, 9e-5])
    plain = tmp_path / "plain.csv"
    plain.write_text("date,Mkt-RF\n2020-01-02,0.1\n")
    with pytest.raises(DataContractError, match="plain.csv: the file failed expectation: a header row"):
        read_french_daily(plain)
    with pytest.raises(DataContractError, match="the file exists"):
        read_french_daily(tmp_path / "absent.CSV")


@pytest.mark.realdata
@pytest.mark.skipif(not (DATA / "sp500_daily_2013_2018.parquet").is_file() or not FRENCH.is_dir(),
                    reason=f"real data not found at {DATA} (only in the dev/CI layout)")
def test_sp500_on_fama_french_three_factors():
    """S&P 500 names (2013-2018) on Fama-French daily factors: the median market beta is near 1
    (0.7-1.3; 0.99 here, the index being most of the US market) and the market factor explains
    over 90% of the daily PnL variance of an equal-dollar long-only book (0.965 here), as it
    should for a diversified large-cap portfolio."""
    market = market_data(pl.read_parquet(DATA / "sp500_daily_2013_2018.parquet"))
    model = factor_model_from_returns(read_french_daily(FRENCH / "F-F_Research_Data_Factors_daily.CSV"), market)
    assert 0.7 < np.nanmedian(model.loadings["Mkt-RF"][300:]) < 1.3
    held = np.where(np.isfinite(market.close), 1e4, 0.0)
    held = np.vstack([np.zeros((1, held.shape[1])), held[:-1]])
    daily = attribute_pnl(market.grid, held, market.returns, model).daily[300:]
    assert 1 - (daily["total"] - daily["market"]).var() / daily["total"].var() > 0.9
