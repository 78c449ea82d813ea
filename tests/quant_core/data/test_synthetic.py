"""Tests of the synthetic market: contract shape, price sanity, regimes and planted alpha."""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import polars as pl
import pytest
from scipy.stats import rankdata, spearmanr

from quant_core.data import (
    PlantedSignal,
    SyntheticMarket,
    SyntheticMarketConfig,
    simulate_market,
)

SMALL = SyntheticMarketConfig(n_assets=60, n_days=300, n_sectors=6, seed=11)


@pytest.fixture(scope="module")
def small() -> SyntheticMarket:
    return simulate_market(SMALL)


@pytest.fixture(scope="module")
def default() -> SyntheticMarket:
    return simulate_market()


def _wide(market: SyntheticMarket, col: str) -> np.ndarray:
    """(n_dates, n_assets) array of a panel column; valid because the panel is complete."""
    n = market.panel["asset"].n_unique()
    return market.panel[col].to_numpy().reshape(-1, n)


def _label(market: SyntheticMarket) -> np.ndarray:
    """Default label for rows dated t = 0..T-3: close[t+2] / close[t+1] - 1."""
    close = _wide(market, "close")
    return close[2:] / close[1:-1] - 1.0


def _rank_ic(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-date Spearman IC, vectorised (checked against scipy.stats.spearmanr below)."""
    a, b = rankdata(x, axis=1), rankdata(y, axis=1)
    a -= a.mean(axis=1, keepdims=True)
    b -= b.mean(axis=1, keepdims=True)
    return (a * b).sum(axis=1) / np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))


def _label_stressed(market: SyntheticMarket) -> np.ndarray:
    """Regime of the label's return day (t+2) for rows dated t = 0..T-3."""
    return (market.regimes["regime"].to_numpy() == "stressed")[2:]


# --- determinism -------------------------------------------------------------------------


def test_same_seed_gives_identical_frames(small: SyntheticMarket) -> None:
    again = simulate_market(SMALL)
    assert again.panel.equals(small.panel)
    assert again.oracle.equals(small.oracle)
    assert again.regimes.equals(small.regimes)
    assert again.truth == small.truth


def test_different_seed_gives_different_frames(small: SyntheticMarket) -> None:
    other = simulate_market(dataclasses.replace(SMALL, seed=12))
    assert other.panel.shape == small.panel.shape
    assert not np.allclose(other.panel["close"].to_numpy(), small.panel["close"].to_numpy())
    assert not other.oracle.equals(small.oracle)


# --- shapes, dtypes, keys ----------------------------------------------------------------


def test_panel_schema_shape_and_order(small: SyntheticMarket) -> None:
    panel = small.panel
    assert panel.height == 60 * 300
    assert small.signal_names == ("sig_fast", "sig_slow", "sig_calm", "sig_stress")
    assert small.noise_names == ("noise_1", "noise_2", "noise_3", "noise_4")
    assert small.feature_names == small.signal_names + small.noise_names
    prices = ["date", "asset", "open", "high", "low", "close", "volume", "sector"]
    assert panel.columns == prices + list(small.feature_names)
    assert panel.schema["date"] == pl.Date
    assert panel.schema["asset"] == pl.String
    assert panel.schema["sector"] == pl.String
    for col in ["open", "high", "low", "close", "volume", *small.feature_names]:
        assert panel.schema[col] == pl.Float64, col
    assert panel.null_count().sum_horizontal().item() == 0
    assert panel.equals(panel.sort("date", "asset"))
    assert panel.select(pl.struct("date", "asset").is_unique().all()).item()
    assert panel["asset"].unique().sort().to_list()[:3] == ["A0001", "A0002", "A0003"]
    assert panel["asset"].n_unique() == 60
    assert sorted(panel["sector"].unique().to_list()) == [f"S0{k}" for k in range(1, 7)]
    # each asset keeps one sector; sectors are balanced (60 / 6 = 10 assets each)
    per_asset = panel.group_by("asset").agg(pl.col("sector").n_unique())
    assert per_asset["sector"].max() == 1
    counts = panel.filter(pl.col("date") == panel["date"].min()).group_by("sector").len()
    assert counts["len"].to_list() == [10] * 6


def test_calendar_is_business_days(small: SyntheticMarket) -> None:
    dates = small.panel["date"].unique().sort().to_numpy().astype("datetime64[D]")
    assert len(dates) == 300
    assert dates[0] == np.datetime64("2020-01-01")  # a Wednesday
    assert np.is_busday(dates).all()
    expected = np.busday_offset(np.datetime64("2020-01-01"), np.arange(300))
    np.testing.assert_array_equal(dates, expected)
    weekend_start = simulate_market(dataclasses.replace(SMALL, start=date(2021, 1, 2)))
    assert weekend_start.panel["date"].min() == date(2021, 1, 4)


def test_oracle_and_regimes_frames(small: SyntheticMarket) -> None:
    oracle, regimes = small.oracle, small.regimes
    assert oracle.columns == ["date", "asset", "oracle_alpha"]
    assert oracle.height == 60 * 298  # rows of the last two dates are dropped
    assert oracle.schema["date"] == pl.Date
    assert oracle["oracle_alpha"].null_count() == 0
    dates = small.panel["date"].unique().sort()
    assert oracle["date"].unique().sort().equals(dates[:-2])
    assert oracle.select("date", "asset").equals(small.panel.select("date", "asset")[: 60 * 298])
    assert regimes.columns == ["date", "regime"]
    assert regimes["date"].equals(dates)
    assert regimes.schema["regime"] == pl.String
    assert set(regimes["regime"].unique()) == {"calm", "stressed"}
    assert regimes["regime"][0] == "calm"


# --- prices ------------------------------------------------------------------------------


def test_ohlc_consistent_and_positive(small: SyntheticMarket) -> None:
    o, h, lo, c, v = (small.panel[k].to_numpy() for k in ("open", "high", "low", "close", "volume"))
    assert (lo > 0).all()
    assert (v > 0).all()
    assert (lo <= np.minimum(o, c)).all()
    assert (np.maximum(o, c) <= h).all()
    assert (h > lo).all()


def test_first_closes_near_uniform_20_200(default: SyntheticMarket) -> None:
    first = default.panel.filter(pl.col("date") == pl.col("date").min())["close"]
    assert 15 < first.min() and first.max() < 230
    assert 90 < first.mean() < 130


def test_volume_rises_in_stress(default: SyntheticMarket) -> None:
    stressed = default.regimes["regime"].to_numpy() == "stressed"
    log_vol = np.log(_wide(default, "volume")).mean(axis=1)
    assert log_vol[stressed].mean() > log_vol[~stressed].mean() + 0.3


# --- regimes -----------------------------------------------------------------------------


def test_stressed_regime_is_more_volatile(small: SyntheticMarket) -> None:
    close = _wide(small, "close")
    market_ret = (close[1:] / close[:-1] - 1.0).mean(axis=1)
    stressed = (small.regimes["regime"].to_numpy() == "stressed")[1:]
    assert stressed.sum() > 10 and (~stressed).sum() > 10
    assert market_ret[stressed].std() > 1.5 * market_ret[~stressed].std()


def test_truth_documents_the_model(default: SyntheticMarket) -> None:
    truth = default.truth
    assert truth["transition_matrix"] == [[0.98, pytest.approx(0.02)], [pytest.approx(0.05), 0.95]]
    assert truth["stationary_stressed_share"] == pytest.approx(2 / 7)
    assert set(truth["signals"]) == set(default.signal_names)
    assert truth["signals"]["sig_slow"]["persistence"] == 0.95
    assert truth["signals"]["sig_fast"]["persistence"] == 0.5
    calm = truth["signals"]["sig_calm"]["strength"]
    stress = truth["signals"]["sig_stress"]["strength"]
    assert calm["calm"] > calm["stressed"] and stress["stressed"] > stress["calm"]
    assert truth["factor_vols"]["market"]["stressed"] > truth["factor_vols"]["market"]["calm"]
    share = (default.regimes["regime"] == "stressed").mean()
    assert truth["realised_stressed_share"] == pytest.approx(share)
    assert 0.1 < share < 0.45


# --- planted alpha -----------------------------------------------------------------------


def test_oracle_rank_ic_matches_label(default: SyntheticMarket) -> None:
    alpha = default.oracle["oracle_alpha"].to_numpy().reshape(-1, 300)
    label = _label(default)
    ic = _rank_ic(alpha, label)
    for d in (0, 100, 700):
        assert ic[d] == pytest.approx(spearmanr(alpha[d], label[d]).statistic, abs=1e-12)
    assert ic.mean() == pytest.approx(default.truth["oracle_rank_ic_mean"], abs=1e-9)
    assert 0.10 <= ic.mean() <= 0.15
    assert (ic > 0).mean() > 0.8


def test_oracle_is_the_conditional_mean(default: SyntheticMarket) -> None:
    """Regressing the demeaned label on the oracle gives a slope of one."""
    alpha = default.oracle["oracle_alpha"].to_numpy().reshape(-1, 300)
    label = _label(default)
    x = alpha - alpha.mean(axis=1, keepdims=True)
    y = label - label.mean(axis=1, keepdims=True)
    slope = (x * y).sum() / (x * x).sum()
    assert 0.85 < slope < 1.15


def test_planted_signals_predict_noise_does_not(default: SyntheticMarket) -> None:
    label = _label(default)
    for name in default.signal_names:
        ic = _rank_ic(_wide(default, name)[:-2], label)
        assert 0.015 < ic.mean() < 0.07, name
    for name in default.noise_names:
        ic = _rank_ic(_wide(default, name)[:-2], label)
        assert abs(ic.mean()) < 0.01, name


def test_features_are_noisy_views_not_the_oracle(default: SyntheticMarket) -> None:
    alpha = default.oracle["oracle_alpha"].to_numpy().reshape(-1, 300)
    for name in default.signal_names:
        x = _wide(default, name)[:-2]
        corr = np.corrcoef(x[10], alpha[10])[0, 1]
        assert abs(corr) < 0.95, name


def test_regime_specific_signals(default: SyntheticMarket) -> None:
    label = _label(default)
    stressed = _label_stressed(default)
    ic_calm = _rank_ic(_wide(default, "sig_calm")[:-2], label)
    ic_stress = _rank_ic(_wide(default, "sig_stress")[:-2], label)
    assert ic_calm[~stressed].mean() > ic_calm[stressed].mean() + 0.03
    assert ic_stress[stressed].mean() > ic_stress[~stressed].mean() + 0.03
    assert ic_calm[~stressed].mean() > 0.05
    assert ic_stress[stressed].mean() > 0.05


def test_slow_signal_decays_slower_than_fast(default: SyntheticMarket) -> None:
    """IC of the feature at t against the return 5 days later: survives only for sig_slow."""
    close = _wide(default, "close")
    late = close[7:] / close[6:-1] - 1.0  # return of day t+7 for rows t = 0..T-8
    fast = _rank_ic(_wide(default, "sig_fast")[:-7], late).mean()
    slow = _rank_ic(_wide(default, "sig_slow")[:-7], late).mean()
    assert slow > 0.03
    assert abs(fast) < 0.015


def test_zero_strength_means_zero_oracle() -> None:
    signals = (PlantedSignal("flat", persistence=0.5, strength_calm=0.0, strength_stressed=0.0),)
    market = simulate_market(dataclasses.replace(SMALL, signals=signals, n_noise_features=1))
    assert market.feature_names == ("flat", "noise_1")
    assert (market.oracle["oracle_alpha"] == 0.0).all()
    assert np.isnan(market.truth["oracle_rank_ic_mean"])


# --- validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_assets": 5}, "n_assets must be >= 10, got 5"),
        ({"n_days": 10}, "n_days must be >= 30, got 10"),
        ({"n_sectors": 0}, "n_sectors must be in"),
        ({"seed": -1}, "seed must be >= 0, got -1"),
        ({"p_stay_calm": 1.0}, "p_stay_calm must be in \\(0, 1\\), got 1.0"),
        ({"market_vol_calm": 0.0}, "market_vol_calm must be > 0, got 0.0"),
        ({"vol_persistence": 1.0}, "vol_persistence must be in"),
        ({"n_noise_features": -2}, "n_noise_features must be >= 0, got -2"),
        ({"signals": ()}, "signals must hold at least one"),
        (
            {"signals": (PlantedSignal("close", 0.5, 0.1, 0.1),)},
            "signal name 'close' clashes",
        ),
        (
            {"signals": (PlantedSignal("s", 1.2, 0.1, 0.1),)},
            "persistence of signal 's' must be in \\[0, 1\\), got 1.2",
        ),
        (
            {"signals": (PlantedSignal("noise_1", 0.5, 0.1, 0.1),)},
            "duplicates \\['noise_1'\\]",
        ),
    ],
)
def test_config_rejects_bad_values(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SyntheticMarketConfig(**kwargs)


def test_config_rejects_non_date_start() -> None:
    with pytest.raises(TypeError, match="start must be a datetime.date, got '2020-01-01'"):
        SyntheticMarketConfig(start="2020-01-01")  # type: ignore[arg-type]


def test_config_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SyntheticMarketConfig().n_assets = 3  # type: ignore[misc]


def test_truth_rank_ic_is_the_shared_routine_and_matches_rankdata_exactly() -> None:
    """The simulator's per-date Rank IC (the routine behind ``ic_series``) equals the
    ``rankdata`` formula bit for bit, ties included; a constant date gives NaN."""
    from quant_core.data.synthetic import _rank_ic as simulator_rank_ic

    rng = np.random.default_rng(3)
    x = np.round(rng.standard_normal((40, 57)), 1)  # many ties
    y = rng.standard_normal((40, 57))
    x[5] = 1.0  # constant prediction on one date
    got = simulator_rank_ic(x, y)
    with np.errstate(invalid="ignore"):
        want = _rank_ic(x, y)
    assert np.isnan(got[5]) and np.isnan(want[5])
    np.testing.assert_array_equal(np.delete(got, 5), np.delete(want, 5))
