import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from scipy import stats

from quant_core.validation import ic_series, pooled_ic_series


def _messy_panel(seed=3):
    """Ragged cross-sections with ties, nulls and NaNs; one tiny date; one constant date."""
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(30):
        date = dt.date(2022, 1, 3) + dt.timedelta(days=d)
        n = 3 if d == 7 else int(rng.integers(8, 40))
        x = np.round(rng.standard_normal(n), 1)  # rounding creates ties
        y = 0.3 * x + rng.standard_normal(n)
        if d == 11:
            x[:] = 0.5
        for i in range(n):
            xv = x[i]
            yv = y[i]
            u = rng.random()
            if u < 0.05:
                xv = None
            elif u < 0.10:
                xv = float("nan")
            elif u < 0.15:
                yv = None
            rows.append((date, f"A{i}", xv, yv, f"S{i % 3}"))
    return pl.DataFrame(
        rows, schema=["date", "asset", "sig", "target", "sector"], orient="row"
    ).with_columns(pl.col("sig").cast(pl.Float64), pl.col("target").cast(pl.Float64))


def _clean(part):
    x = part["sig"].to_numpy().astype(float)
    y = part["target"].to_numpy().astype(float)
    ok = np.isfinite(x) & np.isfinite(y)
    return x[ok], y[ok], part["sector"].to_numpy()[ok]


@pytest.mark.parametrize("method", ["spearman", "pearson"])
def test_ic_series_matches_scipy_per_date(method):
    frame = _messy_panel()
    out = ic_series(frame, "sig", method=method, min_assets=5)
    expected = {}
    for (date,), part in frame.group_by("date"):
        x, y, _ = _clean(part)
        if x.size < 5 or np.ptp(x) == 0:
            continue
        f = stats.spearmanr if method == "spearman" else stats.pearsonr
        expected[date] = (f(x, y)[0], x.size)
    assert out.columns == ["date", "ic", "n"]
    assert out["date"].to_list() == sorted(expected)  # tiny date 7 and constant date 11 gone
    assert dt.date(2022, 1, 10) not in out["date"].to_list()
    assert dt.date(2022, 1, 14) not in out["date"].to_list()
    for date, ic, n in out.iter_rows():
        assert ic == pytest.approx(expected[date][0], abs=1e-12)
        assert n == expected[date][1]


def _group_neutral_reference(x, y, g, method):
    if method == "spearman":
        x, y = stats.rankdata(x), stats.rankdata(y)
    dx, dy = x.astype(float).copy(), y.astype(float).copy()
    for k in np.unique(g):
        m = g == k
        dx[m] -= dx[m].mean()
        dy[m] -= dy[m].mean()
    return float(dx @ dy / math.sqrt((dx @ dx) * (dy @ dy)))


@pytest.mark.parametrize("method", ["spearman", "pearson"])
def test_group_neutral_matches_numpy_reference(method):
    frame = _messy_panel(seed=5).filter(pl.col("date") != dt.date(2022, 1, 14))
    out = ic_series(frame, "sig", method=method, group="sector")
    got = dict(zip(out["date"], out["ic"]))
    for (date,), part in frame.group_by("date"):
        x, y, g = _clean(part)
        if x.size < 5:
            continue
        assert got[date] == pytest.approx(_group_neutral_reference(x, y, g, method), abs=1e-12)


def test_group_neutral_hand_computed():
    # Group A: x=[1,2,3], y=[3,2,1]; group B: x=[10,20,30], y=[0,1,2].
    frame = pl.DataFrame(
        {
            "date": [dt.date(2023, 1, 2)] * 6,
            "asset": list("abcdef"),
            "x": [1.0, 2, 3, 10, 20, 30],
            "target": [3.0, 2, 1, 0, 1, 2],
            "sector": ["A"] * 3 + ["B"] * 3,
        }
    )
    # Pearson: demeaned x = [-1,0,1 | -10,0,10], y = [1,0,-1 | -1,0,1]
    # -> sum xy = -2 + 20 = 18, sum x^2 = 202, sum y^2 = 4.
    pear = ic_series(frame, "x", method="pearson", group="sector", min_assets=5)
    assert pear["ic"][0] == pytest.approx(18 / math.sqrt(202 * 4), abs=1e-15)
    # Spearman: ranks over the whole date, x -> 1..6, y -> [6, 4.5, 2.5 | 1, 2.5, 4.5];
    # demeaned within group the two groups cancel exactly -> 0.
    rank = ic_series(frame, "x", method="spearman", group="sector", min_assets=5)
    assert rank["ic"][0] == pytest.approx(0.0, abs=1e-15)
    # Without groups it is the plain correlation of the six values.
    plain = ic_series(frame, "x", method="pearson", min_assets=5)["ic"][0]
    assert plain == pytest.approx(stats.pearsonr(frame["x"], frame["target"])[0], abs=1e-14)


def test_sector_bet_is_neutralised():
    rng = np.random.default_rng(0)
    n_days, n_assets = 20, 60
    sector = np.tile(np.arange(6), n_assets // 6)
    rows = []
    for d in range(n_days):
        effect = rng.standard_normal(6)
        y = effect[sector] + 0.1 * rng.standard_normal(n_assets)
        x = effect[sector] + 0.01 * rng.standard_normal(n_assets)  # only knows the sector move
        rows.append(
            pl.DataFrame(
                {
                    "date": [dt.date(2023, 1, 1) + dt.timedelta(days=d)] * n_assets,
                    "x": x,
                    "target": y,
                    "sector": [f"S{s}" for s in sector],
                }
            )
        )
    frame = pl.concat(rows)
    assert ic_series(frame, "x")["ic"].mean() > 0.8
    assert abs(ic_series(frame, "x", group="sector")["ic"].mean()) < 0.1


def test_bad_arguments_name_the_value():
    frame = _messy_panel()
    with pytest.raises(ValueError, match="kendall"):
        ic_series(frame, "sig", method="kendall")
    with pytest.raises(ValueError, match="nope"):
        ic_series(frame, "nope")


def test_pooled_ic_series_averages_dates_scored_twice(make_oof):
    oof = make_oof(n_days=10, n_assets=20, n_folds=2)
    # Duplicate every row into a second fold with a different prediction (as under CPCV).
    dup = oof.with_columns(pl.col("fold") + 10, pl.col("prediction").reverse())
    both = pl.concat([oof, dup])
    pooled = pooled_ic_series(both, "prediction")
    a = ic_series(oof, "prediction")["ic"].to_numpy()
    b = ic_series(dup, "prediction")["ic"].to_numpy()
    np.testing.assert_allclose(pooled["ic"].to_numpy(), (a + b) / 2, atol=1e-14)
    assert pooled["n"].to_list() == [20] * 10


def _alphalens_factor_data(frame, signal, target):
    """alphalens' factor_data layout: MultiIndex (date, asset), 'factor', a '1D' forward-return
    column and 'factor_quantile' (unused by the IC)."""
    pd = pytest.importorskip("pandas")
    df = frame.select("date", "asset", signal, target).to_pandas()
    df["date"] = pd.to_datetime(df["date"])
    df = df.rename(columns={signal: "factor", target: "1D"}).set_index(["date", "asset"])
    df["factor_quantile"] = 1
    return df[["1D", "factor", "factor_quantile"]]


def test_ic_series_equals_alphalens_factor_information_coefficient():
    """Same panel (ragged cross-sections, ties), alphalens-reloaded's per-date Spearman IC."""
    performance = pytest.importorskip("alphalens.performance")
    rng = np.random.default_rng(11)
    n_days, n_assets = 40, 30
    frame = pl.DataFrame(
        {
            "date": np.repeat(np.datetime64("2023-01-02") + np.arange(n_days), n_assets),
            "asset": np.tile([f"A{i:02d}" for i in range(n_assets)], n_days),
            "sig": np.round(rng.standard_normal(n_days * n_assets), 1),  # ties
            "fwd": rng.standard_normal(n_days * n_assets),
        }
    ).with_columns(pl.col("date").cast(pl.Date))
    frame = frame.filter(pl.int_range(pl.len()) % 7 != 3)  # ragged cross-sections
    ours = ic_series(frame, "sig", "fwd")
    theirs = performance.factor_information_coefficient(_alphalens_factor_data(frame, "sig", "fwd"))
    assert len(theirs) == ours.height == n_days
    np.testing.assert_allclose(ours["ic"].to_numpy(), theirs["1D"].to_numpy(), rtol=0, atol=1e-12)
    assert [d.date() for d in theirs.index] == ours["date"].to_list()
