from datetime import date, timedelta

import numpy as np
import pandas as pd
import polars as pl
import pytest
import statsmodels.api as sm

from quant_core.targets.forward_returns import forward_returns
from quant_core.targets.transforms import (
    excess_over_market,
    make_target,
    residualize,
    trailing_volatility,
    winsorize,
)


def _panel(n_dates: int = 40, n_assets: int = 25, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    dates = [date(2022, 1, 3) + timedelta(days=i) for i in range(n_dates)]
    vol = rng.uniform(0.01, 0.04, n_assets)
    rets = rng.normal(0, 1, (n_dates, n_assets)) * vol
    close = 100 * np.cumprod(1 + rets, axis=0)
    return pl.DataFrame(
        {
            "date": pl.Series(np.repeat(np.array(dates, dtype="datetime64[D]"), n_assets)),
            "asset": np.tile([f"A{j:02d}" for j in range(n_assets)], n_dates),
            "close": close.ravel(),
            "cap": rng.uniform(1, 100, n_dates * n_assets),
            "sector": np.tile([f"S{j % 3}" for j in range(n_assets)], n_dates),
            "beta": rng.normal(1, 0.3, n_dates * n_assets),
            "size": rng.normal(0, 1, n_dates * n_assets),
        }
    ).sort("date", "asset")


def _with_raw(out: pl.DataFrame, panel: pl.DataFrame, **kw) -> pd.DataFrame:
    raw = forward_returns(panel, **kw).rename({"target": "raw"})
    merged = out.join(raw, on=["date", "asset"], how="inner")
    assert merged.height == out.height
    assert merged["label_start"].equals(merged["label_start_right"])
    assert merged["label_end"].equals(merged["label_end_right"])
    return merged.join(panel, on=["date", "asset"]).to_pandas()


def test_raw_equals_forward_returns_with_label_columns():
    panel = _panel()
    out = make_target(panel, "raw", horizon_days=3)
    assert out.columns == ["date", "asset", "target", "label_start", "label_end"]
    assert out.equals(forward_returns(panel, horizon_days=3))


def test_excess_equal_weighted_matches_pandas():
    panel = _panel()
    out = make_target(panel, "excess", horizon_days=2)
    df = _with_raw(out, panel, horizon_days=2)
    ref = df["raw"] - df.groupby("date")["raw"].transform("mean")
    np.testing.assert_allclose(df["target"], ref, atol=1e-14)


def test_excess_cap_weighted_matches_numpy():
    panel = _panel()
    out = make_target(panel, "excess", weight_col="cap")
    df = _with_raw(out, panel, horizon_days=1)
    for _, g in df.groupby("date"):
        market = np.average(g["raw"], weights=g["cap"])
        np.testing.assert_allclose(g["target"], g["raw"] - market, atol=1e-14)


def test_residual_matches_statsmodels_per_date():
    panel = _panel()
    out = make_target(panel, "residual", style_cols=["beta", "size"])
    df = _with_raw(out, panel, horizon_days=1)
    for _, g in df.groupby("date"):
        X = pd.concat([pd.get_dummies(g["sector"], dtype=float), g[["beta", "size"]]], axis=1)
        ref = sm.OLS(g["raw"].to_numpy(), X.to_numpy()).fit().resid
        np.testing.assert_allclose(g["target"].to_numpy(), ref, atol=1e-12)


def test_residual_uses_exposures_at_t_only():
    panel = _panel()
    base = make_target(panel, "residual", style_cols=["beta"])
    last = panel["date"].max()
    shocked = panel.with_columns(
        pl.when(pl.col("date") == last).then(pl.col("beta") * 10).otherwise(pl.col("beta"))
    )
    again = make_target(shocked, "residual", style_cols=["beta"])
    # The last date has no target; changing its exposures changes nothing that exists.
    assert base.equals(again)


def test_residual_drops_rows_missing_exposures():
    panel = _panel().with_columns(
        pl.when(pl.col("asset") == "A00").then(None).otherwise(pl.col("size")).alias("size")
    )
    out = residualize(
        forward_returns(panel).join(
            panel.select("date", "asset", "sector", "size"), on=["date", "asset"]
        ),
        style_cols=["size"],
    )
    assert "A00" not in out["asset"].to_list()


def test_vol_scaled_matches_pandas_and_uses_past_only():
    panel = _panel()
    window, h = 10, 2
    out = make_target(panel, "vol_scaled", horizon_days=h, vol_window_days=window)
    df = _with_raw(out, panel, horizon_days=h).sort_values(["asset", "date"])
    pdp = panel.to_pandas().sort_values(["asset", "date"])
    pdp["vol"] = pdp.groupby("asset")["close"].transform(
        lambda s: s.pct_change().rolling(window, min_periods=window).std()
    )
    df = df.merge(pdp[["date", "asset", "vol"]], on=["date", "asset"])
    np.testing.assert_allclose(df["target"], df["raw"] / (df["vol"] * np.sqrt(h)), rtol=1e-10)
    # first usable date: `window` returns need window + 1 closes
    assert out["date"].min() == panel["date"].unique().sort()[window]

    cutoff = panel["date"].unique().sort()[20]
    changed = panel.with_columns(
        pl.when(pl.col("date") > cutoff).then(pl.col("close") * 3.0).otherwise(pl.col("close"))
    )
    v0 = trailing_volatility(panel, window).filter(pl.col("date") <= cutoff)
    v1 = trailing_volatility(changed, window).filter(pl.col("date") <= cutoff)
    assert v0.equals(v1)
    assert not trailing_volatility(changed, window).equals(trailing_volatility(panel, window))


def test_vol_scaled_min_periods():
    panel = _panel()
    out = make_target(panel, "vol_scaled", vol_window_days=10, vol_min_periods=3)
    assert out["date"].min() == panel["date"].unique().sort()[3]
    with pytest.raises(ValueError, match="got 11"):
        make_target(panel, "vol_scaled", vol_window_days=10, vol_min_periods=11)


def test_rank_and_zscore_match_pandas():
    panel = _panel()
    ranked = make_target(panel, "rank")
    df = _with_raw(ranked, panel, horizon_days=1)
    g = df.groupby("date")["raw"]
    ref = (g.rank(method="average") - 1) / (g.transform("count") - 1)
    np.testing.assert_allclose(df["target"], ref, atol=1e-14)
    assert df["target"].min() == 0.0 and df["target"].max() == 1.0

    centred = make_target(panel, "rank", rank_centered=True)
    np.testing.assert_allclose(centred["target"].to_numpy(), ranked["target"].to_numpy() - 0.5)

    z = make_target(panel, "zscore")
    dz = _with_raw(z, panel, horizon_days=1)
    g = dz.groupby("date")["raw"]
    np.testing.assert_allclose(
        dz["target"], (dz["raw"] - g.transform("mean")) / g.transform("std"), atol=1e-12
    )


def test_excess_then_cross_section_combination():
    panel = _panel()
    a = make_target(panel, "excess", cross_section="rank")
    b = make_target(panel, "rank")
    # Subtracting a per-date constant does not change per-date ranks.
    np.testing.assert_allclose(a["target"].to_numpy(), b["target"].to_numpy())


def test_winsorize_quantile_and_mad_match_numpy():
    panel = _panel()
    raw = forward_returns(panel)
    q = winsorize(raw, method="quantile", quantiles=(0.1, 0.9))
    m = winsorize(raw, method="mad", mad_k=1.0)
    for d in raw["date"].unique().to_list()[:5]:
        x = raw.filter(pl.col("date") == d)["target"].to_numpy()
        lo, hi = np.quantile(x, [0.1, 0.9])
        np.testing.assert_allclose(
            q.filter(pl.col("date") == d)["target"].to_numpy(), np.clip(x, lo, hi)
        )
        med = np.median(x)
        mad = 1.4826 * np.median(np.abs(x - med))
        np.testing.assert_allclose(
            m.filter(pl.col("date") == d)["target"].to_numpy(), np.clip(x, med - mad, med + mad)
        )
    via_make = make_target(panel, "raw", winsorize_method="quantile", winsor_quantiles=(0.1, 0.9))
    assert via_make.equals(q)


def test_excess_function_ignores_nonpositive_weights_in_market():
    d = date(2024, 1, 2)
    frame = pl.DataFrame(
        {"date": [d] * 3, "asset": ["a", "b", "c"], "target": [0.1, 0.3, 0.5], "w": [1.0, 3.0, 0.0]}
    )
    out = excess_over_market(frame, "w")
    np.testing.assert_allclose(out["target"].to_numpy(), np.array([0.1, 0.3, 0.5]) - 0.25)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"kind": "alpha"}, "'alpha'"),
        ({"kind": "rank", "cross_section": "zscore"}, "'zscore'"),
        ({"kind": "vol_scaled", "vol_window_days": 1}, "got 1"),
        ({"kind": "raw", "winsorize_method": "trim"}, "'trim'"),
        ({"kind": "excess", "weight_col": "mcap"}, "mcap"),
    ],
)
def test_make_target_validation(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        make_target(_panel(8, 5), **kwargs)
