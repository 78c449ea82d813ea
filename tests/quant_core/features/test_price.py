import datetime as dt

import numpy as np
import pandas as pd
import polars as pl
import pytest

from quant_core.features.price import PRICE_FEATURES, numeric_feature_columns, price_features


def make_panel(n_dates=90, n_assets=5, seed=0, drop_rows=True):
    rng = np.random.default_rng(seed)
    dates = [dt.date(2023, 1, 2) + dt.timedelta(days=i) for i in range(n_dates)]
    n = n_dates * n_assets
    close = np.exp(np.cumsum(rng.normal(0, 0.02, (n_dates, n_assets)), axis=0)).ravel() * 50
    df = pl.DataFrame(
        {
            "date": [d for d in dates for _ in range(n_assets)],
            "asset": [f"A{i}" for i in range(n_assets)] * n_dates,
            "close": close,
            "high": close * (1 + rng.uniform(0, 0.03, n)),
            "low": close * (1 - rng.uniform(0, 0.03, n)),
            "volume": rng.integers(1_000, 100_000, n).astype(np.int64),
            "sector": ["s1", "s2", "s1", "s2", "s3"] * n_dates,
        }
    )
    if drop_rows:  # an unbalanced panel: asset A3 misses some days
        df = df.filter(~((pl.col("asset") == "A3") & (pl.col("date").dt.day() == 7)))
    return df


def pandas_reference(panel: pl.DataFrame) -> pd.DataFrame:
    pdf = panel.to_pandas().sort_values(["asset", "date"])
    g = pdf.groupby("asset", sort=False)
    c = g["close"]
    out = pd.DataFrame(index=pdf.index)
    out["date"], out["asset"] = pdf["date"], pdf["asset"]
    out["ret_1d"] = c.pct_change(fill_method=None)
    for n in (5, 20, 60):
        out[f"mom_{n}d"] = c.shift(1) / c.shift(n + 1) - 1
    out["rev_5d"] = -(pdf["close"] / c.shift(5) - 1)
    out["vol_20d"] = out.groupby(pdf["asset"])["ret_1d"].transform(
        lambda s: s.rolling(20, min_periods=20).std(ddof=1)
    )
    hl = (pdf["high"] - pdf["low"]) / pdf["close"]
    out["hl_range_5d"] = hl.groupby(pdf["asset"]).transform(lambda s: s.rolling(5).mean())
    lv = np.log1p(pdf["volume"].astype(float))
    m = lv.groupby(pdf["asset"]).transform(lambda s: s.rolling(20).mean())
    sd = lv.groupby(pdf["asset"]).transform(lambda s: s.rolling(20).std(ddof=1))
    out["volume_z_20d"] = (lv - m) / sd
    return out.sort_values(["date", "asset"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def panel():
    return make_panel()


def test_matches_pandas_rolling_reference(panel):
    got = price_features(panel)
    ref = pandas_reference(panel)
    assert got.select("date", "asset").to_pandas().equals(ref[["date", "asset"]])
    for f in PRICE_FEATURES:
        np.testing.assert_allclose(
            got[f].to_numpy().astype(float),
            ref[f].to_numpy(),
            rtol=1e-10,
            atol=1e-12,
            equal_nan=True,
            err_msg=f,
        )
    # warm-up nulls: mom_60d needs 61 prior observations of the asset
    first = got.filter(pl.col("asset") == "A0")
    assert first["mom_60d"].null_count() == 61 and first["vol_20d"].null_count() == 20


@pytest.mark.parametrize("cut", [10, 45, 70])
def test_point_in_time(panel, cut):
    dates = panel["date"].unique().sort()
    t = dates[cut]
    base = price_features(panel)
    rng = np.random.default_rng(cut)
    future = pl.col("date") > t
    noise = pl.Series(rng.uniform(0.5, 2.0, panel.height))
    changed = panel.with_columns(
        [
            pl.when(future).then(pl.col(c) * noise).otherwise(pl.col(c)).alias(c)
            for c in ["close", "high", "low"]
        ]
        + [pl.when(future).then(pl.col("volume") * 7).otherwise(pl.col("volume"))]
    )
    after = price_features(changed)
    past = pl.col("date") <= t
    assert base.filter(past).equals(after.filter(past))
    assert (
        not base.filter(~past)
        .select(PRICE_FEATURES)
        .equals(after.filter(~past).select(PRICE_FEATURES))
    )


def test_sorts_input_and_optional_columns(panel):
    shuffled = panel.sample(fraction=1.0, shuffle=True, seed=3)
    assert price_features(shuffled).equals(price_features(panel))
    bare = price_features(panel.select("date", "asset", "close"))
    assert "hl_range_5d" not in bare.columns and "volume_z_20d" not in bare.columns
    assert {"ret_1d", "mom_60d", "vol_20d"} <= set(bare.columns)
    with pytest.raises(ValueError, match=r"\['close'\]"):
        price_features(panel.drop("close"))


def test_numeric_feature_columns(panel):
    frame = price_features(panel).with_columns(
        target=pl.lit(0.1), label_start=pl.col("date"), label_h=pl.lit(1), my_flag=pl.lit(2)
    )
    cols = numeric_feature_columns(frame)
    assert cols == [*PRICE_FEATURES, "my_flag"]
    assert "target" in numeric_feature_columns(frame, target="y")
