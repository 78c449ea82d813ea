"""The daily asset graph: exact correlations (vs pandas), top-k, sector edges, point-in-time."""

import datetime as dt

import numpy as np
import polars as pl
import pytest

from quant_core.features.asset_graph import asset_graph, asset_graph_arrays, trailing_correlation

N_DATES, ASSETS = 40, ["A", "B", "C", "D", "E", "F", "G"]
OPTS = {"window_days": 12, "min_periods": 6, "top_k": 2}


@pytest.fixture(scope="module")
def prices() -> pl.DataFrame:
    """7 assets x 40 days: two correlated blocks, some missing rows, a sector switch (C -> s2)."""
    rng = np.random.default_rng(5)
    common = rng.standard_normal((N_DATES, 2)) * 0.01
    rows = []
    for i, a in enumerate(ASSETS):
        loading = np.array([1.0, 0.2]) if i < 4 else np.array([0.2, 1.0])
        ret = common @ loading * (0.5 + 0.2 * i) + rng.standard_normal(N_DATES) * 0.008
        close = 50 * np.cumprod(1 + ret)
        for d in range(N_DATES):
            if (a == "E" and 10 <= d < 15) or (a == "G" and d < 8):
                continue  # gaps and a late listing
            sector = "s1" if i < 2 or (a == "C" and d < 20) else "s2"
            rows.append({"date": dt.date(2024, 1, 1) + dt.timedelta(days=d), "asset": a,
                         "close": float(close[d]), "sector": sector})  # fmt: skip
    return pl.DataFrame(rows)


def pandas_corr(prices: pl.DataFrame, t: int, window: int, min_periods: int):
    """Independent implementation: pandas pairwise-complete correlation of the trailing window."""
    wide = prices.to_pandas().pivot(index="date", columns="asset", values="close")
    # each asset's return over its consecutive rows (a gap spans the missing days)
    returns = wide.apply(lambda s: s.dropna().pct_change().reindex(s.index))
    return returns.iloc[max(0, t - window + 1) : t + 1].corr(min_periods=min_periods)


def test_correlations_and_top_k_match_pandas(prices):
    edges = asset_graph(prices, **OPTS)
    dates = prices["date"].unique().sort()
    checked = 0
    for t in (7, 12, 13, 25, 39):
        corr = pandas_corr(prices, t, 12, 6)
        day = edges.filter(pl.col("date") == dates[t])
        present = prices.filter(pl.col("date") == dates[t])["asset"].to_list()
        for a in present:
            mine = day.filter(pl.col("asset") == a)
            for row in mine.iter_rows(named=True):
                expected = corr.loc[a, row["neighbour"]]
                if np.isnan(expected):
                    assert row["corr"] is None
                else:
                    assert row["corr"] == pytest.approx(expected, abs=1e-12)
                    checked += 1
            row_corr = corr.loc[a, [b for b in present if b != a]].dropna()
            row_corr = row_corr[row_corr > 0].sort_values(ascending=False, kind="stable")
            top = set(mine.filter(pl.col("top_corr"))["neighbour"])
            assert top == set(row_corr.index[:2]), (t, a)
    assert checked > 50


def test_trailing_correlation_fast_and_masked_paths_agree():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 5))
    np.testing.assert_allclose(trailing_correlation(X, 5), np.corrcoef(X.T), atol=1e-12)
    Xm = X.copy()
    Xm[:3, 1] = np.nan  # forces the pairwise-complete path
    got = trailing_correlation(Xm, 5)
    np.testing.assert_allclose(got[0, 2], np.corrcoef(X[:, 0], X[:, 2])[0, 1], atol=1e-12)
    np.testing.assert_allclose(got[0, 1], np.corrcoef(X[3:, 0], X[3:, 1])[0, 1], atol=1e-12)
    assert np.isnan(trailing_correlation(Xm, 28)[0, 1])  # 27 joint dates < min_periods


def test_sector_edges_follow_the_sector_recorded_at_each_date(prices):
    edges = asset_graph(prices, **{**OPTS, "top_k": 0})
    assert edges["same_sector"].all() and not edges["top_corr"].any()
    dates = prices["date"].unique().sort()
    for t in (5, 19, 20, 30):
        day = prices.filter(pl.col("date") == dates[t])
        expected = {(a, b) for a, sa in day.select("asset", "sector").iter_rows()
                    for b, sb in day.select("asset", "sector").iter_rows() if a != b and sa == sb}  # fmt: skip
        got = set(edges.filter(pl.col("date") == dates[t]).select("asset", "neighbour").iter_rows())
        assert got == expected
    on_19 = edges.filter((pl.col("date") == dates[19]) & (pl.col("asset") == "C"))
    on_20 = edges.filter((pl.col("date") == dates[20]) & (pl.col("asset") == "C"))
    assert set(on_19["neighbour"]) == {"A", "B"} and set(on_20["neighbour"]) == {"D", "E", "F", "G"}


def test_changing_data_after_t_changes_no_edge_at_or_before_t(prices):
    dates = prices["date"].unique().sort()
    t = dates[24]
    base = asset_graph(prices, **OPTS)
    rng = np.random.default_rng(1)
    later = pl.col("date") > t
    changed = (
        prices.with_columns(
            pl.when(later)
            .then(pl.col("close") * np.exp(rng.standard_normal(prices.height)))
            .otherwise(pl.col("close")),
            pl.when(later).then(pl.lit("s9")).otherwise(pl.col("sector")).alias("sector"),
        ).filter(~(later & (pl.col("asset") == "B")))  # B delisted after t
    )
    extra = pl.DataFrame({"date": dates.filter(dates > t), "asset": "Z", "close": 10.0,
                          "sector": "s1"})  # a new listing after t  # fmt: skip
    after = asset_graph(pl.concat([changed, extra]), **OPTS)
    upto = pl.col("date") <= t
    assert after.filter(upto).equals(base.filter(upto))
    assert not after.filter(~upto).equals(base.filter(~upto))
    # and data at t do matter: a changed close at t moves that date's correlations
    moved = prices.with_columns(
        pl.when((pl.col("date") == t) & (pl.col("asset") == "A"))
        .then(pl.col("close") * 1.2)
        .otherwise(pl.col("close"))
    )
    at_t = pl.col("date") == t
    assert not asset_graph(moved, **OPTS).filter(at_t)["corr"].equals(base.filter(at_t)["corr"])


def test_returns_column_dates_subset_and_arrays(prices):
    with_ret = prices.with_columns(
        (pl.col("close") / pl.col("close").shift(1) - 1).over("asset", order_by="date").alias("r")
    )
    full = asset_graph(prices, **OPTS)
    via_returns = asset_graph(with_ret.drop("close"), returns_col="r", **OPTS)
    assert via_returns.equals(full)
    dates = prices["date"].unique().sort()
    subset = asset_graph(
        prices, dates=[dates[30], dates[12], dates[0] - dt.timedelta(days=9)], **OPTS
    )
    assert subset.equals(full.filter(pl.col("date").is_in([dates[12], dates[30]])))
    g = asset_graph_arrays(prices, **OPTS)
    assert g.n_edges == full.height and g.assets == ASSETS
    key = g.date_index * 100 + g.asset * 10 + g.neighbour
    assert np.all(np.diff(key) > 0)  # sorted by (date, asset, neighbour), no duplicates
    no_sector = asset_graph(prices.drop("sector"), **OPTS)
    assert not no_sector["same_sector"].any()
    assert no_sector.height == full["top_corr"].sum()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"window_days": 1}, "window_days must be >= 2, got 1"),
        ({"min_periods": 30}, r"min_periods must be in \[2, window_days=12\], got 30"),
        ({"top_k": -1}, "top_k must be >= 0, got -1"),
        ({"price_col": "px"}, r"frame is missing columns \['px'\]"),
    ],
)
def test_errors_name_the_bad_value(prices, kwargs, message):
    with pytest.raises(ValueError, match=message):
        asset_graph(prices, **{**OPTS, **kwargs})


def test_repeated_keys_are_rejected(prices):
    with pytest.raises(ValueError, match="repeated"):
        asset_graph(pl.concat([prices, prices.head(1)]), **OPTS)
