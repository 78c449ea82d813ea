import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from quant_core.validation import fit_half_life, forward_return_columns, ic_decay, ic_series

D = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(6)]


def test_half_life_recovered_on_exact_exponential():
    h = np.array([1, 2, 3, 5, 10, 20], dtype=float)
    fit = fit_half_life(h, 0.06 * np.exp(-math.log(2) * h / 4.0))
    assert fit.half_life == pytest.approx(4.0, rel=1e-8)
    assert fit.amplitude == pytest.approx(0.06, rel=1e-8)
    assert fit.r_squared == pytest.approx(1.0, abs=1e-12)
    inverted = fit_half_life(h, -0.03 * np.exp(-math.log(2) * h / 7.5))
    assert inverted.half_life == pytest.approx(7.5, rel=1e-8)
    assert inverted.amplitude == pytest.approx(-0.03, rel=1e-8)


def test_half_life_inf_when_not_decaying_nan_when_undefined():
    h = [1, 2, 5, 10]
    assert fit_half_life(h, [0.02, 0.02, 0.02, 0.02]).half_life == math.inf
    assert fit_half_life(h, [0.01, 0.02, 0.03, 0.05]).half_life == math.inf
    assert math.isnan(fit_half_life([1], [0.05]).half_life)
    assert math.isnan(fit_half_life(h, [0, 0, 0, 0]).half_life)
    assert math.isnan(fit_half_life([1, 2], [0.05, np.nan]).half_life)
    with pytest.raises(ValueError, match="length"):
        fit_half_life([1, 2, 3], [0.1, 0.2])


def test_forward_return_columns_by_hand():
    # Asset a trades every date; asset b misses D[3].
    close_a = [100.0, 101.0, 103.0, 102.0, 105.0, 110.0]
    prices = pl.DataFrame(
        {
            "date": D + [d for i, d in enumerate(D) if i != 3],
            "asset": ["a"] * 6 + ["b"] * 5,
            "close": close_a + [50.0, 51.0, 52.0, 54.0, 55.0],
        }
    )
    out = forward_return_columns(prices, [1, 2], lag_days=1).sort("asset", "date")
    a = out.filter(pl.col("asset") == "a")
    # row D[0]: entry D[1]; fwd_1 = c[2]/c[1]-1, fwd_2 = c[3]/c[2]-1 (the 2nd day held)
    assert a["fwd_1"][0] == pytest.approx(103 / 101 - 1)
    assert a["fwd_2"][0] == pytest.approx(102 / 103 - 1)
    assert a["fwd_1"][3] == pytest.approx(110 / 105 - 1)
    assert a["fwd_2"][3] is None and a["fwd_1"][4] is None
    cum = forward_return_columns(prices, [2], lag_days=1, cumulative=True).sort("asset", "date")
    assert cum.filter(pl.col("asset") == "a")["fwd_2"][0] == pytest.approx(102 / 101 - 1)
    b = out.filter(pl.col("asset") == "b")
    # b's D[1] row: entry D[2] (52), exit D[3] missing -> null; D[0] row: 52/51-1
    assert b["fwd_1"][0] == pytest.approx(52 / 51 - 1)
    assert b["fwd_1"][1] is None
    with pytest.raises(ValueError, match="0"):
        forward_return_columns(prices, [0])


def _decaying_market(half_life=4.0, n_days=320, n_assets=120, seed=0):
    """Daily return on date d = sum_h beta_h * signal[d - 1 - h] + noise, beta_h ~ 2^(-h/hl),
    so with lag_days=1 the IC against the h-th day held decays with that half-life."""
    rng = np.random.default_rng(seed)
    hmax = 30
    s = rng.standard_normal((n_days, n_assets))
    beta = 0.004 * np.exp(-math.log(2) * np.arange(1, hmax + 1) / half_life)
    r = 0.01 * rng.standard_normal((n_days, n_assets))
    for i, b in enumerate(beta, start=1):
        r[1 + i :] += b * s[: n_days - 1 - i]
    close = 100 * np.cumprod(1 + r, axis=0)
    dates = np.datetime64("2020-01-01") + np.arange(n_days)
    return pl.DataFrame(
        {
            "date": np.repeat(dates, n_assets),
            "asset": np.tile([f"A{i}" for i in range(n_assets)], n_days),
            "close": close.ravel(),
            "sig": s.ravel(),
        }
    ).with_columns(pl.col("date").cast(pl.Date))


def test_ic_decay_from_prices_recovers_half_life():
    panel = _decaying_market(half_life=4.0)
    horizons = (1, 2, 3, 5, 8, 12)
    table = ic_decay(panel, "sig", prices=panel, horizons=horizons, method="pearson")
    assert table.columns == ["horizon", "ic_mean", "ic_std", "icir", "t_hac", "p_hac", "n_dates"]
    assert table["horizon"].to_list() == list(horizons)
    ics = table["ic_mean"].to_numpy()
    assert np.all(np.diff(ics[:4]) < 0)
    assert table["t_hac"][0] > 5
    fit = fit_half_life(table["horizon"], table["ic_mean"])
    assert fit.half_life == pytest.approx(4.0, rel=0.3)


def test_ic_decay_with_precomputed_targets_matches_ic_series():
    panel = _decaying_market(n_days=80, n_assets=40)
    fwd = forward_return_columns(panel, [1, 5], cumulative=True)
    frame = panel.join(fwd, on=["date", "asset"])
    table = ic_decay(frame, "sig", targets={1: "fwd_1", 5: "fwd_5"})
    for h in (1, 5):
        ic = ic_series(frame, "sig", f"fwd_{h}")
        row = table.filter(pl.col("horizon") == h).row(0, named=True)
        assert row["ic_mean"] == pytest.approx(ic["ic"].mean(), rel=1e-12)
        assert row["n_dates"] == ic.height
    with pytest.raises(ValueError, match="exactly one"):
        ic_decay(frame, "sig")
