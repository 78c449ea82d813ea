"""Time-series operators against scipy/numpy, one window at a time, ties and gaps included."""

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view
from scipy import stats

from quant_core.features import operators as op
from quant_core.features.registry import FeatureRegistry, build_features


def _series_panel(values, asset="A"):
    return pl.DataFrame({
        "date": [dt.date(2020, 1, 1) + dt.timedelta(days=i) for i in range(len(values))],
        "asset": [asset] * len(values), "close": [float(v) for v in values]})


def _build(panel, **exprs):
    registry = FeatureRegistry()
    for name, (expr, warmup) in exprs.items():
        registry.register(name, expr, warmup_rows=warmup)
    return build_features(panel, list(exprs), registry=registry, dtype=pl.Float64)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=40), st.integers(2, 9))
def test_pct_ranks_match_scipy_rankdata_with_ties(values, window):
    x = np.array(values, dtype=float)
    got = op.rolling_pct_ranks(x, (window,))[window]
    assert np.isnan(got[: window - 1]).all()
    for t in range(window - 1, x.size):
        expected = stats.rankdata(x[t - window + 1: t + 1])[-1] / window
        assert got[t] == pytest.approx(expected)


def test_pct_ranks_are_missing_for_windows_with_a_gap():
    x = np.array([1.0, 2.0, np.nan, 3.0, 4.0, 5.0, 6.0])
    got = op.rolling_pct_ranks(x, (3,))[3]
    assert np.isnan(got[:5]).all() and got[5] == 1.0 and got[6] == 1.0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=3, max_size=40), st.integers(2, 7),
       st.booleans())
def test_argmax_and_argmin_give_the_oldest_extreme_like_numpy(values, window, largest):
    x = np.array(values, dtype=float)
    expr = op.ts_argmax(pl.col("close"), window) if largest \
        else op.ts_argmin(pl.col("close"), window)
    got = _build(_series_panel(x), pos=(expr, window - 1))["pos"].to_numpy()
    if x.size >= window:
        views = sliding_window_view(x, window)
        expected = (views.argmax(axis=1) if largest else views.argmin(axis=1)) + 1.0
        np.testing.assert_array_equal(got[window - 1:], expected)
    assert np.isnan(got[: window - 1]).all()


def test_generic_operators_match_numpy_and_scipy_per_asset():
    rng = np.random.default_rng(3)
    a = _series_panel(50 + rng.normal(0, 1, 30).cumsum(), "A")
    b = _series_panel(20 + rng.normal(0, 1, 25).cumsum(), "B")
    panel = pl.concat([a, b]).with_columns(v=pl.col("close").log() + rng.normal(0, 0.1, 55))
    c, v, d = pl.col("close"), pl.col("v"), 6
    out = _build(panel, slope=(op.ts_slope(c, d), None), r2=(op.ts_rsquare(c, d), None),
                 resi=(op.ts_resi(c, d), None), corr=(op.ts_corr(c, v, d), None),
                 q=(op.ts_quantile(c, d, 0.8), d - 1), std=(op.ts_std(c, d), None))
    for asset in ("A", "B"):
        rows = out.filter(pl.col("asset") == asset)
        x, y = rows["close"].to_numpy(), rows["v"].to_numpy()
        assert rows["slope"].null_count() == d - 1
        for t in range(d - 1, rows.height):
            w = slice(t - d + 1, t + 1)
            fit = stats.linregress(np.arange(d), x[w])
            assert rows["slope"][t] == pytest.approx(fit.slope, rel=1e-9)
            assert rows["r2"][t] == pytest.approx(fit.rvalue**2, rel=1e-8)
            assert rows["resi"][t] == pytest.approx(
                x[t] - fit.intercept - fit.slope * (d - 1), rel=1e-6, abs=1e-9)
            assert rows["corr"][t] == pytest.approx(np.corrcoef(x[w], y[w])[0, 1], rel=1e-8)
            assert rows["q"][t] == pytest.approx(np.quantile(x[w], 0.8))
            assert rows["std"][t] == pytest.approx(np.std(x[w], ddof=1))


def test_flat_windows_give_no_correlation_or_r_squared():
    flat = _series_panel([5.0] * 8 + [5.0, 6.0, 7.0]).with_columns(v=pl.col("close") * 2)
    out = _build(flat, corr=(op.ts_corr(pl.col("close"), pl.col("v"), 4), None),
                 r2=(op.ts_rsquare(pl.col("close"), 4), None))
    assert out["corr"].to_list()[3:8] == [None] * 5 and out["r2"][7] is None
    r2 = stats.linregress(np.arange(4), [5.0, 5.0, 6.0, 7.0]).rvalue ** 2
    assert out["corr"][10] == pytest.approx(1.0) and out["r2"][10] == pytest.approx(r2)
